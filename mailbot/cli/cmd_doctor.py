"""`mailbot doctor`: check the configuration, the servers, the database and the daemon's health."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailbot.text import plural

if TYPE_CHECKING:
    from mailbot.ops.doctor import Check

NAME = "doctor"
HELP = "check that this installation can work: config, mailboxes, SMTP, database, model, daemon"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when there are warnings (default: 0)"
    )


def render_table(checks: list[Check]) -> str:
    """Plain text: one row per check, what to do indented under warnings and failures."""
    from mailbot.ops.doctor import FAIL, PASS, WARN

    width_name = max([len(c.name) for c in checks] + [5])
    width_part = max([len(c.subject) for c in checks] + [4])
    pad = " " * (6 + 2 + width_name + 2 + width_part + 2)
    lines = [f"{'STATUS':<6}  {'CHECK':<{width_name}}  {'PART':<{width_part}}  DETAIL"]
    for c in checks:
        lines.append(
            f"{c.status.upper():<6}  {c.name:<{width_name}}  {c.subject:<{width_part}}  {c.detail}"
        )
        if c.action and c.status != PASS:
            lines.append(f"{pad}-> {c.action}")
    counts = {s: sum(c.status == s for c in checks) for s in (PASS, WARN, FAIL)}
    lines.append(
        f"\n{counts[PASS]} passed, {plural(counts[WARN], 'warning')}, {counts[FAIL]} failed"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import log_as_asked, print_json
    from mailbot.ops.doctor import exit_code, run_checks

    # Doctor reports problems as rows; log lines would only repeat them.
    log_as_asked(args, "CRITICAL")
    checks = run_checks(args.config)
    code = exit_code(checks, strict=args.strict)
    if args.json:
        print_json({"checks": [c.to_dict() for c in checks], "exit_code": code})
    else:
        print(render_table(checks))
    return code
