"""Triage speed and footprint, and the tokenizer comparison.

python benchmarks/classify.py [--model DIR] [--n 2000]
    model load time, verdicts per second over N parsed emails in one process (batched with
    classify_many and one by one with classify), peak RSS with the model loaded
python benchmarks/classify.py --compare-tokenizers
    trains the shipped config on the bundled corpus with each tokenizer (spaCy "zh" with
    character and with jieba segmentation, "xx", and mailbot's mixed tokenizer) and prints
    dev and held-out macro-F1, tokens per mail, texts per second and model size
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _eml(subject: str, body: str, n: int, extra: str = "") -> bytes:
    head = (
        f"From: Client {n} <client{n}@example.com>\r\nTo: team@agency.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <bench{n}@example.com>\r\n"
        "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n" + extra
    )
    return (head + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def build_messages(n: int) -> list:
    from mailbot.parse import parse_bytes
    from mailbot.triage.data import corpus_dir, read_records

    records = read_records(corpus_dir())
    messages = []
    for i in range(n):
        record = records[i % len(records)]
        extra = "Auto-Submitted: auto-replied\r\n" if i % 20 == 0 else ""
        messages.append(parse_bytes(_eml(record.subject, record.body, i, extra)))
    return messages


def speed(model_dir: Path | None, n: int) -> dict:
    started = time.perf_counter()
    from mailbot.triage.triage import Triage  # with spaCy, which the package imports lazily

    import_s = time.perf_counter() - started
    rss_before = _rss_mb()
    started = time.perf_counter()
    triage = Triage.load(model_dir=model_dir)
    load_s = time.perf_counter() - started
    messages = build_messages(n)
    triage.classify_many(messages[:50])  # warm up
    started = time.perf_counter()
    verdicts = triage.classify_many(messages)
    batched_s = time.perf_counter() - started
    started = time.perf_counter()
    for message in messages:
        triage.classify(message)
    single_s = time.perf_counter() - started
    return {
        "messages": n,
        "import_seconds": round(import_s, 3),
        "load_seconds": round(load_s, 3),
        "verdicts_per_second_batched": round(n / batched_s),
        "verdicts_per_second_one_by_one": round(n / single_s),
        "none_verdicts": sum(v.category == "none" for v in verdicts),
        "peak_rss_mb_before_load": round(rss_before, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "model_version": triage.model_version,
    }


TOKENIZERS = {
    "zh-char": ('lang = "zh"', '@tokenizers = "spacy.zh.ChineseTokenizer"\nsegmenter = "char"'),
    "zh-jieba": ('lang = "zh"', '@tokenizers = "spacy.zh.ChineseTokenizer"\nsegmenter = "jieba"'),
    "xx": ('lang = "xx"', '@tokenizers = "spacy.Tokenizer.v1"'),
    "mixed-char": ('lang = "xx"', '@tokenizers = "mailbot.mixed_tokenizer.v1"\nsegmenter = "char"'),
    "mixed-jieba": (
        'lang = "xx"',
        '@tokenizers = "mailbot.mixed_tokenizer.v1"\nsegmenter = "jieba"',
    ),
}


def compare_tokenizers(names: list[str] | None = None) -> list[dict]:
    from mailbot.triage.data import corpus_dir, read_records
    from mailbot.triage.evaluate import evaluate, select
    from mailbot.triage.model import TriageModel
    from mailbot.triage.train import DEFAULT_CONFIG, train

    records = read_records(corpus_dir())
    base = DEFAULT_CONFIG.read_text()
    rows = []
    for name, (lang, tokenizer) in TOKENIZERS.items():
        if names and name not in names:
            continue
        text = base.replace('lang = "xx"', lang).replace(
            '@tokenizers = "mailbot.mixed_tokenizer.v1"\nsegmenter = "char"', tokenizer
        )
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "triage.cfg"
            config.write_text(text)
            out = Path(tmp) / "model"
            started = time.perf_counter()
            train(records, out, config=config)
            train_s = time.perf_counter() - started
            model = TriageModel.load(out)
            test = select(records, "test")
            texts = [model.prep(r.subject, r.body) for r in test] * 5
            started = time.perf_counter()
            docs = list(model.nlp.pipe(texts))
            per_s = len(texts) / (time.perf_counter() - started)
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            held = evaluate(model, test)
            dev = evaluate(model, select(records, "dev"))
        rows.append(
            {
                "tokenizer": name,
                "dev_macro_f1": round(dev["macro_f1"], 4),
                "test_macro_f1": round(held["macro_f1"], 4),
                "test_by_language": {
                    k: round(v["macro_f1"], 3) for k, v in held["by_language"].items()
                },
                "tokens_per_mail": round(sum(len(d) for d in docs) / len(docs), 1),
                "texts_per_second": round(per_s),
                "train_seconds": round(train_s, 1),
                "model_mb": round(size / 1e6, 2),
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="triage speed, footprint, tokenizers")
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: bundled)")
    parser.add_argument("--n", type=int, default=2000, help="number of parsed emails")
    parser.add_argument("--compare-tokenizers", action="store_true")
    parser.add_argument(
        "--tokenizer", action="append", choices=sorted(TOKENIZERS), help="only these"
    )
    args = parser.parse_args(argv)
    if args.compare_tokenizers:
        compare_tokenizers(args.tokenizer)
        return 0
    print(json.dumps(speed(args.model, args.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
