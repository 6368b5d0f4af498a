"""A trained triage model: a spaCy pipeline directory plus calibration.json.

Loaded once; `scores()` runs the texts through `nlp.pipe` and returns raw class probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc

import mailbot.triage.architectures
import mailbot.triage.tokenizer  # noqa: F401  (registers mailbot.mixed_tokenizer.v1)
from mailbot.errors import ModelError
from mailbot.resources import triage_model_dir
from mailbot.triage.calibration import Calibration
from mailbot.triage.textprep import make_prep

PIPE_BATCH = 256


@dataclass
class TriageModel:
    nlp: Language
    labels: tuple[str, ...]
    calibration: Calibration
    meta: dict[str, Any]
    path: Path

    @classmethod
    def load(cls, directory: Path | None = None) -> TriageModel:
        path = Path(directory) if directory is not None else triage_model_dir()
        if not (path / "config.cfg").exists() or not (path / "meta.json").exists():
            raise ModelError(
                f"{path}: not a model directory (no config.cfg/meta.json)",
                "train one with `mailbot model train` or use the bundled model",
            )
        try:
            nlp = spacy.load(path)
        except Exception as err:  # spaCy raises many kinds; the user needs the path and cause
            raise ModelError(f"{path}: cannot load model: {err}", "retrain the model") from None
        if "textcat" not in nlp.pipe_names:
            raise ModelError(
                f"{path}: the pipeline has no textcat", "train it with a textcat config"
            )
        labels = tuple(nlp.get_pipe("textcat").labels)
        return cls(nlp, labels, Calibration.load(path), dict(nlp.meta), path)

    @property
    def version(self) -> str:
        return f"{self.meta.get('name', 'model')}-{self.meta.get('version', '0')}"

    @property
    def prep_spec(self) -> dict[str, Any]:
        return dict(self.meta.get("mailbot", {}).get("prep", {"name": "email"}))

    def prep(self, subject: str, body: str) -> str:
        """The model's text for a record (subject and whole body)."""
        return self._prep(subject, body)

    def prep_new_text(self, subject: str, new_text: str) -> str:
        """The model's text for a mail whose quoted history was already removed by the parser."""
        return self._prep_new(subject, new_text)

    def __post_init__(self) -> None:
        self._prep = make_prep(self.prep_spec)
        self._prep_new = make_prep(self.prep_spec, body_is_new_text=True)

    def scores(self, texts: Iterable[str | Doc]) -> np.ndarray:
        """Raw probabilities, (n, len(labels)), columns in `labels` order (texts or Docs made
        with this model's tokenizer)."""
        rows = [
            [doc.cats.get(label, 0.0) for label in self.labels]
            for doc in self.nlp.pipe(texts, batch_size=PIPE_BATCH)
        ]
        return np.asarray(rows, dtype=np.float64).reshape(-1, len(self.labels))

    def with_focus(self, raw: np.ndarray, reports: Sequence[Any]) -> np.ndarray:
        """`raw` (a row per rule report) with the reading of each report's marked sentence
        (`focus`) blended in, geometrically, `focus_weight` of it."""
        rows = [i for i, r in enumerate(reports) if r.focus and r.focus_weight > 0]
        if not rows:
            return raw
        focused = self.scores([reports[i].focus for i in rows])
        out = raw.copy()
        for row, scores in zip(rows, focused, strict=True):
            weight = min(1.0, reports[row].focus_weight)
            log = (1 - weight) * np.log(np.clip(raw[row], 1e-9, 1.0)) + weight * np.log(
                np.clip(scores, 1e-9, 1.0)
            )
            probs = np.exp(log - log.max())
            out[row] = probs / probs.sum()
        return out

    def calibrated(self, probs: np.ndarray, votes: np.ndarray | None = None) -> np.ndarray:
        return self.calibration.apply(probs, votes)


def votes_matrix(votes: Sequence[dict[str, float]], labels: Sequence[str]) -> np.ndarray:
    return np.asarray([[v.get(label, 0.0) for label in labels] for v in votes], dtype=np.float64)


def read_meta(directory: Path) -> dict[str, Any]:
    return json.loads((Path(directory) / "meta.json").read_text())
