"""`mailbot classify`: triage .eml files (or one mail on stdin) and print the verdicts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mailbot.errors import MailbotError, ParseError

NAME = "classify"
HELP = "classify .eml files (or stdin) as issue, change_request, feedback or none"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="*", metavar="FILE.eml", help="mails to classify (default: stdin)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per mail per line")
    parser.add_argument(
        "--explain", action="store_true", help="show every rule hit and miss and the model scores"
    )
    parser.add_argument(
        "--rules", type=Path, metavar="DIR", help="rules directory (default: bundled)"
    )
    parser.add_argument(
        "--model", type=Path, metavar="DIR", help="model directory (default: bundled)"
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="review threshold (default: 0.6)"
    )


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as err:
        raise ParseError(f"{name}: cannot read: {err.strerror}", "check the path") from None


def _explain(name: str, verdict: Any, report: Any) -> str:
    lines = [
        f"{name}: {verdict.category} (confidence {verdict.confidence:.2f}, {verdict.language})"
    ]
    lines.append(f"  model {verdict.model_version}")
    if verdict.needs_review:
        lines.extend(f"  needs review: {reason}" for reason in verdict.review_reasons)
    if verdict.escalate:
        lines.extend(f"  ESCALATE: {reason}" for reason in verdict.escalate_reasons)
    lines.append("  rules:")
    for hit in report.hits:
        what = f"{hit.action} {hit.category} +{hit.weight:g}" if hit.category else hit.action
        lines.append(f"    hit   {hit.rule_id:32} ({what}) {hit.evidence}")
    for rule_id in report.misses:
        lines.append(f"    miss  {rule_id}")
    model = verdict.explanation.get("model")
    if model is None:
        lines.append("  model: not run (noise)")
    else:
        for kind in ("raw", "calibrated"):
            scores = "  ".join(f"{k} {v:.3f}" for k, v in model[kind].items())
            lines.append(f"  model {kind:10} {scores}")
        votes = verdict.explanation.get("rule_votes") or {}
        if votes:
            lines.append("  rule votes " + "  ".join(f"{k} {v:g}" for k, v in votes.items()))
        focus = verdict.explanation.get("focus")
        if focus:
            lines.append(f"  read apart (weight {focus['weight']:g}): {focus['sentence']!r}")
    lines.append(f"  combined as {verdict.explanation['combination']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from mailbot.parse import parse_bytes
    from mailbot.triage import Triage
    from mailbot.triage.mail import Mail
    from mailbot.triage.verdict import DEFAULT_REVIEW_THRESHOLD

    threshold = DEFAULT_REVIEW_THRESHOLD if args.threshold is None else args.threshold
    triage = Triage.load(args.rules, args.model, review_threshold=threshold)
    names = args.files or ["-"]
    failed = 0
    for name in names:
        label = "<stdin>" if name == "-" else name
        try:
            message = parse_bytes(_read(name))
        except MailbotError as err:
            failed += 1
            if args.json:
                print(json.dumps({"file": label, "error": str(err)}, ensure_ascii=False))
            print(f"mailbot: {label}: {err}", file=sys.stderr)
            continue
        verdict = triage.classify(message)
        if args.json:
            print(json.dumps({"file": label, **verdict.to_dict()}, ensure_ascii=False))
        elif args.explain:
            print(_explain(label, verdict, triage.explain_rules(Mail.from_message(message))))
        else:
            flags = (" review" if verdict.needs_review else "") + (
                " ESCALATE" if verdict.escalate else ""
            )
            print(
                f"{label}\t{verdict.category}\t{verdict.confidence:.2f}\t{verdict.language}{flags}"
            )
    return 1 if failed else 0
