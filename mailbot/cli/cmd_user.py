"""`mailbot user`: the people who may sign in to the web workspace, and what they may do."""

from __future__ import annotations

import argparse
import getpass
import sys

from mailbot.accounts.users import LANGUAGES, ROLES, UserError
from mailbot.cli.cmd_queue import default_actor
from mailbot.text import plural

NAME = "user"
HELP = "web workspace accounts: add, passwd, set, disable, enable, logout, list"
NAME_HELP = "the sign-in name"


def _password_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="a new account; asks for the password")
    add.add_argument("name", help="the sign-in name, e.g. anna or anna@agency.example")
    add.add_argument("--role", choices=ROLES, required=True, help="admin: every project")
    add.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="KEY",
        help="a project a pm or viewer works on (repeat); TRIAGE: mail not yet filed",
    )
    add.add_argument("--display-name", default="", help="the name shown on pages")
    add.add_argument("--email", help="their address, shown on the users page (optional)")
    add.add_argument("--language", choices=LANGUAGES, default="en", help="of the web pages")
    add.add_argument("--timezone", help="IANA name, e.g. Asia/Shanghai (default: the site's)")
    _password_source(add)
    passwd = sub.add_parser("passwd", help="set a new password (signs the user out everywhere)")
    passwd.add_argument("name", help=NAME_HELP)
    _password_source(passwd)
    change = sub.add_parser("set", help="change role, projects, language or time zone")
    change.add_argument("name", help=NAME_HELP)
    change.add_argument("--role", choices=ROLES, help="admin: every project")
    change.add_argument(
        "--project",
        action="append",
        metavar="KEY",
        help="the projects (replaces the list; repeat for several)",
    )
    change.add_argument("--display-name", help="the name shown on pages")
    change.add_argument("--language", choices=LANGUAGES, help="of the web pages")
    change.add_argument("--timezone", help='IANA name; "" for the site\'s')
    for name, text in (
        ("disable", "no more sign-ins; ends every session at once"),
        ("enable", "may sign in again"),
        ("logout", "end every session of the user (sign out everywhere)"),
    ):
        sub.add_parser(name, help=text).add_argument("name", help=NAME_HELP)
    listing = sub.add_parser("list", help="every account with role and projects")
    listing.add_argument("--json", action="store_true", help="print the accounts as JSON")
    for action in sub.choices.values():
        if action is not listing:
            action.add_argument("--actor", help="who does it (default: your user name)")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password", "pipe it in with --password-stdin")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise UserError("the two passwords differ", "run the command again")
    return first


def run(args: argparse.Namespace) -> int:
    from mailbot.accounts import users
    from mailbot.cli.common import print_json, session_for

    actor = getattr(args, "actor", None) or default_actor()
    password = _read_password(args) if args.action in ("add", "passwd") else ""
    with session_for(args) as (config, session):
        if args.action == "add":
            users.add_user(
                session,
                config,
                args.name,
                password,
                role=args.role,
                projects=args.project,
                display_name=args.display_name,
                email=args.email,
                language=args.language,
                timezone=args.timezone,
                actor=actor,
            )
            print(f"added {args.name.strip().lower()} ({args.role})")
        elif args.action == "passwd":
            users.set_password(session, args.name, password, actor=actor)
            print(f"new password for {args.name}; signed out everywhere")
        elif args.action == "set":
            users.change_user(
                session,
                config,
                args.name,
                actor=actor,
                role=args.role,
                projects=args.project,
                display_name=args.display_name,
                language=args.language,
                timezone=args.timezone,
            )
            print(f"changed {args.name}")
        elif args.action in ("disable", "enable"):
            users.set_disabled(session, args.name, args.action == "disable", actor=actor)
            print(f"{args.name} {args.action}d")
        elif args.action == "logout":
            ended = users.sign_out_everywhere(session, args.name, actor=actor)
            print(f"{args.name}: {plural(ended, 'session')} ended")
        else:
            people = users.list_users(session)
            for p in people:
                row = {
                    "name": p.name,
                    "display_name": p.display_name,
                    "role": p.role,
                    "projects": list(p.projects),
                    "language": p.language,
                    "timezone": p.timezone,
                    "disabled": p.disabled,
                }
                if args.json:
                    print_json(row)
                else:
                    where = (
                        "all projects" if p.is_admin else (", ".join(p.projects) or "no project")
                    )
                    off = "  (disabled)" if p.disabled else ""
                    print(f"{p.name:<24} {p.role:<7} {where}{off}")
            if not people and not args.json:
                print("no users yet: add one with `mailbot user add NAME --role admin`")
    return 0
