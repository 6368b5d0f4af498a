"""`mailbot explain FILE.eml`: every stage's decision for one mail, changing nothing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mailbot.app import build_pipeline
from mailbot.cli.common import database, load, print_json
from mailbot.errors import MailbotError
from mailbot.pipeline.explain import explain

NAME = "explain"
HELP = "show what each stage (parse, classify, route, file, answer) would decide for a mail"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.eml", help="the mail, as a .eml file")
    parser.add_argument("--json", action="store_true", help="as one JSON object")


def run(args: argparse.Namespace) -> int:
    config = load(args)
    try:
        data = args.file.read_bytes()
    except OSError as err:
        raise MailbotError(f"cannot read {args.file}: {err.strerror}", "check the path") from None
    db = database(config)
    try:
        pipeline = build_pipeline(config, db)
        result = explain(
            config,
            db,
            data,
            triage=pipeline.triage,
            acknowledger=pipeline.acknowledger,
            hooks=pipeline.hooks,
            trust=pipeline.trust,
        )
    finally:
        db.dispose()
    if args.json:
        print_json(result.as_dict())
        return 0
    for stage, detail in result.stages.items():
        print(f"{stage}:")
        for key, value in detail.items():
            if key == "explanation" and isinstance(value, list):
                for line in value:
                    print(f"    {line}")
                continue
            if key == "checks" and isinstance(value, list):
                print(f"  {key}:")
                for line in value:
                    print(f"    {line}")
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            text = text if len(text) <= 600 else text[:600] + "…"
            print(f"  {key}: " + text.replace("\n", "\n      "))
    if result.stopped:
        print(f"(stopped at {result.stopped})")
    print("nothing was stored, filed or sent")
    return 0
