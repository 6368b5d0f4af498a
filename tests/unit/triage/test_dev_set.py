"""The training corpus and the independent dev set: sizes, families, independence, and the
parser's new text for every client quoting style they use (no quoted history may leak)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from mailbot.triage.data import Record, corpus_dir, dev_dir, read_records, split_of
from mailbot.triage.verdict import CATEGORIES

pytestmark = pytest.mark.no_database

HARD_FAMILIES = ("confirmation", "status", "two_asks", "long_formal", "human_noise")
# What only quoted history or forwarded headers contain; none of it may reach the new text.
QUOTE_MARKS = re.compile(
    r"wrote:|写道|寫道|原始邮件|-{5,} ?Original|Forwarded message|转发邮件信息|"
    r"^(?:From|发件人|寄件者|发送时间|寄件日期|Sent|Date): ",
    re.MULTILINE,
)
_SENTENCE = re.compile(r"[\n。！？!?]+|(?<=[.])\s+")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def corpus() -> list[Record]:
    return read_records(corpus_dir())


@pytest.fixture(scope="module")
def dev() -> list[Record]:
    return read_records(dev_dir())


def _sentences(text: str) -> set[str]:
    """Sentences long enough to be authored text, not a greeting or a sign-off."""
    out = set()
    for piece in _SENTENCE.split(text):
        piece = piece.strip()
        if len(piece) >= (12 if _HAN.search(piece) else 25):
            out.add(piece)
    return out


def test_corpus_is_large_and_has_every_hard_family(corpus):
    assert len(corpus) >= 5_000
    mails = [r for r in corpus if r.raw]
    assert len(mails) >= 4_000, "the generated raw mails are part of the corpus"
    families = Counter(r.family for r in mails)
    for family in HARD_FAMILIES:
        assert families[family] >= 150, families
    langs = Counter(r.lang for r in corpus)
    assert {"en", "zh-Hans", "zh-Hant", "mixed"} <= set(langs)
    assert len({r.style for r in mails}) >= 12, "many writing and quoting styles"


def test_dev_set_is_separate_and_labelled(dev):
    generated = [r for r in dev if r.raw]
    assert len(generated) >= 500
    assert all(r.id.startswith("dev-") for r in generated)
    by_hand = [r for r in dev if not r.raw]  # hand-written files, each by another writer
    assert len({r.source.rpartition(":")[0] for r in by_hand}) >= 2
    assert len(by_hand) >= 500
    assert all(r.label in CATEGORIES for r in dev)
    assert len({r.id for r in dev}) == len(dev)
    families = Counter(r.family for r in dev)
    for family in HARD_FAMILIES:
        assert families[family] >= 30, families
    langs = Counter(r.lang for r in dev)
    for lang in ("en", "zh-Hans", "zh-Hant", "mixed"):
        assert langs[lang] >= 60, langs


def test_dev_set_shares_almost_no_sentence_with_the_corpus(corpus, dev):
    """Written apart: a few stock lines every writer uses (a disclaimer, "Thank you for your
    email.", a phishing mail's "This link expires in 48 hours.") may be common, no more."""
    seen = set()
    for record in corpus:
        seen |= _sentences(f"{record.subject}\n{record.body}")
    shared: set[str] = set()
    total = 0
    for record in dev:
        sentences = _sentences(record.mail().full_text)
        total += len(sentences)
        shared |= sentences & seen
    assert len(shared) <= 0.01 * total, sorted(shared)[:20]


def test_corpus_ids_are_unique_and_split_by_hash(corpus):
    ids = [r.id for r in corpus]
    assert len(ids) == len(set(ids))
    held = [r for r in corpus if split_of(r.id) == "test"]
    assert 0.15 < len(held) / len(corpus) < 0.25


@pytest.mark.parametrize("which", ["corpus", "dev"])
def test_no_quoted_history_leaks_into_the_new_text(which, request):
    records = request.getfixturevalue(which)
    replies = [r for r in records if r.raw and r.style not in ("plain", "mobile", "robot")]
    by_style = Counter(r.style for r in replies)
    assert len(by_style) >= 8, by_style
    leaks = Counter()
    for record in replies:
        text = record.mail().text
        if QUOTE_MARKS.search(text):
            leaks[record.style] += 1
    assert not leaks, f"quoted history left in the new text, by style: {dict(leaks)}"
