from __future__ import annotations

import numpy as np
import pytest
from thinc.api import Config

from mailbot.triage.architectures import build_bow_norm_classifier, reweight_ngrams
from mailbot.triage.tokenizer import blank_nlp

pytestmark = pytest.mark.no_database


def _run(weighting, normalize, scale=1.0):
    layer = reweight_ngrams(weighting, normalize, scale)
    keys = np.asarray([1, 2, 3, 4], dtype="uint64")
    vals = np.asarray([1.0, 3.0, 2.0, 2.0], dtype="f")
    lengths = np.asarray([2, 0, 2], dtype="int32")
    (_, out, _), _ = layer((keys, vals, lengths), is_train=False)
    return out


def test_weightings():
    np.testing.assert_allclose(_run("count", False), [1, 3, 2, 2])
    np.testing.assert_allclose(_run("binary", False), [1, 1, 1, 1])
    np.testing.assert_allclose(
        _run("log", False), [1, 1 + np.log(3), 1 + np.log(2), 1 + np.log(2)], rtol=1e-6
    )


def test_each_document_is_l2_normalised_and_scaled():
    out = _run("count", True, scale=4.0)
    assert np.linalg.norm(out[:2]) == pytest.approx(4.0)
    assert np.linalg.norm(out[2:]) == pytest.approx(4.0)


def test_bad_settings():
    with pytest.raises(ValueError, match="weighting"):
        reweight_ngrams("tfidf", True, 1.0)
    with pytest.raises(ValueError, match="attribute"):
        build_bow_norm_classifier(True, 2, attr="COLOUR")


def test_predicts_a_distribution_over_labels():
    nlp = blank_nlp()
    config = Config().from_str(
        """
        [model]
        @architectures = "mailbot.TextCatBOWNorm.v1"
        exclusive_classes = true
        ngram_size = 2
        length = 4096
        scale = 8.0
        """
    )
    textcat = nlp.add_pipe("textcat", config=config)
    for label in ("a", "b"):
        textcat.add_label(label)
    nlp.initialize()
    doc = nlp("系统无法登录 please fix")
    assert set(doc.cats) == {"a", "b"}
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)
