"""Triage: classify a client mail as issue, change_request, feedback or none (noise).

from mailbot.triage import Triage, Verdict
triage = Triage.load()                  # bundled rules/ and models/triage/
verdict = triage.classify(message)      # a mailbot.message.Message

`Triage` is imported on first use: it brings spaCy (over half a second), which a command
that only reads verdicts (`mailbot queue`, the web workspace) need not wait for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailbot.triage.verdict import Verdict

if TYPE_CHECKING:
    from mailbot.triage.triage import Triage

__all__ = ["Triage", "Verdict"]


def __getattr__(name: str) -> Any:
    if name == "Triage":
        from mailbot.triage.triage import Triage

        return Triage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
