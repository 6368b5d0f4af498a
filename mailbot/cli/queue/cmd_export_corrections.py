"""`mailbot queue export-corrections`: the old name of `mailbot model export-corrections`.

Hidden from `mailbot queue --help`; it still works for scripts written against it, and says
on stderr where the command lives now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "export-corrections"
HELP = "the old name of `mailbot model export-corrections`"
HIDDEN = True
MOVED = "`mailbot queue export-corrections` is now `mailbot model export-corrections`"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the JSONL file to write")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.cmd_model import export_corrections

    print(f"mailbot: {MOVED}", file=sys.stderr)
    return export_corrections(args)
