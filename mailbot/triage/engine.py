"""Run every rule on a mail and record each hit and miss."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from mailbot.errors import RulesError
from mailbot.resources import rules_dir
from mailbot.triage.loader import load_file
from mailbot.triage.mail import Mail
from mailbot.triage.rules import Context, Hit, Rule
from mailbot.triage.tokenizer import blank_nlp


@dataclass(frozen=True, slots=True)
class RuleReport:
    hits: tuple[Hit, ...]
    misses: tuple[str, ...]  # ids of rules that ran and did not fire

    def by_action(self, action: str) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.action == action)

    @property
    def noise(self) -> bool:
        return any(h.action == "noise" for h in self.hits)

    def votes(self) -> dict[str, float]:
        """Summed weights of the `vote` hits, per category."""
        totals: dict[str, float] = {}
        for hit in self.by_action("vote"):
            assert hit.category is not None
            totals[hit.category] = totals.get(hit.category, 0.0) + hit.weight
        return totals


class RuleSet:
    def __init__(self, rules: Sequence[Rule], nlp: Language, files: Sequence[Path] = ()) -> None:
        self.rules = tuple(rules)
        self.nlp = nlp
        self.files = tuple(files)
        self._noise = tuple(r for r in self.rules if r.action == "noise")
        self._text = tuple(r for r in self.rules if r.action != "noise")

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
        return Context.of(doc if doc is not None else self.nlp.make_doc(text), text)

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
        return RuleReport(tuple(hits), tuple(misses))

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
