"""Helpers shared by the sub-commands: loading config, logging, the database."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mailbot.config import Config, load_config
from mailbot.logsetup import setup_logging
from mailbot.storage.db import Database, open_database


def load(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging("DEBUG" if getattr(args, "verbose", False) else config.log_level)
    return config


def database(config: Config) -> Database:
    return open_database(config.database_url)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
