"""`mailbot queue export-corrections --out FILE.jsonl`: the PM's corrections as training data."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "export-corrections"
HELP = "write category corrections as JSONL training data (the format of `model train`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the JSONL file to write")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.corrections import export_corrections

    with session_for(args) as (_config, session):
        count = export_corrections(session, args.out)
    emit(args, {"out": str(args.out), "examples": count}, f"wrote {count} examples to {args.out}")
    return 0
