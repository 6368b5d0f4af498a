"""The approval reader knows every word our own mail asks the client to answer with.

The cases are read from the built-in templates themselves, so a template that starts
asking for "核准" (or a new language's word) fails here until rules/approval/phrases.toml
knows it: the two never drift apart.
"""

from __future__ import annotations

import re

import pytest

from mailbot.items.change_control import interpret_reply
from mailbot.resources import templates_dir

pytestmark = pytest.mark.no_database

# What a template says outside its Jinja code.
_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# "Please reply … "Approved" …", "请直接回复本邮件“同意”", "請回覆「不同意」".
_REPLY_LINE = re.compile(r"回覆|回复|\breply\b", re.IGNORECASE)
_QUOTED = re.compile(r"[「“\"]([^」”\"]{1,12})[」”\"]")
# The verb a template uses for the client's approval: "在您核准之前", "在您确认批准之前",
# "与您批准的内容", "until you approve".
_APPROVAL_VERB = re.compile(
    r"在您(?:确认|確認)?(\w{2})之前|您(\w{2})的(?:内容|內容)|until you (approve|agree|accept)"
)
_REJECT_START = re.compile(r"^(不|reject|decline|no\b)", re.IGNORECASE)


def _template_texts() -> list[tuple[str, str]]:
    """(file name, text outside Jinja code) of every built-in text template."""
    root = templates_dir()
    found = []
    for path in sorted(root.rglob("*.txt.j2")):
        text = _CODE.sub(" ", path.read_text(encoding="utf-8"))
        found.append((str(path.relative_to(root)), text))
    return found


def _reply_words() -> list[tuple[str, str, str]]:
    """(template, word, expected decision) for each answer a template asks the client for."""
    cases = []
    for name, text in _template_texts():
        if not name.startswith("approval/change_request."):
            continue  # only the approval request asks the client for a decision
        for line in text.splitlines():
            if not _REPLY_LINE.search(line):
                continue
            for word in _QUOTED.findall(line):
                expected = "reject" if _REJECT_START.match(word) else "approve"
                cases.append((name, word, expected))
    return cases


def _approval_verbs() -> list[tuple[str, str]]:
    """(template, verb) for each word a template uses for "you approve"."""
    cases = []
    for name, text in _template_texts():
        for match in _APPROVAL_VERB.finditer(text):
            verb = next(g for g in match.groups() if g)
            cases.append((name, verb))
    return sorted(set(cases))


REPLY_WORDS = _reply_words()
APPROVAL_VERBS = _approval_verbs()


def test_the_templates_ask_for_answers_in_every_language() -> None:
    """The extraction itself works: each language's approval request yields its words."""
    words = {w for _n, w, _e in REPLY_WORDS}
    assert {"Approved", "Rejected", "同意", "不同意"} <= words
    verbs = {v for _n, v in APPROVAL_VERBS}
    assert {"核准", "批准", "approve"} <= verbs


@pytest.mark.parametrize(("template", "word", "expected"), REPLY_WORDS)
def test_each_answer_a_template_asks_for_is_read_as_asked(
    template: str, word: str, expected: str
) -> None:
    for reply in (word, f"{word}。", f"{word}, thanks" if word.isascii() else f"{word}，谢谢"):
        decision = interpret_reply(reply)
        assert decision.kind == expected, f"{template}: {reply!r} -> {decision}"


@pytest.mark.parametrize(("template", "verb"), APPROVAL_VERBS)
def test_each_approval_word_a_template_uses_approves(template: str, verb: str) -> None:
    assert interpret_reply(verb).kind == "approve", f"{template} says {verb!r}"
    negated = f"不{verb}" if not verb.isascii() else f"we do not {verb}"
    assert interpret_reply(negated).kind != "approve", f"{negated!r} read as approval"
