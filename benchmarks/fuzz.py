"""Fuzzing `parse_bytes` at volume: the slowest and the largest mails of a long Hypothesis run.

Draws N mails from the suite's strategies (tests/fuzz/mail_strategies.py): most are broken
MIME trees with header soup (`mails()`), the rest runs of hostile text grown to 100 KB
(`grown_mails()`). Each is parsed in this process and timed. Prints how many were read, refused
with an explanation or escaped with an unexpected exception (none should), the time per mail
by size, and the slowest and largest inputs, as a Markdown section for BENCHMARKS.md.

    nice -n 10 .venv/bin/python benchmarks/fuzz.py [--n 100000] [--grown-share 0.1]
        [--max-minutes 90] [--save-slowest DIR]

`--max-minutes` stops a run early on a busy machine; the report says how many mails it drew.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import heapq
import platform
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mailbot.errors import MailbotError  # noqa: E402
from mailbot.parse import parse_bytes  # noqa: E402
from tests.fuzz.mail_strategies import grown_mails, mails  # noqa: E402

CHUNK = 500  # examples per Hypothesis run; each run draws with a fresh seed
KEEP = 10  # slowest and largest inputs reported


@dataclass(order=True)
class Sample:
    """One timed mail (ordered by the key the heap keeps)."""

    key: float
    seconds: float = field(compare=False)
    size: int = field(compare=False)
    shape: str = field(compare=False)
    outcome: str = field(compare=False)
    data: bytes = field(compare=False, repr=False)


@dataclass
class Tally:
    """Everything the run measured."""

    drawn: int = 0
    read: int = 0
    refused: int = 0
    escaped: list[str] = field(default_factory=list)
    total_seconds: float = 0.0
    slowest: list[Sample] = field(default_factory=list)
    largest: list[Sample] = field(default_factory=list)
    by_size: dict[str, list[float]] = field(default_factory=dict)

    def record(self, shape: str, data: bytes) -> None:
        started = time.perf_counter()
        try:
            message = parse_bytes(data)
            if not isinstance(message.new_text, str):
                raise TypeError("new_text is not text")
            message.new_text.encode("utf-8")  # valid Unicode: no lone surrogates
            outcome = "read"
            self.read += 1
        except MailbotError:
            outcome = "refused"
            self.refused += 1
        except Exception:  # the finding this run exists for
            outcome = "escaped"
            self.escaped.append(f"{shape} ({len(data)} bytes): {traceback.format_exc(limit=3)}")
        seconds = time.perf_counter() - started
        self.drawn += 1
        self.total_seconds += seconds
        self.by_size.setdefault(_size_band(len(data)), []).append(seconds)
        for heap, key in ((self.slowest, seconds), (self.largest, float(len(data)))):
            if any(kept.data == data for kept in heap):
                continue  # Hypothesis draws some mails more than once: report each once
            sample = Sample(key, seconds, len(data), shape, outcome, data)
            if len(heap) < KEEP:
                heapq.heappush(heap, sample)
            else:
                heapq.heappushpop(heap, sample)


BANDS = ((1_000, "< 1 KB"), (10_000, "1–10 KB"), (50_000, "10–50 KB"), (10**12, "≥ 50 KB"))


def _size_band(size: int) -> str:
    return next(name for limit, name in BANDS if size < limit)


def _draw(tally: Tally, strategy: st.SearchStrategy[tuple[str, bytes]], count: int) -> None:
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(drawn: tuple[str, bytes]) -> None:
        tally.record(*drawn)

    run()


def _mixed(grown_share: float) -> st.SearchStrategy[tuple[str, bytes]]:
    tree = mails().map(lambda data: ("mime tree", data))
    grown = grown_mails().map(lambda g: (f"grown {g[0]}", g[2]))
    return st.floats(0, 1).flatmap(lambda r: grown if r < grown_share else tree)


def _best_of(runs: int, data: bytes) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # counted in the run; here only the time matters
            parse_bytes(data)
        best = min(best, time.perf_counter() - started)
    return best


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(tally: Tally, wanted: int, minutes: float) -> str:
    lines = [
        f"## Fuzzing the parser (`benchmarks/fuzz.py`, {tally.drawn:,} mails"
        + (f" of {wanted:,} asked for" if tally.drawn < wanted else "")
        + ")",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}: {platform.machine()}, 2 cores shared with "
        f"other work, Python {platform.python_version()}, under `nice -n 10`; "
        f"{minutes:.0f} minutes in all "
        "(most of it Hypothesis drawing the mails). Each mail parsed in process by `parse_bytes`.",
        "",
        f"- read: {tally.read:,}; refused with an explanation: {tally.refused:,}; "
        f"unexpected exceptions: {len(tally.escaped)}",
        f"- parse time, all mails: {tally.total_seconds:.0f} s, "
        f"mean {_ms(tally.total_seconds / max(1, tally.drawn))}",
        "",
        "| size | mails | median | p99 | max |",
        "|---|---|---|---|---|",
    ]
    for _, band in BANDS:
        times = sorted(tally.by_size.get(band, []))
        if not times:
            continue
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        lines.append(
            f"| {band} | {len(times):,} | {_ms(statistics.median(times))} | {_ms(p99)} "
            f"| {_ms(times[-1])} |"
        )
    for title, heap in (("Slowest", tally.slowest), ("Largest", tally.largest)):
        lines += [
            "",
            f"{title} inputs (again: the best of five parses, once the run is over; a busy "
            "machine stalls single parses):",
            "",
            "| shape | size | time in the run | again | outcome | sha256 |",
            "|---|---|---|---|---|---|",
        ]
        for s in sorted(heap, reverse=True):
            digest = hashlib.sha256(s.data).hexdigest()[:12]
            again = _ms(_best_of(5, s.data))
            lines.append(
                f"| {s.shape} | {s.size:,} B | {_ms(s.seconds)} | {again} | {s.outcome} "
                f"| {digest} |"
            )
    if tally.escaped:
        lines += ["", "Unexpected exceptions:", "", "```", *tally.escaped[:5], "```"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="mails to draw")
    parser.add_argument("--grown-share", type=float, default=0.1, help="share of grown mails")
    parser.add_argument("--max-minutes", type=float, default=90.0, help="stop early after this")
    parser.add_argument("--save-slowest", type=Path, help="write the slowest inputs here")
    args = parser.parse_args()
    tally = Tally()
    strategy = _mixed(args.grown_share)
    started = time.monotonic()
    while tally.drawn < args.n and time.monotonic() - started < args.max_minutes * 60:
        _draw(tally, strategy, min(CHUNK, args.n - tally.drawn))
        print(
            f"{tally.drawn:,} mails, {time.monotonic() - started:.0f} s, "
            f"slowest {_ms(max(s.seconds for s in tally.slowest))}",
            file=sys.stderr,
            flush=True,
        )
    minutes = (time.monotonic() - started) / 60
    print(report(tally, args.n, minutes))
    if args.save_slowest:
        args.save_slowest.mkdir(parents=True, exist_ok=True)
        for s in tally.slowest:
            digest = hashlib.sha256(s.data).hexdigest()[:12]
            (args.save_slowest / f"{digest}.eml").write_bytes(s.data)
    return 1 if tally.escaped else 0


if __name__ == "__main__":
    sys.exit(main())
