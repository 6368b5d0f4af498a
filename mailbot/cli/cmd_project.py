"""`mailbot project`: where a project stands (its status and milestones), set by the PM."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mailbot.cli import global_options

NAME = "project"
HELP = "a project's overall status and milestones: show them, or set them for the weekly report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mailbot.cli.cmd_queue import default_actor

    sub = parser.add_subparsers(dest="project_command", metavar="ACTION", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(
            name, help=help_text, description=help_text, parents=[global_options()]
        )
        cmd.add_argument("key", metavar="KEY", help="the project key, e.g. ACME")
        cmd.add_argument("--json", action="store_true", help="print the result as JSON")
        cmd.add_argument(
            "--actor", default=default_actor(), help="who is acting, for the audit trail"
        )
        return cmd

    action("show", "the project's overall status (and why) and its milestones")
    status = action(
        "status",
        "set the overall status the client reads: on_track, at_risk or delayed; "
        "auto lets the milestones and urgent issues decide again",
    )
    status.add_argument(
        "status",
        metavar="STATUS",
        choices=("on_track", "at_risk", "delayed", "auto"),
        help="on_track, at_risk, delayed or auto",
    )
    status.add_argument("--note", default="", help="one sentence for the client on why")
    milestone = action("milestone", "add a milestone or change its date, status or note")
    milestone.add_argument("name", metavar="NAME", help='the milestone, e.g. "UAT"')
    milestone.add_argument("--due", metavar="DATE", help="its date, YYYY-MM-DD")
    milestone.add_argument(
        "--status",
        choices=("planned", "in_progress", "done", "cancelled"),
        help="planned, in_progress, done or cancelled (cancelled: no longer shown)",
    )
    milestone.add_argument("--note", help="a short note shown with it")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import parse_day, print_json, session_for
    from mailbot.items import progress
    from mailbot.items.actions import ActionError

    today = datetime.now(UTC).date()
    with session_for(args) as (config, session):
        project = config.require_project(args.key, ActionError)
        if args.project_command == "status":
            progress.set_project_status(
                session, config, project.key, args.status, note=args.note, actor=args.actor
            )
        elif args.project_command == "milestone":
            progress.set_milestone(
                session,
                config,
                project.key,
                args.name,
                due=parse_day(args.due, "--due") if args.due else None,
                status=args.status,
                note=args.note,
                actor=args.actor,
                today=today,
            )
        session.flush()
        standing = progress.standing(session, project, today)
        views = progress.milestones(session, project)
    if getattr(args, "json", False):
        print_json(
            {
                "project": project.key,
                "status": standing.status,
                "set_by_pm": standing.by_pm,
                "note": standing.note,
                "reasons": [list(r) for r in standing.reasons],
                "milestones": [
                    {
                        "name": m.name,
                        "due": m.due.isoformat() if m.due else None,
                        "status": m.status,
                        "state": m.state(today),
                        "note": m.note,
                    }
                    for m in views
                ],
            }
        )
        return 0
    who = "set by the PM" if standing.by_pm else "from the milestones and open issues"
    print(f"{project.key} {project.name}: {standing.status.replace('_', ' ')} ({who})")
    if standing.note:
        print(f"  {standing.note}")
    for code, subject in standing.reasons:
        print(f"  - {REASONS.get(code, code)}: {subject}")
    print("milestones:" if views else "no milestones: add one with `mailbot project milestone`")
    for m in views:
        due = m.due.strftime("%d %b %Y") if m.due else "no date"
        note = f"  ({m.note})" if m.note else ""
        print(f"  {due:<12} {m.name:<30} {m.status:<12} {m.state(today).replace('_', ' ')}{note}")
    return 0


REASONS = {
    "milestone_late": "milestone past its date",
    "urgent_issue": "urgent issue open",
    "past_target": "item past its target date",
}
