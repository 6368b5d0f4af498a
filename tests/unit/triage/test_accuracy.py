"""Floors under the whole triage decision of the shipped model (noise rules, model, cue rules,
thresholds), measured as the daemon decides:

- the held-out split of the corpus (`sha1(id) % 5 == 0`), never trained on;
- the independent dev set (data/dev), written apart from the corpus, never trained on (the
  model's settings and its calibration were chosen on it);
- the blind set (tests/fixtures/triage_blind), written apart from both and used for nothing else.

The floors sit a little below what the shipped model measures (BENCHMARKS.md); a change that
makes triage worse fails here. Retrain as docs/triage.md says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailbot.triage.assess import assess
from mailbot.triage.data import corpus_dir, dev_dir, read_records
from mailbot.triage.evaluate import select

pytestmark = pytest.mark.no_database

BLIND = Path(__file__).resolve().parents[2] / "fixtures" / "triage_blind" / "mails.jsonl"

# Measured with mailbot_triage-2.2.0 (BENCHMARKS.md): held-out 0.957 (en 0.951, zh-Hans 0.970,
# zh-Hant 0.948, mixed 0.955; lowest family two_asks 0.832; noise recall 0.926; ECE 0.016);
# dev, with 731 mails written by hand by three writers apart, 0.967 (en 0.965, mixed 0.956,
# zh-Hans 0.986, zh-Hant 0.953; lowest family two_asks 0.932; noise recall 0.970; ECE 0.008);
# blind 0.946 (en 0.909, mixed 1.000 on 20, zh-Hans 0.985, zh-Hant 0.956; lowest family
# two_asks 0.880; noise recall 0.917; ECE 0.019). Families are floored by accuracy: a family
# with one gold category has a macro-F1 that says little. The dev set's noise recall is floored
# at 0.95, what the dev set is to show.
FLOORS: dict[str, dict[str, Any]] = {
    "held-out": {
        "macro_f1": 0.95,
        "language": {"en": 0.94, "zh-Hans": 0.94, "zh-Hant": 0.93, "mixed": 0.93},
        "family": 0.81,
        "noise_recall": 0.92,
        "ece": 0.03,
    },
    "dev": {
        "macro_f1": 0.95,
        "language": {"en": 0.95, "zh-Hans": 0.96, "zh-Hant": 0.94, "mixed": 0.91},
        "family": 0.91,
        "noise_recall": 0.95,
        "ece": 0.03,
    },
    "blind": {
        "macro_f1": 0.93,
        "language": {"en": 0.90, "zh-Hans": 0.95, "zh-Hant": 0.95, "mixed": 0.90},
        "family": 0.85,
        "noise_recall": 0.89,
        "ece": 0.05,
    },
}
MIN_GROUP = 15  # smaller groups are reported, not floored: one mail would move them too much


def _records(name: str) -> list:
    if name == "held-out":
        return select(read_records(corpus_dir()), "test")
    if name == "dev":
        return read_records(dev_dir())
    return read_records(BLIND)


@pytest.fixture(scope="module", params=sorted(FLOORS))
def measured(request, triage) -> tuple[str, dict[str, Any]]:
    name = request.param
    records = _records(name)
    assert len(records) >= 200, f"the {name} set is too small to measure"
    return name, assess(triage, records)


def test_macro_f1(measured) -> None:
    name, result = measured
    assert result["macro_f1"] >= FLOORS[name]["macro_f1"], result["per_class"]


def test_each_language(measured) -> None:
    name, result = measured
    low = {
        lang: round(sub["macro_f1"], 3)
        for lang, sub in result["by_language"].items()
        if lang in FLOORS[name]["language"]
        and sub["n"] >= MIN_GROUP
        and sub["macro_f1"] < FLOORS[name]["language"][lang]
    }
    assert not low, f"{name}: below the floor by language: {low}"


def test_each_family(measured) -> None:
    name, result = measured
    floor = FLOORS[name]["family"]
    low = {
        family: round(sub["accuracy"], 3)
        for family, sub in result["by_family"].items()
        if sub["n"] >= MIN_GROUP and sub["accuracy"] < floor
    }
    assert not low, f"{name}: families below accuracy {floor}: {low}"


def test_noise_is_caught_and_no_client_mail_is_called_noise(measured) -> None:
    name, result = measured
    assert result["noise_recall"] >= FLOORS[name]["noise_recall"]
    assert result["client_called_noise"] == 0, [
        e for e in result["errors"] if e["predicted"] == "none"
    ]


def test_confidence_is_calibrated(measured) -> None:
    name, result = measured
    assert result["ece"] <= FLOORS[name]["ece"]


def test_model_never_trained_on_the_held_out_split(triage) -> None:
    sizes = triage.model.meta["mailbot"]["sizes"]
    assert sizes["held_out"] > 0
    assert sizes["held_out"] <= len(select(read_records(corpus_dir()), "test"))
