"""Measure the whole triage decision (noise rules, model, cue rules, thresholds) on labelled mail.

`evaluate.py` measures the model's scores alone; this module runs `Triage.classify_mails` on each
record (a parsed .eml, or a subject and body) exactly as the daemon would, and reports:
macro-F1 and the confusion matrix over issue / change_request / feedback / none, the same by
language, by hard family (docs/triage.md), by writing style and by source file, noise recall and
client mail called noise, the share sent to review, and the calibration of the verdicts' confidence.
`compare` puts the held-out split of the corpus and the independent dev set side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mailbot.triage import language
from mailbot.triage.calibration import ece
from mailbot.triage.data import Record
from mailbot.triage.evaluate import metrics
from mailbot.triage.verdict import CATEGORIES, Verdict

MAX_ERRORS = 40  # misclassified mails listed in a report
MAX_SOURCES = 8  # source files listed in a printed report (the dev set: generated and by hand)


def _confidence_matrix(verdicts: Sequence[Verdict], labels: Sequence[str]) -> np.ndarray:
    """One row per verdict: its confidence on its category, the rest spread evenly (for ECE,
    which only reads the top confidence and whether the top category is right)."""
    probs = np.zeros((len(verdicts), len(labels)))
    index = {label: i for i, label in enumerate(labels)}
    for row, verdict in enumerate(verdicts):
        rest = (1.0 - verdict.confidence) / (len(labels) - 1)
        probs[row, :] = min(rest, verdict.confidence)
        probs[row, index[verdict.category]] = verdict.confidence
    return probs


def _summary(gold: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    sub = metrics(gold, pred, labels)
    return {"n": sub["n"], "macro_f1": sub["macro_f1"], "accuracy": sub["accuracy"]}


def decide(triage: Any, records: Sequence[Record]) -> list[Verdict]:
    return triage.classify_mails([record.mail() for record in records])


def assess(
    triage: Any, records: Sequence[Record], verdicts: Sequence[Verdict] | None = None
) -> dict[str, Any]:
    """The report for one set of records (verdicts are computed unless given)."""
    labels = list(CATEGORIES)
    index = {label: i for i, label in enumerate(labels)}
    if verdicts is None:
        verdicts = decide(triage, records)
    gold = np.asarray([index[r.label] for r in records], dtype=int)
    pred = np.asarray([index[v.category] for v in verdicts], dtype=int)
    result = metrics(gold, pred, labels)
    result["labels"] = labels
    result["model_version"] = triage.model_version
    result["ece"] = ece(_confidence_matrix(verdicts, labels), gold)
    review = np.asarray([v.needs_review for v in verdicts], dtype=bool)
    result["needs_review"] = float(review.mean()) if len(review) else 0.0
    right = gold == pred
    result["accuracy_not_reviewed"] = float(right[~review].mean()) if (~review).any() else 0.0
    result["wrong_not_reviewed"] = int((~right & ~review).sum())
    none = index["none"]
    noise = gold == none
    result["noise_recall"] = float((pred[noise] == none).mean()) if noise.any() else None
    result["client_called_noise"] = int(((pred == none) & ~noise).sum())
    groups: dict[str, dict[str, list[int]]] = {
        "by_language": {},
        "by_family": {},
        "by_style": {},
        "by_source": {},
    }
    for row, record in enumerate(records):
        lang = record.lang or language.detect(record.subject + "\n" + record.body)
        groups["by_language"].setdefault(lang, []).append(row)
        groups["by_family"].setdefault(record.family or "plain", []).append(row)
        groups["by_style"].setdefault(record.style or "plain", []).append(row)
        groups["by_source"].setdefault(source_of(record), []).append(row)
    for name, members in groups.items():
        result[name] = {
            key: _summary(gold[rows], pred[rows], labels) for key, rows in sorted(members.items())
        }
    result["errors"] = [
        {
            "id": record.id,
            "gold": record.label,
            "predicted": verdict.category,
            "confidence": round(verdict.confidence, 3),
            "needs_review": verdict.needs_review,
            "family": record.family,
            "style": record.style,
        }
        for record, verdict in zip(records, verdicts, strict=True)
        if record.label != verdict.category
    ][:MAX_ERRORS]
    return result


def source_of(record: Record) -> str:
    """Which file a record came from: its stem ("hand-client"), or "eml" for a raw mail."""
    if record.raw:
        return "eml"
    return Path(record.source.rpartition(":")[0] or record.source).stem or "-"


def compare(held_out: dict[str, Any], dev: dict[str, Any]) -> dict[str, Any]:
    """The gap between the held-out split and the dev set (positive: dev is worse)."""
    gap: dict[str, Any] = {"macro_f1": held_out["macro_f1"] - dev["macro_f1"], "by_language": {}}
    for lang, sub in dev["by_language"].items():
        home = held_out["by_language"].get(lang)
        if home:
            gap["by_language"][lang] = home["macro_f1"] - sub["macro_f1"]
    return gap


def format_assessment(name: str, result: dict[str, Any]) -> str:
    labels = result["labels"]
    width = 16
    noise = result["noise_recall"]
    lines = [
        f"{name}: model {result['model_version']}  n={result['n']}",
        f"  macro-F1 {result['macro_f1']:.3f}  accuracy {result['accuracy']:.3f}"
        f"  ECE {result['ece']:.3f}  needs review {result['needs_review']:.1%}"
        f"  (accuracy of the rest {result['accuracy_not_reviewed']:.3f})",
        f"  noise recall {'-' if noise is None else f'{noise:.3f}'}"
        f"  client mail called noise {result['client_called_noise']}",
        f"  {'':{width}}  precision  recall     f1  support",
    ]
    for label in labels:
        c = result["per_class"][label]
        if c["support"] or any(row[labels.index(label)] for row in result["confusion"]):
            lines.append(
                f"  {label:{width}}  {c['precision']:9.3f}  {c['recall']:6.3f}  {c['f1']:5.3f}"
                f"  {c['support']:7d}"
            )
    lines.append("  confusion (rows = gold, columns = predicted):")
    lines.append("  " + " " * (width + 2) + " ".join(f"{label[:8]:>8}" for label in labels))
    for label, row in zip(labels, result["confusion"], strict=True):
        lines.append(f"  {label:{width}}  " + " ".join(f"{v:8d}" for v in row))
    for group in ("by_language", "by_family", "by_style", "by_source"):
        if group == "by_source" and not 1 < len(result[group]) <= MAX_SOURCES:
            continue  # one source says nothing new; a corpus of many files is too long a list
        lines.append(f"  {group.replace('_', ' ')}:")
        for key, sub in result[group].items():
            lines.append(
                f"    {key:18} n={sub['n']:5d}  macro-F1 {sub['macro_f1']:.3f}"
                f"  accuracy {sub['accuracy']:.3f}"
            )
    return "\n".join(lines)


def format_gap(gap: dict[str, Any]) -> str:
    parts = [f"{lang} {value:+.3f}" for lang, value in gap["by_language"].items()]
    return f"gap held-out − dev: macro-F1 {gap['macro_f1']:+.3f}; " + ", ".join(parts)
