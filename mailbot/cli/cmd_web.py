"""`mailbot web`: the PMs' workspace in the browser (see docs/web.md)."""

from __future__ import annotations

import argparse

NAME = "web"
HELP = "serve the web workspace (127.0.0.1:8025 by default; put a reverse proxy in front)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (default web.host: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default web.port: 8025)")
    parser.add_argument(
        "--root-path", help='URL prefix behind the proxy, e.g. "/mailbot" (default web.root_path)'
    )


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import load
    from mailbot.web.server import serve

    config = load(args)
    serve(config, host=args.host, port=args.port, root_path=args.root_path)
    return 0
