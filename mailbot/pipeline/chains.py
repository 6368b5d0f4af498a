"""Chains: the order of a stage's decisions, as data (`rules/pipeline/chains.toml`).

Like Mailman's chains, a chain is a list of named links; each link is a small check with
one job that returns whether it decided and why. The engine runs them in order, records
every link it ran (name, matched, reason) and stops at the first that decides, so each
decision carries its whole explanation. The file names the links; the code provides them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

from mailbot.errors import ConfigError
from mailbot.resources import rules_dir

T = TypeVar("T")
CHAIN_NAMES = ("route", "file", "answer")
CHAIN_KEYS = {"route": "steps", "file": "hooks", "answer": "checks"}


@dataclass(frozen=True, slots=True)
class Link:
    """What one link of a chain found: did it decide, and why."""

    name: str
    matched: bool
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A link's answer: `decision` is None when the link let the mail pass on."""

    decision: T | None
    reason: str


def run_chain(
    links: Sequence[tuple[str, Callable[[], Outcome[T]]]],
) -> tuple[T | None, list[Link]]:
    """Run links in order until one decides; returns the decision and every link run."""
    record: list[Link] = []
    for name, check in links:
        outcome = check()
        record.append(Link(name, outcome.decision is not None, outcome.reason))
        if outcome.decision is not None:
            return outcome.decision, record
    return None, record


def chains_path() -> Path:
    return rules_dir() / "pipeline" / "chains.toml"


@cache
def load_chains(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The link names of every chain, as the file lists them."""
    path = path or chains_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(
            f"{path}: cannot read the pipeline chains: {err}",
            "fix the file; the shipped version is rules/pipeline/chains.toml",
        ) from None
    chains: dict[str, tuple[str, ...]] = {}
    for chain in CHAIN_NAMES:
        names = data.get(chain, {}).get(CHAIN_KEYS[chain])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"{path}: [{chain}] {CHAIN_KEYS[chain]} must be a list of names",
                "see the shipped rules/pipeline/chains.toml",
            )
        chains[chain] = tuple(names)
    return chains


def checked(
    path: Path | None, chain: str, names: Sequence[str], known: Mapping[str, object]
) -> tuple[str, ...]:
    """`names` if each is a known link and none repeats; else an error naming the link."""
    seen: set[str] = set()
    for name in names:
        if name not in known:
            raise ConfigError(
                f"{path or chains_path()}: [{chain}] names an unknown link {name!r}",
                f"use some of: {', '.join(sorted(known))}",
            )
        if name in seen:
            raise ConfigError(
                f"{path or chains_path()}: [{chain}] names {name!r} twice",
                "list each link once",
            )
        seen.add(name)
    return tuple(names)
