"""`mailbot route FILE.eml`: which project a mail would be filed under, and why."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mailbot.cli.common import database, load, print_json
from mailbot.errors import ParseError
from mailbot.items.store import DbItemLookup
from mailbot.parse import parse_bytes
from mailbot.pipeline.route import route_to_project

NAME = "route"
HELP = "show which project (and item) each mail would be filed under, and why"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE.eml", help="one or more saved mails"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file")


def run(args: argparse.Namespace) -> int:
    config = load(args)
    db = database(config)
    status = 0
    with db.session() as session:
        lookup = DbItemLookup(session)
        for path in args.files:
            try:
                message = parse_bytes(path.read_bytes())
            except (OSError, ParseError) as err:
                print(f"{path}: cannot read: {err}", file=sys.stderr)
                status = 1
                continue
            route = route_to_project(message, config.projects, lookup, is_own=config.is_own_address)
            if args.json:
                print_json({"file": str(path), **route.to_dict()})
                continue
            target = route.item.ref if route.item else (route.project or "unassigned (triage)")
            print(f"{path}: {target}  [{route.step}]")
            for line in route.explanation:
                print(f"    {line}")
    return status
