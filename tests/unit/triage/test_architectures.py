from __future__ import annotations

import numpy as np
import pytest
from spacy.attrs import LOWER
from thinc.api import Config

from mailbot.triage.architectures import (
    LEAD_SALT,
    build_bow_norm_classifier,
    extract_ngrams_with_lead,
    lead_span,
    reweight_ngrams,
)
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


def _two_label_pipeline(setting: str):
    """A blank pipeline with a two-label textcat of our architecture and one extra setting."""
    nlp = blank_nlp()
    config = Config().from_str(
        f"""
        [model]
        @architectures = "mailbot.TextCatBOWNorm.v1"
        exclusive_classes = true
        ngram_size = 2
        length = 4096
        {setting}
        """
    )
    textcat = nlp.add_pipe("textcat", config=config)
    for label in ("a", "b"):
        textcat.add_label(label)
    nlp.initialize()
    return nlp


def test_predicts_a_distribution_over_labels():
    nlp = _two_label_pipeline("scale = 8.0")
    doc = nlp("系统无法登录 please fix")
    assert set(doc.cats) == {"a", "b"}
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("text", "sentences", "lead"),
    [
        (
            "Two things\nHi Jo,\n\nLogin fails. Also add a button. Thanks!",
            1,
            "Hi Jo,\n\nLogin fails.",
        ),
        (
            "Two things\nHi Jo,\n\nLogin fails. Also add a button. Thanks!",
            2,
            "Hi Jo,\n\nLogin fails. Also add a button.",
        ),
        ("两件事\n登录不了！另外加个按钮。谢谢", 1, "登录不了！"),
        ("no subject line. second sentence.", 1, "no subject line."),
        ("subject only\n", 1, ""),
    ],
)
def test_the_lead_is_the_first_sentences_after_the_subject(text, sentences, lead):
    doc = blank_nlp()(text)
    start, end = lead_span(doc, sentences, max_tokens=60)
    assert doc[start:end].text == lead


def test_the_lead_stops_at_max_tokens():
    doc = blank_nlp()("s\n" + "word " * 100 + ".")
    start, end = lead_span(doc, 2, max_tokens=10)
    assert end - start == 10


def test_lead_ngrams_are_features_of_their_own():
    doc = blank_nlp()("Subject\nLogin fails. Please add a button.")
    with_lead = extract_ngrams_with_lead(1, LOWER, 1, 60)
    (keys, vals, lengths), _ = with_lead([doc], is_train=False)
    lower = {t.lower for t in doc}
    lead = {t.lower ^ int(LEAD_SALT) for t in doc[2:5]}  # "Login fails ."
    assert set(int(k) for k in keys) == lower | lead
    assert int(lengths[0]) == len(lower | lead)
    assert vals.sum() == len(doc) + 3


def test_a_model_with_a_lead_view_predicts():
    nlp = _two_label_pipeline("lead_sentences = 1")
    doc = nlp("主题\n系统无法登录。please fix")
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)
