"""Train a triage model through spaCy's config-driven training, then calibrate it.

    train(records, out_dir) -> TrainResult

1. records are split by the stable hash of their id (mailbot.triage.data): the test split is held
   out (unless holdout=False), the dev split is used for early stopping and calibration;
2. texts are prepared (`prep`, see textprep.py) and written as DocBin files;
3. `spacy.cli.train.train` runs the config (default: configs/triage.cfg);
4. the best model is calibrated on the dev split (temperature and rule weight, calibration.py),
   named, and written to out_dir with its calibration.json.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import spacy
from spacy.tokens import DocBin
from spacy.util import load_config, load_model_from_config

import mailbot.triage.architectures
import mailbot.triage.tokenizer  # noqa: F401  (registers mailbot.mixed_tokenizer.v1)
from mailbot.errors import ModelError
from mailbot.triage import calibration
from mailbot.triage.data import Record, split_of
from mailbot.triage.evaluate import metrics
from mailbot.triage.mail import Mail
from mailbot.triage.model import TriageModel, votes_matrix
from mailbot.triage.textprep import model_inputs

log = logging.getLogger("mailbot.triage")

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "triage.cfg"
MODEL_NAME = "mailbot_triage"
MIN_DEV = 1


@dataclass
class TrainResult:
    out_dir: Path
    labels: tuple[str, ...]
    sizes: dict[str, int]
    dev_macro_f1: float
    calibration: calibration.Calibration
    seconds: float
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        sizes = ", ".join(f"{k} {v}" for k, v in self.sizes.items())
        cal = self.calibration
        return (
            f"trained {self.out_dir} in {self.seconds:.1f}s; labels {', '.join(self.labels)}; "
            f"{sizes}; "
            f"dev macro-F1 {self.dev_macro_f1:.3f}; temperature {cal.temperature}, "
            f"rule weight {cal.rule_scale}"
        )


def _partition(records: Sequence[Record], holdout: bool) -> tuple[list[Record], list[Record], int]:
    train, dev, held = [], [], 0
    for record in records:
        part = split_of(record.id)
        if part == "test" and holdout:
            held += 1
        elif part == "dev":
            dev.append(record)
        else:
            train.append(record)
    if len(dev) < MIN_DEV:  # tiny data: borrow every fifth training record for early stopping
        dev = train[::5] or train[:1]
    return train, dev, held


def _docbin(
    nlp: spacy.Language, texts: Sequence[str], labels: Sequence[str], all_labels: Sequence[str]
) -> DocBin:
    bin_ = DocBin(store_user_data=False)
    for text, label in zip(texts, labels, strict=True):
        doc = nlp.make_doc(text)
        doc.cats = {name: 1.0 if name == label else 0.0 for name in all_labels}
        bin_.add(doc)
    return bin_


def _check_out_dir(out_dir: Path) -> None:
    """Refuse to replace a non-empty directory that is not a model (before any work is done)."""
    if out_dir.exists():
        is_model = (out_dir / "meta.json").exists() or (out_dir / "config.cfg").exists()
        if not out_dir.is_dir() or (any(out_dir.iterdir()) and not is_model):
            raise ModelError(
                f"{out_dir}: exists and is not a model directory", "choose an empty or new --out"
            )


def _prepare_out_dir(out_dir: Path) -> None:
    _check_out_dir(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)


def _read_by_rules(
    rules: Any, model: TriageModel, mails: Sequence[Mail] | None, texts: Sequence[str]
) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's raw scores on `texts` with each marked sentence's reading blended in, and
    the rules' category votes in `labels` order (None: no rules), on each record's Mail, or
    on its model text when the preparation is not "email"."""
    raw = model.scores(texts)
    if rules is None or not set(model.labels) & {"issue", "change_request", "feedback"}:
        return raw, None
    mails = mails if mails is not None else [Mail(subject="", text=t) for t in texts]
    reports = [rules.run(mail) for mail in mails]
    return model.with_focus(raw, reports), votes_matrix([r.votes() for r in reports], model.labels)


def train(
    records: Sequence[Record],
    out_dir: Path,
    *,
    labels: Sequence[str] | None = None,
    config: Path | None = None,
    prep: Mapping[str, Any] | str = "email",
    holdout: bool = True,
    overrides: Mapping[str, Any] | None = None,
    rules: Any = None,
    version: str = "1.0.0",
    seed: int = 0,
    pick: str = "best",
    quiet: bool = True,
    calibrate_on: Sequence[Record] | None = None,
) -> TrainResult:
    """Train on `records`; `rules` (a RuleSet) lets calibration weigh the rules' category votes.

    `calibrate_on`: labelled records from outside the training data (the independent dev set)
    to fit the confidence and the rules' weight on, instead of the corpus's own dev split.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    config = Path(config) if config is not None else DEFAULT_CONFIG
    if not config.exists():
        raise ModelError(f"{config}: no such config", "pass --config with a spaCy training config")
    prep_spec = {"name": prep} if isinstance(prep, str) else dict(prep)

    wanted = tuple(labels) if labels else tuple(sorted({r.label for r in records}))
    dropped = Counter(r.label for r in records if r.label not in wanted)
    records = [r for r in records if r.label in wanted]
    if len(wanted) < 2:
        raise ModelError(f"need at least two labels, got {list(wanted)}", "check the data's labels")
    train_set, dev_set, held = _partition(records, holdout)
    missing = [label for label in wanted if not any(r.label == label for r in train_set)]
    if missing:
        raise ModelError(f"no training records for {missing}", "add examples or drop those labels")

    all_overrides: dict[str, Any] = {"system.seed": seed}
    all_overrides.update(overrides or {})
    with tempfile.TemporaryDirectory(prefix="mailbot-train-") as tmp_name:
        tmp = Path(tmp_name)
        cfg = load_config(
            config,
            overrides={k: v for k, v in all_overrides.items() if not k.startswith("paths.")},
            interpolate=False,
        )
        maker = load_model_from_config(cfg, auto_fill=True, validate=False)
        train_texts, _ = model_inputs(prep_spec, train_set)
        dev_texts, dev_mails = model_inputs(prep_spec, dev_set)
        _docbin(maker, train_texts, [r.label for r in train_set], wanted).to_disk(
            tmp / "train.spacy"
        )
        _docbin(maker, dev_texts, [r.label for r in dev_set], wanted).to_disk(tmp / "dev.spacy")
        all_overrides.update(
            {"paths.train": str(tmp / "train.spacy"), "paths.dev": str(tmp / "dev.spacy")}
        )

        from spacy.cli.train import train as spacy_train

        sink = io.StringIO()
        with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
            spacy_train(config, tmp / "out", use_gpu=-1, overrides=all_overrides)
        if pick not in ("best", "last"):
            raise ValueError("pick must be 'best' (dev score) or 'last'")
        best = tmp / "out" / f"model-{pick}"

        nlp = spacy.load(best)
        nlp.meta.update(
            {
                "name": MODEL_NAME,
                "version": version,
                "description": "mailbot triage classifier (spaCy textcat) with calibration.json",
                "lang": nlp.lang,
            }
        )
        _prepare_out_dir(out_dir)
        nlp.to_disk(out_dir)

    model = TriageModel.load(out_dir)
    index = {label: i for i, label in enumerate(model.labels)}
    gold = np.asarray([index[r.label] for r in dev_set])
    raw, votes = _read_by_rules(rules, model, dev_mails, dev_texts)
    cal_on = "the dev split"
    if calibrate_on:
        # Confidence fitted on mail the model has not learnt the style of: on its own dev split
        # a model is surer than it will be on clients' mail.
        outside = [r for r in calibrate_on if r.label in index]
        outside_texts, outside_mails = model_inputs(prep_spec, outside)
        outside_raw, outside_votes = _read_by_rules(rules, model, outside_mails, outside_texts)
        outside_gold = np.asarray([index[r.label] for r in outside])
        cal = calibration.fit(outside_raw, outside_gold, outside_votes)
        cal_on = f"{len(outside)} records given with --calibrate-on"
    else:
        cal = calibration.fit(raw, gold, votes)
    cal.save(out_dir)
    dev_f1 = metrics(gold, cal.apply(raw, votes).argmax(axis=1), model.labels)["macro_f1"]
    sizes = {"train": len(train_set), "dev": len(dev_set), "held_out": held}
    model.nlp.meta["mailbot"] = {
        "prep": prep_spec,
        "labels": list(model.labels),
        "sizes": sizes,
        "dev_macro_f1": round(dev_f1, 4),
        "config": config.name,
        "calibrated_on": cal_on,
        "picked": pick,
        "overrides": {k: v for k, v in all_overrides.items() if not k.startswith("paths.")},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "split": "sha1(id) % 5 == 0 held out; (sha1(id) // 5) % 6 == 0 dev"
        if holdout
        else "no holdout",
    }
    model.nlp.meta.pop("performance", None)
    (out_dir / "meta.json").write_text(
        json.dumps(model.nlp.meta, indent=2, ensure_ascii=False) + "\n"
    )
    return TrainResult(
        out_dir, model.labels, sizes, dev_f1, cal, time.perf_counter() - started, dict(dropped)
    )
