"""Run every rule on a mail and record each hit and miss."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from mailbot.errors import RulesError
from mailbot.resources import rules_dir
from mailbot.triage.loader import load_file
from mailbot.triage.mail import Mail
from mailbot.triage.report import Hit, RuleReport
from mailbot.triage.rules import AllPhrases, Context, PhraseRule, Rule
from mailbot.triage.tokenizer import blank_nlp

# What ends a sentence for the focus rules: its punctuation, or a line break.
SENTENCE_ENDS = frozenset(".!?;。！？；")
MAX_SENTENCE_TOKENS = 80  # a "sentence" without an end is cut here
# A sentence marked as secondary with at most this many other words is about the one before.
MAX_ASIDE_WORDS = 6
# A marked sentence that opens with one of these points back at the one before it.
POINTS_BACK = frozenset(
    ["this", "that", "it", "these", "which", "这", "這", "这个", "這個", "此", "呢", "呢個", "呢个"]
)


class RuleSet:
    def __init__(self, rules: Sequence[Rule], nlp: Language, files: Sequence[Path] = ()) -> None:
        self.rules = tuple(rules)
        self.nlp = nlp
        self.files = tuple(files)
        self._noise = tuple(r for r in self.rules if r.action == "noise")
        self._text = tuple(r for r in self.rules if r.action != "noise")
        self._by_id = {r.id: r for r in self.rules}
        phrase_rules = [r for r in self.rules if isinstance(r, PhraseRule) and r.phrases]
        self._phrases = AllPhrases(nlp, phrase_rules) if phrase_rules else None

    @classmethod
    def load(cls, directory: Path | None = None, nlp: Language | None = None) -> RuleSet:
        """Rules from directory (None: bundled). Pass the model's `nlp` when it uses the mixed
        tokenizer, so one Doc per mail serves both rules and model."""
        directory = Path(directory) if directory is not None else rules_dir()
        if not directory.is_dir():
            raise RulesError(
                f"{directory}: no such rules directory",
                "point rules_dir at a folder of *.toml files",
            )
        files = sorted(directory.glob("*.toml"))
        if not files:
            raise RulesError(
                f"{directory}: no *.toml rule files", "add rule files or use the bundled rules"
            )
        nlp = nlp if nlp is not None else blank_nlp()
        seen: dict[str, str] = {}
        rules: list[Rule] = []
        for path in files:
            rules.extend(load_file(path, nlp, seen))
        return cls(rules, nlp, files)

    def context(self, mail: Mail, doc: Doc | None = None) -> Context:
        text = mail.full_text
        doc = doc if doc is not None else self.nlp.make_doc(text)
        return Context.of(doc, text, self._phrases)

    def run(self, mail: Mail, *, stop_at_noise: bool = True, doc: Doc | None = None) -> RuleReport:
        """Noise rules first; when one fires (and stop_at_noise), the text rules are skipped.
        `doc`: the mail's full_text already tokenised with this rule set's nlp."""
        context = self.context(mail, doc)
        hits: list[Hit] = []
        misses: list[str] = []
        for rule in self._noise:
            hit = rule.check(mail, context)
            (hits.append(hit) if hit else misses.append(rule.id))
        if not (stop_at_noise and hits):
            for rule in self._text:
                hit = rule.check(mail, context)
                (hits.append(hit) if hit else misses.append(rule.id))
            marker = next((h for h in hits if h.action in ("focus", "aside")), None)
            if marker is not None:
                rule = self._by_id[marker.rule_id]
                read = self._focused if rule.action == "focus" else self._without_aside
                focus = read(context, rule)
                weight = rule.weight if focus else 0.0
                return RuleReport(tuple(hits), tuple(misses), focus, weight)
        return RuleReport(tuple(hits), tuple(misses))

    def _focused(self, context: Context, focus: Rule) -> str:
        """The sentence `focus` marks as holding the main ask ("" when none).

        The marker's own sentence ("Urgent: the timesheets show 0 hours"); with the next one
        when the marker only announces it ("The important one is this. Nobody can log in."),
        with the one before when it points back ("We need offline mode. This is now top
        priority.").
        """
        found = focus.where(context)
        if found is None:
            return ""
        doc = context.doc
        start, end = _sentence(doc, *found)
        words_after = sum(1 for t in doc[found[1] : end] if not (t.is_punct or t.is_space))
        if words_after <= 3 and end < len(doc):
            end = _sentence(doc, end, end)[1]
        elif start > 0 and doc[start].lower_ in POINTS_BACK:
            start = _sentence(doc, start - 1, start - 1)[0]
        return doc[start:end].text.strip()

    def _without_aside(self, context: Context, aside: Rule) -> str:
        """The mail without the sentence `aside` marks as secondary ("不急，下期再说"), and
        without the one before when the marker's own sentence is too short to hold the ask
        ("Could you add a filter? No rush.")."""
        found = aside.where(context)
        if found is None:
            return ""
        doc = context.doc
        start, end = _sentence(doc, *found)
        words = sum(1 for t in doc[start:end] if not (t.is_punct or t.is_space))
        if words - (found[1] - found[0]) <= MAX_ASIDE_WORDS and start > 0:
            start = _sentence(doc, start - 1, start - 1)[0]
        return (doc[:start].text + " " + doc[end:].text).strip()

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _ends_sentence(token: Token) -> bool:
    return token.text in SENTENCE_ENDS or (token.is_space and "\n" in token.text)


def _sentence(doc: Doc | Span, start: int, end: int) -> tuple[int, int]:
    """The sentence holding tokens start..end: (its first token, one past its end)."""
    left = start
    while left > 0 and start - left < MAX_SENTENCE_TOKENS and not _ends_sentence(doc[left - 1]):
        left -= 1
    right = max(end, start + 1)
    while (
        right < len(doc)
        and right - end < MAX_SENTENCE_TOKENS
        and not _ends_sentence(doc[right - 1])
    ):
        right += 1
    return left, min(right, len(doc))
