"""Fuzzing the intake with broken MIME, written byte by byte (tests/fuzz/mail_strategies.py).

Whatever arrives, mailbot reads it without an unexpected exception, stores the original
bytes unchanged, takes every mail to an end state (answered, or set aside for a person)
and never stalls on one. The default run draws about 2,000 mails; `pytest -m soak
tests/fuzz` draws thousands more (MAILBOT_FUZZ_EXAMPLES sets how many).
"""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mailbot.config_types import ProjectConfig
from mailbot.errors import MailbotError
from mailbot.parse import parse_bytes
from mailbot.storage.models import Blob, MessageState, StoredMessage
from tests.fuzz.mail_strategies import grown_mails, mails
from tests.integration.soak import soak_test
from tests.support.pipeline import MaildirBot
from tests.support.timing import cpu_seconds

ACME = ProjectConfig(key="ACME", name="ACME", client_domains=("acme.example",))
SECOND = 1.0  # the budget per mail; real times are milliseconds
SOAK = int(os.environ.get("MAILBOT_FUZZ_EXAMPLES", "3000"))
# The default run: 600 MIME trees read, 1,350 grown mails timed (cheaper to draw), 10 batches
# of up to five mails through the pipeline (a database each); with the hostile shapes, 2,000.
QUICK = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=600)
# A slow example is reported as drawn: shrinking a 100 KB mail takes minutes.
TIMED = settings(QUICK, phases=(Phase.explicit, Phase.reuse, Phase.generate), max_examples=1350)
LONG = settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=SOAK)


def _read(data: bytes) -> str:
    """ "read", or "refused" with an explanation (the bytes are kept either way)."""
    try:
        message = parse_bytes(data)
    except MailbotError as err:
        assert err.message
        return "refused"
    assert isinstance(message.new_text, str) and isinstance(message.subject, str)
    assert "\x00" not in message.subject
    return "read"


@pytest.mark.no_database
@QUICK
@given(mails())
def test_any_mail_is_read_or_refused_with_an_explanation(data: bytes) -> None:
    assert _read(data) in ("read", "refused")


@soak_test
@LONG
@given(mails())
def test_soak_any_mail_is_read_or_refused_with_an_explanation(data: bytes) -> None:
    assert _read(data) in ("read", "refused")


@pytest.mark.no_database
@TIMED
@given(grown_mails())
def test_a_long_run_of_anything_is_read_in_under_a_second(grown: tuple[str, int, bytes]) -> None:
    shape, size, data = grown
    took = cpu_seconds(lambda: parse_bytes(data))
    assert took < SECOND, f"{shape} × {size} bytes took {took:.2f} CPU s"


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    max_examples=10,
)
@given(st.lists(mails(), min_size=1, max_size=5))
def test_every_fuzzed_mail_is_stored_unchanged_and_ends_somewhere(
    tmp_path_factory: pytest.TempPathFactory, batch: list[bytes]
) -> None:
    with MaildirBot(tmp_path_factory.mktemp("fuzz"), projects=(ACME,)) as bot:
        for data in batch:
            bot.deliver_bytes(data)
        bot.run()
        bot.run()  # a stage that failed once is retried (retry_delay is due at once here)
        with bot.session() as session:
            rows = session.scalars(select(StoredMessage)).all()
            assert len(rows) == len({hashlib.sha256(d).hexdigest() for d in batch})
            for row in rows:
                blob = session.get(Blob, row.sha256)
                assert blob is not None and hashlib.sha256(blob.data).hexdigest() == row.sha256
                assert row.state in (
                    MessageState.ANSWERED,
                    MessageState.FAILED,
                    MessageState.SET_ASIDE,
                ), f"message {row.id} stuck in {row.state}"
                if row.state != MessageState.ANSWERED:
                    assert row.error, "a failed mail says why"
