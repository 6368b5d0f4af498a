from tests.support.queue_fixtures import bot  # noqa: F401
