"""What the rules found in one mail: their hits and misses (no spaCy needed to read it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Hit", "RuleReport"]


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: str
    action: str
    weight: float
    category: str | None
    evidence: str  # what matched, for --explain
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "action": self.action,
            "weight": self.weight,
            "category": self.category,
            "evidence": self.evidence,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class RuleReport:
    hits: tuple[Hit, ...]
    misses: tuple[str, ...]  # ids of rules that ran and did not fire
    # What a focus rule marked as the main ask (its sentence), or what is left when an aside
    # rule marked a secondary one (the mail without it), and how much the model's reading of
    # it counts beside its reading of the whole mail (0: not at all, 1: it alone).
    focus: str = ""
    focus_weight: float = 0.0

    def by_action(self, action: str) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.action == action)

    @property
    def noise(self) -> bool:
        return any(h.action == "noise" for h in self.hits)

    def votes(self) -> dict[str, float]:
        """Summed weights of the `vote` hits, per category."""
        totals: dict[str, float] = {}
        for hit in self.by_action("vote"):
            assert hit.category is not None
            totals[hit.category] = totals.get(hit.category, 0.0) + hit.weight
        return totals
