"""Filing hooks: small policies that run after a message is filed.

Each module here defines `make_hook(config) -> FilingHook | None` (None: off
for this configuration). They run in module-name order, inside the filing
transaction, and each returns a note for the audit trail.
"""

from __future__ import annotations

import importlib
import pkgutil

from mailbot.config import Config
from mailbot.pipeline.file import FilingHook


def default_hooks(config: Config) -> list[FilingHook]:
    hooks: list[FilingHook] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        hook = module.make_hook(config)
        if hook is not None:
            hooks.append(hook)
    return hooks
