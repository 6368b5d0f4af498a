"""Filing hooks: small policies that run after a message is filed.

Each module here defines `make_hook(config) -> FilingHook | None` (None: off for this
configuration). They run in the order `rules/pipeline/chains.toml` lists under
`[file] hooks`, inside the filing transaction, and each returns a note for the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mailbot.config import Config
from mailbot.pipeline.chains import checked, load_chains
from mailbot.pipeline.file import FilingHook
from mailbot.pipeline.hooks import change_control, connectors, escalation, sla, spam_filter

HOOKS: dict[str, Callable[[Config], FilingHook | None]] = {
    "change_control": change_control.make_hook,
    "connectors": connectors.make_hook,
    "escalation": escalation.make_hook,
    "sla": sla.make_hook,
    "spam_filter": spam_filter.make_hook,
}


def default_hooks(config: Config, chains: Path | None = None) -> list[FilingHook]:
    """The filing hooks that are on, in the order the chains file lists them."""
    names = checked(chains, "file", load_chains(chains)["file"], HOOKS)
    return [hook for name in names if (hook := HOOKS[name](config)) is not None]
