"""Confidence calibration by temperature scaling, fitted on the dev split.

The combined score of class c is  z_c = log p_model(c) + rule_scale * votes(c); the calibrated
confidences are softmax(z / temperature). `rule_scale` is chosen for the best macro-F1 of the
decision on the calibration records, `temperature` for the lowest negative log-likelihood at that
weight (a grid search: the records are few).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

FILE_NAME = "calibration.json"
RULE_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)
TEMPERATURES = tuple(float(t) for t in np.exp(np.linspace(np.log(0.05), np.log(5.0), 93)))
_EPS = 1e-9


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    rule_scale: float = 0.0
    method: str = "temperature"
    dev_size: int = 0
    dev_nll_before: float | None = None
    dev_nll_after: float | None = None
    dev_ece_before: float | None = None
    dev_ece_after: float | None = None
    notes: dict[str, float] = field(default_factory=dict)

    def apply(self, probs: np.ndarray, votes: np.ndarray | None = None) -> np.ndarray:
        """Calibrated class probabilities; probs and votes are (n, classes)."""
        z = np.log(np.clip(probs, _EPS, 1.0))
        if votes is not None and self.rule_scale:
            z = z + self.rule_scale * votes
        return softmax(z / self.temperature)

    def save(self, directory: Path) -> None:
        (Path(directory) / FILE_NAME).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Calibration:
        path = Path(directory) / FILE_NAME
        if not path.exists():
            return cls()
        return cls(**json.loads(path.read_text()))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(probs: np.ndarray, gold: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(gold)), gold], _EPS, 1.0))))


def reliability(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per confidence bin: count, mean confidence, accuracy."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    rows = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    for low, high in itertools.pairwise(edges):
        mask = (conf > low) & (conf <= high) if low > 0 else (conf >= low) & (conf <= high)
        if mask.any():
            rows.append(
                {
                    "low": round(float(low), 2),
                    "high": round(float(high), 2),
                    "count": int(mask.sum()),
                    "confidence": float(conf[mask].mean()),
                    "accuracy": float(correct[mask].mean()),
                }
            )
    return rows


def ece(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted gap between confidence and accuracy."""
    total = len(gold)
    if not total:
        return 0.0
    return float(
        sum(
            r["count"] * abs(r["confidence"] - r["accuracy"])
            for r in reliability(probs, gold, bins)
        )
        / total
    )


def _macro_f1(gold: np.ndarray, pred: np.ndarray, classes: int) -> float:
    scores = []
    for c in range(classes):
        tp = float(np.sum((pred == c) & (gold == c)))
        fp = float(np.sum((pred == c) & (gold != c)))
        fn = float(np.sum((pred != c) & (gold == c)))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def fit(
    probs: np.ndarray,
    gold: np.ndarray,
    votes: np.ndarray | None = None,
    rule_scales: Sequence[float] = RULE_SCALES,
) -> Calibration:
    """The rules' weight that decides best (macro-F1; the lower NLL among equals), then the
    temperature that makes the confidence honest at that weight (NLL)."""
    if len(gold) == 0:
        return Calibration()
    scales = rule_scales if votes is not None and np.any(votes) else (0.0,)
    best: tuple[float, float, float, float] | None = None
    for scale in scales:
        # The decision does not depend on the temperature, only on the rules' weight.
        decided = Calibration(rule_scale=scale).apply(probs, votes).argmax(axis=1)
        f1 = _macro_f1(gold, decided, probs.shape[1])
        for temperature in TEMPERATURES:
            trial = Calibration(temperature=temperature, rule_scale=scale)
            loss = nll(trial.apply(probs, votes), gold)
            key = (-f1, loss)
            if best is None or key < (best[0], best[1] - 1e-9):
                best = (-f1, loss, temperature, scale)
    assert best is not None
    _, _, temperature, scale = best
    fitted = Calibration(temperature=temperature, rule_scale=scale).apply(probs, votes)
    return Calibration(
        temperature=round(temperature, 4),
        rule_scale=scale,
        dev_size=len(gold),
        dev_nll_before=round(nll(probs, gold), 4),
        dev_nll_after=round(nll(fitted, gold), 4),
        dev_ece_before=round(ece(probs, gold), 4),
        dev_ece_after=round(ece(fitted, gold), 4),
    )
