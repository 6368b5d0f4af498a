"""NLBSE'24 issue report classification (bug / feature / question), one model per repository.

Each repository's model is trained on its 300 training issues and tested on its 300 test issues
through the same code as `mailbot model train` (mailbot.triage.train.train) and
`mailbot model evaluate` (mailbot.triage.evaluate.evaluate). The figure is the mean over the
repositories of the macro-F1. Baselines (baseline-*.json): fastText 0.718, RoBERTa 0.792,
SetFit 0.824.

    python benchmarks/nlbse24.py [--data DIR] [--variant NAME ...] [--sweep] [--json]
    python benchmarks/nlbse24.py --select [--candidates NAME ...]

`--select` is the honest protocol: every candidate variant is trained on four fifths of each
repository's training issues and scored on the fifth it did not see (the validation split, by a
stable hash of the issue); the candidate with the best mean validation macro-F1 is then trained
on all training issues and scored on the test issues once. The test issues choose nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from mailbot.triage.data import Record, split_of
from mailbot.triage.evaluate import evaluate
from mailbot.triage.model import TriageModel
from mailbot.triage.train import CONFIG_DIR, train

DEFAULT_DATA = Path("/work/shared/benchmarks/nlbse24")
BOW = CONFIG_DIR / "bow.cfg"
ENSEMBLE = CONFIG_DIR / "ensemble.cfg"
NORM = CONFIG_DIR / "triage.cfg"
SCALE = "components.textcat.model.scale"
WEIGHTING = "components.textcat.model.weighting"
NGRAM = "components.textcat.model.ngram_size"
ENS_NGRAM = "components.textcat.model.linear_model.ngram_size"
AVG = "training.optimizer.use_averages"
LR = "training.optimizer.learn_rate"
EPOCHS = "training.max_epochs"

# name -> (config, overrides, text preparation[, "best" or "last" model])
VARIANTS: dict[str, tuple] = {
    "bow1-plain": (BOW, {NGRAM: 1}, {"name": "plain"}),
    "bow2-plain": (BOW, {NGRAM: 2}, {"name": "plain"}),
    "bow3-plain": (BOW, {NGRAM: 3}, {"name": "plain"}),
    "bow2-clean": (BOW, {NGRAM: 2}, {"name": "github"}),
    "bow2-clean-title2": (BOW, {NGRAM: 2}, {"name": "github", "title_repeat": 2}),
    "bow2-clean-title3": (BOW, {NGRAM: 2}, {"name": "github", "title_repeat": 3}),
    "bow3-clean-title2": (BOW, {NGRAM: 3}, {"name": "github", "title_repeat": 2}),
    "bow2-clean-title2-cut2k": (
        BOW,
        {NGRAM: 2},
        {"name": "github", "title_repeat": 2, "max_chars": 2000},
    ),
    "bow2-clean-title2-avg": (
        BOW,
        {NGRAM: 2, AVG: True},
        {"name": "github", "title_repeat": 2},
    ),
    "bow3-clean-title2-avg": (
        BOW,
        {NGRAM: 3, AVG: True},
        {"name": "github", "title_repeat": 2},
    ),
    "bow2-clean-title2-avg-lower": (
        BOW,
        {NGRAM: 2, AVG: True},
        {"name": "github", "title_repeat": 2, "lower": True},
    ),
    "bow2-clean-title2-avg-lower-cut3k": (
        BOW,
        {NGRAM: 2, AVG: True},
        {"name": "github", "title_repeat": 2, "lower": True, "max_chars": 3000},
    ),
    "bow2-clean-title2-avg-lower-last": (
        BOW,
        {NGRAM: 2, AVG: True},
        {"name": "github", "title_repeat": 2, "lower": True},
        "last",
    ),
    "bow2-clean-title2-avg-last": (
        BOW,
        {NGRAM: 2, AVG: True},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "bow3-clean-title2-avg-last": (
        BOW,
        {NGRAM: 3, AVG: True},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "bow3-clean-title2-avg-lower-last": (
        BOW,
        {NGRAM: 3, AVG: True},
        {"name": "github", "title_repeat": 2, "lower": True},
        "last",
    ),
    "bow2-clean-title2-avg-lower-last-lr3": (
        BOW,
        {NGRAM: 2, AVG: True, LR: 0.003},
        {"name": "github", "title_repeat": 2, "lower": True},
        "last",
    ),
    "bow2-clean-title2-avg-lower-last-ep80": (
        BOW,
        {NGRAM: 2, AVG: True, EPOCHS: 80},
        {"name": "github", "title_repeat": 2, "lower": True},
        "last",
    ),
    "norm2-clean-title2-last": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 1.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title2-last-s4": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 4.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title2-last-s4-lr3": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 4.0, LR: 0.003},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title2-last-s16": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 16.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm3-clean-title2-last-s4": (
        NORM,
        {NGRAM: 3, AVG: True, SCALE: 4.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title2-last-s32": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 32.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title2-last-s64": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 64.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm3-clean-title2-last-s16": (
        NORM,
        {NGRAM: 3, AVG: True, SCALE: 16.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title2-last-s16-binary": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 16.0, WEIGHTING: "binary"},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title2-last-s16-count": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 16.0, WEIGHTING: "count"},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm2-clean-title1-last-s16": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 16.0},
        {"name": "github"},
        "last",
    ),
    "norm2-plain-last-s16": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 16.0},
        {"name": "plain"},
        "last",
    ),
    "ens2-clean-title2-lower-last": (
        ENSEMBLE,
        {ENS_NGRAM: 2, AVG: True},
        {"name": "github", "title_repeat": 2, "lower": True},
        "last",
    ),
    "ens2-clean-title2-lower": (
        ENSEMBLE,
        {ENS_NGRAM: 2, AVG: True},
        {"name": "github", "title_repeat": 2, "lower": True},
    ),
    "ens2-clean-title2": (ENSEMBLE, {ENS_NGRAM: 2}, {"name": "github", "title_repeat": 2}),
    "norm1-clean-title2-last-s16": (
        NORM,
        {NGRAM: 1, AVG: True, SCALE: 16.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
    "norm1-plain-last-s16": (NORM, {NGRAM: 1, AVG: True, SCALE: 16.0}, {"name": "plain"}, "last"),
    "norm2-plain-last-s4": (NORM, {NGRAM: 2, AVG: True, SCALE: 4.0}, {"name": "plain"}, "last"),
    "norm2-clean-title2-last-s8": (
        NORM,
        {NGRAM: 2, AVG: True, SCALE: 8.0},
        {"name": "github", "title_repeat": 2},
        "last",
    ),
}
DEFAULT_VARIANT = "norm2-clean-title2-last-s16"


def read(path: Path) -> dict[str, list[Record]]:
    csv.field_size_limit(sys.maxsize)
    repos: dict[str, list[Record]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            record = Record(
                id=f"{row['repo']}#{number}",
                label=row["label"],
                subject=row["title"] or "",
                body=row["body"] or "",
                source=f"{path}:{number}",
            )
            repos.setdefault(row["repo"], []).append(record)
    return repos


# The candidates `--select` compares by default: the variants that differ in one setting each.
CANDIDATES = (
    "bow2-clean-title2-avg-last",
    "bow3-clean-title2-avg-last",
    "bow2-clean-title2-avg-lower-last",
    "norm2-clean-title2-last-s4",
    "norm2-clean-title2-last-s16",
    "norm2-clean-title2-last-s32",
    "norm3-clean-title2-last-s16",
    "norm2-clean-title1-last-s16",
    "norm2-plain-last-s16",
    "norm2-plain-last-s4",
    "norm2-clean-title2-last-s8",
    "norm1-clean-title2-last-s16",
    "norm1-plain-last-s16",
)


def validation_split(records: list[Record]) -> tuple[list[Record], list[Record]]:
    """(fit, validation): a stable fifth of a repository's training issues is held back, by the
    same hash that holds out the corpus's test split (`mailbot.triage.data.split_of`)."""
    fit, validation = [], []
    for record in records:
        (validation if split_of(record.id) == "test" else fit).append(record)
    return fit, validation


def select(data: Path, candidates: list[str], seed: int = 0) -> dict:
    """Choose a variant on validation splits of the training issues, then test it once."""
    train_sets = read(data / "issues_train.csv")
    splits = {repo: validation_split(records) for repo, records in train_sets.items()}
    validation = {}
    for name in candidates:
        result = run_variant(
            name,
            data,
            seed,
            train_sets={repo: fit for repo, (fit, _) in splits.items()},
            test_sets={repo: held for repo, (_, held) in splits.items()},
        )
        validation[name] = result["mean_macro_f1"]
        print(f"validation {name:36} {result['mean_macro_f1']:.4f}", file=sys.stderr, flush=True)
    chosen = max(candidates, key=lambda name: validation[name])
    test = run_variant(chosen, data, seed)
    return {
        "protocol": "select on validation, test once",
        "validation": validation,
        "chosen": chosen,
        "test": test,
    }


def run_variant(
    name: str,
    data: Path,
    seed: int = 0,
    *,
    train_sets: dict[str, list[Record]] | None = None,
    test_sets: dict[str, list[Record]] | None = None,
) -> dict:
    config, overrides, prep, *rest = VARIANTS[name]
    pick = rest[0] if rest else "best"
    if train_sets is None or test_sets is None:
        train_sets, test_sets = read(data / "issues_train.csv"), read(data / "issues_test.csv")
    per_repo = {}
    started = time.perf_counter()
    for repo in sorted(train_sets):
        with tempfile.TemporaryDirectory(prefix="nlbse-") as tmp:
            out = Path(tmp) / "model"
            train(
                train_sets[repo],
                out,
                config=config,
                prep=prep,
                holdout=False,
                overrides=overrides,
                pick=pick,
                seed=seed,
            )
            result = evaluate(TriageModel.load(out), test_sets[repo])
        per_repo[repo] = round(result["macro_f1"], 4)
        print(f"  {name:26} {repo:24} macro-F1 {result['macro_f1']:.4f}", file=sys.stderr)
    mean = sum(per_repo.values()) / len(per_repo)
    return {
        "variant": name,
        "seed": seed,
        "mean_macro_f1": round(mean, 4),
        "per_repo": per_repo,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    parser.add_argument("--sweep", action="store_true", help="run every variant")
    parser.add_argument("--json", action="store_true", help="one JSON line per variant")
    parser.add_argument("--seed", type=int, action="append", help="training seed(s) (default 0)")
    parser.add_argument(
        "--select",
        action="store_true",
        help="choose among --candidates on validation splits of the training issues, test once",
    )
    parser.add_argument(
        "--candidates", nargs="+", choices=sorted(VARIANTS), default=list(CANDIDATES)
    )
    args = parser.parse_args(argv)
    if args.select:
        result = select(args.data, args.candidates, (args.seed or [0])[0])
        print(json.dumps(result, indent=2))
        return 0
    names = sorted(VARIANTS) if args.sweep else (args.variant or [DEFAULT_VARIANT])
    runs = [(name, seed) for name in names for seed in (args.seed or [0])]
    for name, seed in runs:
        result = run_variant(name, args.data, seed)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            repos = "  ".join(f"{k.split('/')[1]} {v:.3f}" for k, v in result["per_repo"].items())
            print(
                f"{name:26} mean macro-F1 {result['mean_macro_f1']:.4f}  ({repos})  "
                f"{result['seconds']}s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
