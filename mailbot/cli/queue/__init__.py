"""The PM's work queue: list, inspect and correct filed items.

Actions are importable functions in `mailbot.items.actions` (the CLI is a thin
layer over them). Each `queue` sub-command is a module `mailbot/cli/queue/cmd_<name>.py`
with `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`, discovered
like the top-level commands: adding a file adds a sub-command.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def subcommands() -> list[ModuleType]:
    """Every `cmd_*` module of this package, in name order."""
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    return modules
