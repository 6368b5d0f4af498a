"""The whole triage decision on the held-out split, the dev set and the blind test set.

    python benchmarks/triage.py [--model DIR] [--json]

The held-out split (`sha1(id) % 5 == 0` of data/corpus) and the independent dev set (data/dev)
are what `mailbot model evaluate` reports; the blind set (tests/fixtures/triage_blind) was written
apart from both and is measured once per model release, never used to choose a setting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mailbot.triage import Triage
from mailbot.triage.assess import assess, format_assessment
from mailbot.triage.data import corpus_dir, dev_dir, read_records
from mailbot.triage.evaluate import select

BLIND = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "triage_blind" / "mails.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: bundled)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    triage = Triage.load(model_dir=args.model)
    sets = {
        "held-out": select(read_records(corpus_dir()), "test"),
        "dev": read_records(dev_dir()),
    }
    if BLIND.exists():
        sets["blind"] = read_records(BLIND)
    report = {}
    for name, records in sets.items():
        started = time.perf_counter()
        report[name] = assess(triage, records)
        report[name]["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for name, result in report.items():
            print(format_assessment(name, result))
            print(f"  ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
