from __future__ import annotations

import numpy as np
import pytest

from mailbot.triage import calibration

pytestmark = pytest.mark.no_database


def _overconfident(n=600, seed=1):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), gold] += 1.0
    probs = calibration.softmax(logits * 4.0)  # far too sharp
    return probs, gold


def test_temperature_fit_lowers_nll_and_ece():
    probs, gold = _overconfident()
    cal = calibration.fit(probs, gold)
    fitted = cal.apply(probs)
    assert cal.temperature > 1.5
    assert calibration.nll(fitted, gold) < calibration.nll(probs, gold)
    assert calibration.ece(fitted, gold) < calibration.ece(probs, gold) / 2


def test_apply_keeps_ranking_without_votes():
    probs, _ = _overconfident(50)
    cal = calibration.Calibration(temperature=2.0)
    assert (cal.apply(probs).argmax(axis=1) == probs.argmax(axis=1)).all()
    np.testing.assert_allclose(cal.apply(probs).sum(axis=1), 1.0)


def test_votes_move_probability():
    probs = np.asarray([[0.5, 0.3, 0.2]])
    votes = np.asarray([[0.0, 2.0, 0.0]])
    cal = calibration.Calibration(temperature=1.0, rule_scale=1.0)
    assert cal.apply(probs, votes).argmax() == 1


def test_ece_of_perfect_and_wrong_predictions():
    gold = np.asarray([0, 1, 2])
    assert calibration.ece(np.eye(3), gold) == 0.0
    assert calibration.ece(np.eye(3)[[1, 2, 0]], gold) == 1.0


def test_save_load(tmp_path):
    cal = calibration.Calibration(temperature=0.7, rule_scale=0.5, dev_size=3)
    cal.save(tmp_path)
    assert calibration.Calibration.load(tmp_path) == cal
    assert calibration.Calibration.load(tmp_path / "none") == calibration.Calibration()
