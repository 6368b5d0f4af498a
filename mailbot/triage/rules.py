"""Rule kinds. A rule has an id, a description and a pure `check(message, context) -> Hit | None`.

Rules are built from `rules/*.toml` by `mailbot.triage.loader`; each kind below says which keys
it reads. What a hit does is the rule's `action`:

- `noise`:    the mail was not written by a person for us: category `none`, the model is not run
- `vote`:     adds `weight` to `category` before it is combined with the model's scores
- `escalate`: sets the verdict's `escalate` flag, with the rule's description as the reason
- `review`:   sets `needs_review`, with the rule's description as the reason
- `focus`:    marks the sentence that holds the ask the sender says matters most ("and the
              important one:", "最緊要"): the model reads it apart as well, and its reading
              counts `weight` (0-1) beside the whole mail's (docs/triage.md: the dominant ask
              decides)
- `aside`:    marks a sentence as a secondary ask ("no rush", "不急，下期再说"): the model reads
              the mail without it as well, `weight` as for `focus`
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from mailbot.triage.mail import Mail
from mailbot.triage.report import Hit

ACTIONS = ("noise", "vote", "escalate", "review", "focus", "aside")
SIGNALS = ("auto_reply", "bounce", "bulk")
# The text rules read the subject and the first this many characters of the new text: a
# mail says what it is about at its start, and a long body must not cost seconds per mail.
RULE_TEXT_CHARS = 4_000


@dataclass(frozen=True, slots=True)
class Context:
    """Computed once per mail and shared by every rule (read-only)."""

    doc: Doc | Span  # the mixed tokenizer's tokens of mail.full_text, up to RULE_TEXT_CHARS
    text: str = ""  # the same text as a string, for the regex and shouting rules
    lowers: Any = None  # numpy array of the tokens' LOWER hashes (None: read from `doc`)
    all_phrases: AllPhrases | None = None  # the rule set's phrase rules, matched at once
    _phrase_matches: list[dict[str, tuple[int, int]]] = field(
        default_factory=list, repr=False, compare=False
    )

    @classmethod
    def of(cls, doc: Doc, text: str, all_phrases: AllPhrases | None = None) -> Context:
        """The context of a mail's Doc, cut at RULE_TEXT_CHARS (whole tokens)."""
        lowers, starts = doc.to_array([LOWER, "IDX"]).T if len(doc) else ((), ())
        end = int(np.searchsorted(starts, RULE_TEXT_CHARS)) if len(doc) else 0
        head = doc if end >= len(doc) else doc[:end]
        return cls(
            doc=head,
            text=text[:RULE_TEXT_CHARS],
            lowers=np.asarray(lowers)[:end],
            all_phrases=all_phrases,
        )

    def phrase_match(self, rule: PhraseRule) -> tuple[int, int] | None:
        """The first match of `rule` among all phrase rules' matches, found on first ask."""
        assert self.all_phrases is not None
        if not self._phrase_matches:
            self._phrase_matches.append(self.all_phrases.first_matches(self.doc))
        return self._phrase_matches[0].get(rule.id)

    def has_lower(self, hashes: tuple[int, ...]) -> bool:
        """Does any token's lower-case form have one of these hashes?"""
        lowers = self.lowers
        if lowers is None:
            lowers = self.doc.to_array(LOWER) if len(self.doc) else np.zeros(0, dtype=np.uint64)
        return bool(np.isin(lowers, np.array(hashes, dtype=np.uint64)).any())


@dataclass(frozen=True)
class Rule:
    kind: ClassVar[str] = ""
    keys: ClassVar[tuple[str, ...]] = ()  # the kind's own keys, beyond the common ones

    id: str
    description: str
    action: str
    weight: float
    category: str | None

    @property
    def name(self) -> str:
        return self.id

    def check(self, message: Mail, context: Context) -> Hit | None:
        raise NotImplementedError

    def where(self, context: Context) -> tuple[int, int] | None:
        """The tokens of the first match in the text (rules that match tokens), or None."""
        return None

    def hit(self, evidence: str) -> Hit:
        return Hit(
            self.id, self.action, self.weight, self.category, evidence[:120], self.description
        )


@dataclass(frozen=True)
class SignalRule(Rule):
    """Fires when the parser flagged the mail (`signal` = auto_reply, bounce or bulk)."""

    kind: ClassVar[str] = "signal"
    keys: ClassVar[tuple[str, ...]] = ("signal",)
    signal: str = ""

    def check(self, message: Mail, context: Context) -> Hit | None:
        if getattr(message.signals, self.signal):
            reasons = "; ".join(message.signals.reasons) or self.signal
            return self.hit(reasons)
        return None


@dataclass(frozen=True)
class HeaderRule(Rule):
    """Fires when header `header` exists and its value matches `pattern` (a regex, any case)."""

    kind: ClassVar[str] = "header"
    keys: ClassVar[tuple[str, ...]] = ("header", "pattern")
    header: str = ""
    pattern: re.Pattern[str] | None = None

    def check(self, message: Mail, context: Context) -> Hit | None:
        name = self.header.lower()
        for key, value in message.headers:
            if key == name and (self.pattern is None or self.pattern.search(value)):
                return self.hit(f"{key}: {value}")
        return None


@dataclass(frozen=True)
class SubjectRule(Rule):
    """Fires when the subject matches one of `patterns` (regexes, any case)."""

    kind: ClassVar[str] = "subject"
    keys: ClassVar[tuple[str, ...]] = ("patterns",)
    patterns: tuple[re.Pattern[str], ...] = ()

    def check(self, message: Mail, context: Context) -> Hit | None:
        for pattern in self.patterns:
            found = pattern.search(message.rule_subject)
            if found:
                return self.hit(f"subject {found.group()!r}")
        return None


@dataclass(frozen=True)
class ContentTypeRule(Rule):
    """Fires when the mail is only `content_types`: the top-level type is one of them, or the mail
    has no text of its own and every attachment is one of them."""

    kind: ClassVar[str] = "content_type"
    keys: ClassVar[tuple[str, ...]] = ("content_types",)
    content_types: tuple[str, ...] = ()

    def check(self, message: Mail, context: Context) -> Hit | None:
        if message.content_type in self.content_types:
            return self.hit(f"content-type {message.content_type}")
        parts = message.attachment_types
        if parts and not message.text.strip() and all(p in self.content_types for p in parts):
            return self.hit(f"only parts: {', '.join(parts)}")
        return None


@dataclass(frozen=True)
class PhraseRule(Rule):
    """Fires on any of `phrases` in subject + new text (spaCy PhraseMatcher on `attr`, LOWER by
    default, so case does not matter)."""

    kind: ClassVar[str] = "phrase"
    keys: ClassVar[tuple[str, ...]] = ("phrases", "attr", "lang")
    matcher: PhraseMatcher | None = None
    phrases: tuple[str, ...] = ()
    attr: str = "LOWER"

    def check(self, message: Mail, context: Context) -> Hit | None:
        found = self.where(context)
        return None if found is None else self.hit(repr(context.doc[found[0] : found[1]].text))

    def where(self, context: Context) -> tuple[int, int] | None:
        if context.all_phrases is not None and context.all_phrases.covers(self):
            return context.phrase_match(self)
        assert self.matcher is not None
        matches = self.matcher(context.doc)
        return (matches[0][1], matches[0][2]) if matches else None


class AllPhrases:
    """A rule set's phrase rules in one PhraseMatcher per attribute: a mail's tokens are
    walked once for all of them, not once for each rule (24 bundled rules: a tenth of
    classifying a mail). Each rule's first match is the one its own matcher finds first:
    a PhraseMatcher reports matches by start, then end, whatever else it holds."""

    def __init__(self, nlp: Language, rules: Sequence[PhraseRule]) -> None:
        matchers: dict[str, PhraseMatcher] = {}
        for rule in rules:
            matcher = matchers.get(rule.attr)
            if matcher is None:
                matcher = matchers[rule.attr] = PhraseMatcher(nlp.vocab, attr=rule.attr)
            matcher.add(rule.id, [nlp.make_doc(p) for p in rule.phrases])
        self._matchers = tuple(matchers.values())
        self._rules = {rule.id: rule for rule in rules}
        self._strings = nlp.vocab.strings

    def covers(self, rule: PhraseRule) -> bool:
        return self._rules.get(rule.id) is rule

    def first_matches(self, doc: Doc | Span) -> dict[str, tuple[int, int]]:
        """Each matching rule's id and its first match (start and end token)."""
        found: dict[str, tuple[int, int]] = {}
        for matcher in self._matchers:
            for key, start, end in matcher(doc):
                found.setdefault(self._strings[key], (start, end))
        return found


@dataclass(frozen=True)
class TokenRule(Rule):
    """Fires on any of `patterns`: spaCy Matcher token patterns, each a list of token tables."""

    kind: ClassVar[str] = "token"
    keys: ClassVar[tuple[str, ...]] = ("patterns", "lang")
    matcher: Matcher | None = None
    # LOWER hashes one of which every match starts with (None: a pattern starts otherwise):
    # a mail without any of them is passed over without running the Matcher.
    first_lowers: tuple[int, ...] | None = None

    def check(self, message: Mail, context: Context) -> Hit | None:
        found = self.where(context)
        return None if found is None else self.hit(repr(context.doc[found[0] : found[1]].text))

    def where(self, context: Context) -> tuple[int, int] | None:
        assert self.matcher is not None
        if self.first_lowers is not None and not context.has_lower(self.first_lowers):
            return None
        matches = self.matcher(context.doc)
        return (matches[0][1], matches[0][2]) if matches else None


@dataclass(frozen=True)
class RegexRule(Rule):
    """Fires when subject + new text matches one of `patterns` (regexes; `ignore_case`, default
    true)."""

    kind: ClassVar[str] = "regex"
    keys: ClassVar[tuple[str, ...]] = ("patterns", "ignore_case", "lang")
    patterns: tuple[re.Pattern[str], ...] = ()

    def check(self, message: Mail, context: Context) -> Hit | None:
        text = context.text or message.full_text
        for pattern in self.patterns:
            found = pattern.search(text)
            if found:
                return self.hit(repr(found.group()))
        return None


@dataclass(frozen=True)
class ShoutingRule(Rule):
    """Fires when at least `min_words` words of 3+ letters are in capitals and they are at least
    `min_ratio` of all such words (all-caps shouting)."""

    kind: ClassVar[str] = "shouting"
    keys: ClassVar[tuple[str, ...]] = ("min_words", "min_ratio")
    min_words: int = 4
    min_ratio: float = 0.5
    _WORD: ClassVar[re.Pattern[str]] = re.compile(r"\b[A-Za-z]{3,}\b")

    def check(self, message: Mail, context: Context) -> Hit | None:
        words = self._WORD.findall(context.text or message.full_text)
        caps = [w for w in words if w.isupper()]
        if len(caps) >= self.min_words and len(caps) >= self.min_ratio * len(words):
            return self.hit(" ".join(caps[:6]))
        return None


KINDS: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (
        SignalRule,
        HeaderRule,
        SubjectRule,
        ContentTypeRule,
        PhraseRule,
        TokenRule,
        RegexRule,
        ShoutingRule,
    )
}


def make_phrase_matcher(
    nlp: Language, rule_id: str, phrases: list[str], attr: str
) -> PhraseMatcher:
    matcher = PhraseMatcher(nlp.vocab, attr=attr)
    matcher.add(rule_id, [nlp.make_doc(p) for p in phrases])
    return matcher


def make_token_matcher(nlp: Language, rule_id: str, patterns: list[Any]) -> Matcher:
    matcher = Matcher(nlp.vocab, validate=True)
    matcher.add(rule_id, patterns)
    return matcher


def first_lowers(nlp: Language, patterns: list[Any]) -> tuple[int, ...] | None:
    """The LOWER hashes every match of `patterns` must start with; None if not known.

    Known when each pattern's first token is a required `LOWER` value or `LOWER: {IN: […]}`.
    """
    words: set[str] = set()
    for pattern in patterns:
        first = pattern[0] if pattern and isinstance(pattern[0], dict) else None
        if first is None or first.get("OP", "1") not in ("1", "+") or set(first) - {"LOWER", "OP"}:
            return None
        value = first.get("LOWER")
        if isinstance(value, str):
            words.add(value)
        elif isinstance(value, dict) and set(value) == {"IN"} and isinstance(value["IN"], list):
            words.update(str(v) for v in value["IN"])
        else:
            return None
    return tuple(sorted(nlp.vocab.strings.add(w.lower()) for w in words))
