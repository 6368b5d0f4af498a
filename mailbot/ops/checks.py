"""One line of a health report, shared by `mailbot doctor` and the daemon's own checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str  # what was checked, e.g. "imap login"
    subject: str  # which part: a mailbox name, "smtp", "database", ...
    status: str  # PASS, WARN or FAIL
    detail: str
    action: str = ""  # what to do, for WARN and FAIL

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def ago(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
