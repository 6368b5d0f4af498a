"""The queue fixtures: `bot`, and `filed` (three items already filed)."""

from tests.support.queue_fixtures import bot, filed, filed_once  # noqa: F401
