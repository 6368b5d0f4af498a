"""`mailbot.TextCatBOWNorm.v1`: spaCy's bag-of-n-grams classifier with scaled features.

spaCy's TextCatBOW feeds raw n-gram counts of the token text (ORTH) to a sparse linear layer, so
long texts (stack traces, pasted logs) get large scores and case splits features. This variant
reads another attribute (LOWER by default), can damp counts (`weighting` = count, binary or log:
1 + ln(count)) and can divide each document's vector by its L2 norm (`normalize`), times `scale`.
Everything else (hashing, SparseLinear_v2, softmax, resizing) is as in spacy.TextCatBOW.v3.

`lead_sentences` > 0 adds a second view of the mail's opening: the n-grams of its first sentences
after the subject line (at most `lead_max_tokens` tokens), hashed apart from the same n-grams of
the whole text. In a mail with two asks the dominant one is usually put first, so the model can
learn that a word weighs differently at the start of a mail than anywhere in it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from spacy.attrs import IDS
from spacy.ml.extract_ngrams import extract_ngrams
from spacy.ml.models.textcat import NEG_VALUE, resize_and_set_ref
from spacy.util import registry
from thinc.api import (
    Logistic,
    Model,
    SparseLinear_v2,
    chain,
    resizable,
    softmax_activation,
    with_cpu,
)
from thinc.layers.resizable import resize_linear_weighted

WEIGHTINGS = ("count", "binary", "log")
SENTENCE_ENDS = frozenset(".!?。！？")
LEAD_SALT = np.uint64(0x9E3779B97F4A7C15)  # XORed into a lead n-gram's key: its own feature


def lead_span(doc: Any, sentences: int, max_tokens: int) -> tuple[int, int]:
    """Token offsets of the first `sentences` sentences after the subject line (the text up to
    the first line break), at most `max_tokens` tokens; (0, 0) for an empty text."""
    start = 0
    for token in doc:
        if "\n" in token.text:
            start = token.i + 1
            break
    limit = min(len(doc), start + max_tokens)
    seen = 0
    for i in range(start, limit):
        text = doc[i].text
        if text and text[-1] in SENTENCE_ENDS:
            seen += 1
            if seen >= sentences:
                return start, i + 1
    return start, limit


def extract_ngrams_with_lead(
    ngram_size: int, attr: int, lead_sentences: int, lead_max_tokens: int
) -> Model:
    return Model(
        "extract_ngrams_with_lead",
        _lead_forward,
        attrs={
            "ngram_size": ngram_size,
            "attr": attr,
            "lead_sentences": lead_sentences,
            "lead_max_tokens": lead_max_tokens,
        },
    )


def _ngram_keys(ops: Any, unigrams: Any, ngram_size: int) -> Any:
    grams = [unigrams]
    for n in range(2, ngram_size + 1):
        grams.append(ops.ngrams(n, unigrams))
    return ops.xp.concatenate(grams)


def _lead_forward(model: Model, docs: Any, is_train: bool) -> tuple[Any, Any]:
    ops = model.ops
    size = model.attrs["ngram_size"]
    batch_keys, batch_vals = [], []
    for doc in docs:
        unigrams = ops.asarray(doc.to_array([model.attrs["attr"]]))
        keys = _ngram_keys(ops, unigrams, size)
        start, end = lead_span(doc, model.attrs["lead_sentences"], model.attrs["lead_max_tokens"])
        if end > start:
            lead = _ngram_keys(ops, unigrams[start:end], size) ^ LEAD_SALT
            keys = ops.xp.concatenate([keys, lead])
        keys, vals = ops.xp.unique(keys, return_counts=True)
        batch_keys.append(keys)
        batch_vals.append(vals)
    lengths = ops.asarray([arr.shape[0] for arr in batch_keys], dtype="int32")
    keys = ops.xp.concatenate(batch_keys)
    vals = ops.asarray(ops.xp.concatenate(batch_vals), dtype="f")
    return (keys, vals, lengths), lambda d_output: []


def reweight_ngrams(weighting: str, normalize: bool, scale: float) -> Model:
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {weighting!r}")
    return Model(
        "reweight_ngrams",
        _reweight_forward,
        attrs={"weighting": weighting, "normalize": normalize, "scale": scale},
    )


def _reweight_forward(model: Model, inputs: Any, is_train: bool) -> tuple[Any, Any]:
    keys, vals, lengths = inputs
    vals = np.asarray(vals, dtype="f")
    weighting = model.attrs["weighting"]
    if weighting == "binary":
        vals = np.ones_like(vals)
    elif weighting == "log":
        vals = 1.0 + np.log(vals)
    if model.attrs["normalize"] and len(vals):
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype("int64")
        nonempty = np.asarray(lengths) > 0
        norms = np.ones(len(lengths), dtype="f")
        norms[nonempty] = np.sqrt(np.add.reduceat(vals**2, starts[nonempty]))
        vals = vals / np.repeat(norms, lengths)
    vals = (vals * model.attrs["scale"]).astype("f")
    return (keys, vals, lengths), lambda d_output: d_output


@registry.architectures("mailbot.TextCatBOWNorm.v1")
def build_bow_norm_classifier(
    exclusive_classes: bool,
    ngram_size: int,
    no_output_layer: bool = False,
    length: int = 262144,
    nO: int | None = None,
    attr: str = "LOWER",
    weighting: str = "log",
    normalize: bool = True,
    scale: float = 1.0,
    lead_sentences: int = 0,
    lead_max_tokens: int = 60,
) -> Model:
    if attr not in IDS:
        raise ValueError(f"unknown token attribute {attr!r}")
    length = 2 ** (length - 1).bit_length()
    fill_defaults = {"b": 0, "W": 0}
    output_layer = None
    if not no_output_layer:
        fill_defaults["b"] = NEG_VALUE
        output_layer = softmax_activation() if exclusive_classes else Logistic()
    sparse_linear = SparseLinear_v2(nO=nO, length=length)
    resizable_layer = resizable(
        sparse_linear, resize_layer=partial(resize_linear_weighted, fill_defaults=fill_defaults)
    )
    extract = (
        extract_ngrams_with_lead(ngram_size, IDS[attr], lead_sentences, lead_max_tokens)
        if lead_sentences > 0
        else extract_ngrams(ngram_size, attr=IDS[attr])
    )
    model = chain(
        extract,
        reweight_ngrams(weighting, normalize, scale),
        resizable_layer,
    )
    model = with_cpu(model, model.ops)
    if output_layer:
        model = chain(model, with_cpu(output_layer, output_layer.ops))
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = not exclusive_classes
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model
