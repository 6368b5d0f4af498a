"""Measure a model on labelled records: per-class precision / recall / F1, macro-F1, confusion
matrix, calibration (ECE and reliability) and the same per language when records have one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mailbot.errors import ModelError
from mailbot.triage import language
from mailbot.triage.calibration import ece, reliability
from mailbot.triage.data import Record, split_of
from mailbot.triage.mail import Mail
from mailbot.triage.model import TriageModel, votes_matrix
from mailbot.triage.textprep import model_inputs


def metrics(gold: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    k = len(labels)
    confusion = np.zeros((k, k), dtype=int)
    for g, p in zip(gold, pred, strict=True):
        confusion[g, p] += 1
    per_class = {}
    f1s = []
    for i, label in enumerate(labels):
        tp = int(confusion[i, i])
        predicted = int(confusion[:, i].sum())
        actual = int(confusion[i, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
        if actual:
            f1s.append(f1)
    total = int(confusion.sum())
    return {
        "n": total,
        "accuracy": float(np.trace(confusion) / total) if total else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def select(records: Sequence[Record], split: str) -> list[Record]:
    if split == "all":
        return list(records)
    return [r for r in records if split_of(r.id) == split]


def predict(
    model: TriageModel, records: Sequence[Record], *, rules: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """(raw, calibrated) probabilities. With a RuleSet, its category votes are combined in."""
    texts, mails = model_inputs(model.prep_spec, records)
    raw = model.scores(texts)
    votes = None
    if rules is not None and model.calibration.rule_scale:
        if mails is None:
            mails = [Mail(subject="", text=t) for t in texts]
        reports = [rules.run(mail) for mail in mails]
        votes = votes_matrix([rep.votes() for rep in reports], model.labels)
    return raw, model.calibrated(raw, votes)


def evaluate(model: TriageModel, records: Sequence[Record], *, rules: Any = None) -> dict[str, Any]:
    unknown = sorted({r.label for r in records} - set(model.labels))
    if unknown:
        raise ModelError(
            f"labels {unknown} are not in the model (it knows {list(model.labels)})",
            "evaluate on data with the model's labels",
        )
    if not records:
        raise ModelError("no records to evaluate", "check --data and --split")
    index = {label: i for i, label in enumerate(model.labels)}
    gold = np.asarray([index[r.label] for r in records])
    raw, probs = predict(model, records, rules=rules)
    pred = probs.argmax(axis=1)
    result = metrics(gold, pred, model.labels)
    result["labels"] = list(model.labels)
    result["model_version"] = model.version
    result["ece"] = ece(probs, gold)
    result["ece_uncalibrated"] = ece(raw, gold)
    result["reliability"] = reliability(probs, gold)
    langs = [r.lang or language.detect(r.subject + "\n" + r.body) for r in records]
    by_lang = {}
    for lang in sorted(set(langs)):
        mask = np.asarray([x == lang for x in langs])
        sub = metrics(gold[mask], pred[mask], model.labels)
        by_lang[lang] = {"n": sub["n"], "accuracy": sub["accuracy"], "macro_f1": sub["macro_f1"]}
    result["by_language"] = by_lang
    return result


def evaluate_path(
    model_dir: Path | None,
    records: Sequence[Record],
    *,
    split: str = "all",
    with_rules: bool = True,
) -> dict[str, Any]:
    model = TriageModel.load(model_dir)
    rules = None
    if with_rules and model.calibration.rule_scale:
        from mailbot.triage.engine import RuleSet

        rules = RuleSet.load()
    result = evaluate(model, select(records, split), rules=rules)
    result["split"] = split
    return result


def format_report(result: dict[str, Any]) -> str:
    labels = result["labels"]
    width = max(12, *(len(label) for label in labels))
    lines = [
        f"model {result['model_version']}  split {result.get('split', 'all')}  n={result['n']}",
        f"{'':{width}}  precision  recall     f1  support",
    ]
    for label in labels:
        c = result["per_class"][label]
        lines.append(
            f"{label:{width}}  {c['precision']:9.3f}  {c['recall']:6.3f}  {c['f1']:5.3f}"
            f"  {c['support']:7d}"
        )
    lines.append(
        f"{'macro-F1':{width}}  {result['macro_f1']:.3f}   accuracy {result['accuracy']:.3f}"
    )
    lines.append(f"ECE {result['ece']:.3f} (uncalibrated {result['ece_uncalibrated']:.3f})")
    lines.append("confusion (rows = gold, columns = predicted):")
    lines.append(" " * (width + 2) + " ".join(f"{label[:8]:>8}" for label in labels))
    for label, row in zip(labels, result["confusion"], strict=True):
        lines.append(f"{label:{width}}  " + " ".join(f"{v:8d}" for v in row))
    if len(result.get("by_language", {})) > 1:
        lines.append("by language:")
        for lang, sub in result["by_language"].items():
            lines.append(
                f"  {lang:8} n={sub['n']:4d}  macro-F1 {sub['macro_f1']:.3f}"
                f"  accuracy {sub['accuracy']:.3f}"
            )
    return "\n".join(lines)
