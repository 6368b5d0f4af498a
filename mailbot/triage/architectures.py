"""`mailbot.TextCatBOWNorm.v1`: spaCy's bag-of-n-grams classifier with scaled features.

spaCy's TextCatBOW feeds raw n-gram counts of the token text (ORTH) to a sparse linear layer, so
long texts (stack traces, pasted logs) get large scores and case splits features. This variant
reads another attribute (LOWER by default), can damp counts (`weighting` = count, binary or log:
1 + ln(count)) and can divide each document's vector by its L2 norm (`normalize`), times `scale`.
Everything else (hashing, SparseLinear_v2, softmax, resizing) is as in spacy.TextCatBOW.v3.
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
    model = chain(
        extract_ngrams(ngram_size, attr=IDS[attr]),
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
