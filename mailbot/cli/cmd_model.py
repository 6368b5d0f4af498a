"""`mailbot model train|evaluate|export-corrections`: train a triage model, measure it, or
export the PMs' corrections as training data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "model"
HELP = (
    "train or evaluate a triage model (JSONL, CSV, or the bundled corpus directory), "
    "or export the PMs' corrections as training data"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    train = sub.add_parser("train", help="train a model directory from labelled data")
    train.add_argument("--data", type=Path, required=True, help="JSONL, CSV, or a corpus directory")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument(
        "--labels", help="comma-separated labels to learn (default: all in the data)"
    )
    # Not `--config`: that is mailbot's own config file (see --include-corrections).
    train.add_argument(
        "--train-config",
        "--spacy-config",
        dest="train_config",
        type=Path,
        help="spaCy training config (default: triage.cfg)",
    )
    train.add_argument(
        "--include-corrections",
        action="store_true",
        help="add the PMs' corrections from mailbot's database (see --config) to the data",
    )
    train.add_argument(
        "--prep", default="email", choices=("email", "github", "plain"), help="text preparation"
    )
    train.add_argument(
        "--holdout",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the hash-selected test split out of training (default: on for a directory)",
    )
    train.add_argument("--version", default="1.0.0", help="model version written to meta.json")
    train.add_argument(
        "--calibrate-on",
        type=Path,
        metavar="DATA",
        help="fit the confidence and the rules' weight on these labelled records (the"
        " independent dev set, data/dev) instead of the training data's own dev split",
    )
    train.add_argument(
        "--no-rules", action="store_true", help="do not weigh the rules' votes into calibration"
    )
    train.add_argument("--json", action="store_true", help="print the result as JSON")

    export = sub.add_parser(
        "export-corrections", help="write the PMs' corrections as training data (JSONL)"
    )
    export.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    export.add_argument("--json", action="store_true", help="print the result as JSON")

    evaluate = sub.add_parser("evaluate", help="per-class P/R/F1, macro-F1, confusion matrix")
    evaluate.add_argument("--model", type=Path, help="model directory (default: bundled)")
    evaluate.add_argument(
        "--data", type=Path, help="JSONL, CSV or corpus directory (default: the bundled corpus)"
    )
    evaluate.add_argument(
        "--dev",
        type=Path,
        help="independent dev set to report beside a corpus directory (default: data/dev)",
    )
    evaluate.add_argument(
        "--model-only",
        action="store_true",
        help="the model's scores alone on --data, not the whole triage decision",
    )
    evaluate.add_argument(
        "--split",
        choices=("auto", "all", "train", "dev", "test"),
        default="auto",
        help="records to use (auto: the held-out test split for a directory, else all)",
    )
    evaluate.add_argument("--no-rules", action="store_true", help="model scores only")
    evaluate.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from mailbot.triage.data import read_records

    if args.model_command == "export-corrections":
        return export_corrections(args)
    if args.model_command == "evaluate" and args.data is None:
        from mailbot.triage.data import corpus_dir

        args.data = corpus_dir()
    records = read_records(args.data)
    if args.model_command == "train":
        if args.include_corrections:
            records = records + _corrections(args)
        return _train(args, records)
    return _evaluate(args, records)


def _corrections(args: argparse.Namespace) -> list:
    from mailbot.cli.common import database, load
    from mailbot.items.corrections import correction_records

    db = database(load(args))
    with db.session() as session:
        found = correction_records(session)
    print(f"including {len(found)} corrections from the database")
    return found


def export_corrections(args: argparse.Namespace) -> int:
    """`mailbot model export-corrections --out FILE.jsonl [--json]`."""
    from mailbot.cli.common import print_json, session_for
    from mailbot.items import corrections
    from mailbot.text import plural

    with session_for(args) as (_config, session):
        count = corrections.export_corrections(session, args.out)
    if getattr(args, "json", False):
        print_json({"out": str(args.out), "examples": count})
    else:
        print(f"wrote {plural(count, 'correction')} to {args.out}")
    return 0


def _train(args: argparse.Namespace, records: list) -> int:
    from mailbot.triage.data import read_records
    from mailbot.triage.engine import RuleSet
    from mailbot.triage.train import train

    labels = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None
    holdout = args.data.is_dir() if args.holdout is None else args.holdout
    rules = None if args.no_rules or args.prep != "email" else RuleSet.load()
    result = train(
        records,
        args.out,
        labels=labels,
        config=args.train_config,
        prep=args.prep,
        holdout=holdout,
        rules=rules,
        version=args.version,
        quiet=not args.verbose,
        calibrate_on=read_records(args.calibrate_on) if args.calibrate_on else None,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "out": str(result.out_dir),
                    "labels": list(result.labels),
                    "sizes": result.sizes,
                    "dev_macro_f1": result.dev_macro_f1,
                    "temperature": result.calibration.temperature,
                    "rule_weight": result.calibration.rule_scale,
                    "dropped": result.dropped,
                    "seconds": round(result.seconds, 2),
                }
            )
        )
    else:
        print(result.summary())
        if result.dropped:
            print(f"skipped records with other labels: {result.dropped}")
    return 0


def _evaluate(args: argparse.Namespace, records: list) -> int:
    from mailbot.triage.evaluate import evaluate_path, format_report

    split = args.split
    if split == "auto":
        split = "test" if args.data.is_dir() else "all"
    if args.data.is_dir() and not args.model_only:
        return _evaluate_decision(args, records, split)
    result = evaluate_path(args.model, records, split=split, with_rules=not args.no_rules)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_report(result))
    return 0


def _evaluate_decision(args: argparse.Namespace, records: list, split: str) -> int:
    """The whole decision on the corpus split and on the independent dev set, and the gap."""
    from mailbot.triage import Triage
    from mailbot.triage.assess import assess, compare, format_assessment, format_gap
    from mailbot.triage.data import dev_dir, read_records
    from mailbot.triage.evaluate import select

    triage = Triage.load(model_dir=args.model)
    name = "held-out" if split == "test" else split
    report = {name: assess(triage, select(records, split))}
    dev = args.dev if args.dev is not None else dev_dir()
    if dev.is_dir() and dev.resolve() != args.data.resolve():
        report["dev"] = assess(triage, read_records(dev))
        report["gap"] = compare(report[name], report["dev"])
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    for key, result in report.items():
        if key != "gap":
            print(format_assessment(key, result))
    if "gap" in report:
        print(format_gap(report["gap"]))
    return 0
