"""`Triage`: rules and model loaded once; one Verdict per message."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from mailbot.message import Message
from mailbot.triage import language
from mailbot.triage.engine import RuleReport, RuleSet
from mailbot.triage.mail import Mail
from mailbot.triage.model import TriageModel
from mailbot.triage.signoff import without_signoff
from mailbot.triage.textprep import new_text
from mailbot.triage.tokenizer import MixedTokenizer
from mailbot.triage.verdict import (
    DEFAULT_REVIEW_THRESHOLD,
    Verdict,
    combine,
    empty_verdict,
    noise_verdict,
)


def _shares_tokens(model: TriageModel) -> bool:
    """The model reads exactly Mail.full_text with the mixed character tokenizer."""
    tokenizer = model.nlp.tokenizer
    return (
        isinstance(tokenizer, MixedTokenizer)
        and tokenizer.segmenter == "char"
        and model.prep_spec == {"name": "email"}
    )


class Triage:
    def __init__(
        self,
        rules: RuleSet,
        model: TriageModel,
        review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
    ) -> None:
        if not 0.0 <= review_threshold <= 1.0:
            raise ValueError("review_threshold must be between 0 and 1")
        self.rules = rules
        self.model = model
        self.review_threshold = review_threshold

    @classmethod
    def load(
        cls,
        rules_dir: Path | None = None,
        model_dir: Path | None = None,
        review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
    ) -> Triage:
        """Rules from rules_dir and the model from model_dir; None means the bundled ones."""
        model = TriageModel.load(model_dir)
        shared = model.nlp if _shares_tokens(model) else None
        return cls(RuleSet.load(rules_dir, nlp=shared), model, review_threshold)

    @property
    def model_version(self) -> str:
        return self.model.version

    def classify(self, message: Message) -> Verdict:
        return self.classify_mails([Mail.from_message(message)])[0]

    def classify_text(self, subject: str, text: str) -> Verdict:
        """Classify a subject and body without headers; quoted history is removed from the body."""
        return self.classify_mails([Mail(subject=subject, text=without_signoff(new_text(text)))])[0]

    def classify_many(self, messages: Iterable[Message]) -> list[Verdict]:
        return self.classify_mails([Mail.from_message(m) for m in messages])

    def explain_rules(self, mail: Mail) -> RuleReport:
        """Every rule run on the mail, noise or not (for --explain)."""
        return self.rules.run(mail.finished(), stop_at_noise=False)

    def _model_text(self, mail: Mail) -> str:
        return self.model.prep_new_text(mail.subject, mail.text)  # mail.text is the new text

    def classify_mails(self, mails: Sequence[Mail]) -> list[Verdict]:
        mails = [mail.finished() for mail in mails]
        if self.rules.nlp is getattr(self.model, "nlp", None):  # one Doc for rules and model
            docs = [self.model.nlp.make_doc(mail.full_text) for mail in mails]
            reports = [self.rules.run(m, doc=d) for m, d in zip(mails, docs, strict=True)]
            inputs: list = [docs[i] for i, r in enumerate(reports) if not r.noise]
        else:
            reports = [self.rules.run(mail) for mail in mails]
            inputs = [
                self._model_text(m) for m, r in zip(mails, reports, strict=True) if not r.noise
            ]
        languages = [language.detect(mail.full_text) for mail in mails]
        todo = [i for i, report in enumerate(reports) if not report.noise]
        # The model cannot read an empty text; such a mail goes to a person instead.
        empty = {i for i in todo if not mails[i].full_text.strip()}
        inputs = [x for i, x in zip(todo, inputs, strict=True) if i not in empty]
        todo = [i for i in todo if i not in empty]
        raw = self.model.scores(inputs) if inputs else []
        if any(reports[i].focus for i in todo):  # a marked main ask is read apart as well
            raw = self.model.with_focus(raw, [reports[i] for i in todo])
        scored = dict(zip(todo, raw, strict=True))
        verdicts = []
        for i, report in enumerate(reports):
            if i in empty:
                verdicts.append(empty_verdict(report, languages[i], self.model_version))
                continue
            if i not in scored:
                verdicts.append(noise_verdict(report, languages[i], self.model_version))
                continue
            verdicts.append(
                combine(
                    report,
                    scored[i],
                    self.model.labels,
                    self.model.calibration,
                    language=languages[i],
                    model_version=self.model_version,
                    review_threshold=self.review_threshold,
                )
            )
        return verdicts
