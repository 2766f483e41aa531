"""Benchmark the synthetic feed generator (a script, not a test).

Measures (1) rows written per minute per core over all feeds for a district of
N persons and (2) one day of nucleic-acid tests at a given size (10 million by
default, ``--na-rows`` to scale down), streamed in chunks, with peak memory.
Prints the median of ``--runs`` runs with the data size and the machine.

    .venv/bin/python bench/bench_generate.py --persons 200000 --na-rows 2000000 --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from zhongtai.generate import DirtConfig, GenerateConfig, generate
from zhongtai.settings import Settings

DAY = dt.date(2026, 11, 1)


def _settings(root: Path) -> Settings:
    return Settings(
        lake=str(root / "lake"), truth_dir=str(root / "truth"), state_dir=str(root / "state")
    )


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "lake").rglob("*") if p.is_file())


def run_once(
    persons: int, tests: int | None, formats: str, chunk: int
) -> tuple[float, int, int, dict]:
    """One generation into a temp folder: (seconds, rows written, bytes written, report)."""
    root = Path(tempfile.mkdtemp(prefix="zt-bench-"))
    try:
        cfg = GenerateConfig(
            start=DAY,
            end=DAY,
            persons=persons,
            tests_per_day=tests,
            formats=formats,
            chunk_rows=chunk,
            dirt=DirtConfig(),
        )
        t0 = time.perf_counter()
        report = generate(_settings(root), cfg)
        secs = time.perf_counter() - t0
        return secs, report.total_rows, _size(root), report
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--persons", type=int, default=200_000, help="district size for the all-feeds run"
    )
    ap.add_argument(
        "--na-rows", type=int, default=10_000_000, help="nucleic-acid test events in one day"
    )
    ap.add_argument("--na-persons", type=int, default=None, help="persons for the nucleic-acid day")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default="varied", choices=["varied", "csv"])
    ap.add_argument("--chunk", type=int, default=1_000_000)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={cores} "
        f"python={platform.python_version()}"
    )

    times, rows, size = [], 0, 0
    for _ in range(args.runs):
        s, rows, size, _ = run_once(args.persons, None, args.formats, args.chunk)
        times.append(s)
    med = statistics.median(times)
    print(
        f"all feeds, {args.persons:,} persons, 1 day, formats={args.formats}: {rows:,} rows, "
        f"{size / 1e6:.0f} MB, median {med:.1f} s of {args.runs} "
        f"-> {rows / med * 60:,.0f} rows/min "
        "(one generating thread plus one compressing/writing thread)"
    )

    # nucleic-acid rows = events x platform overlap (about 1.6): size the events for --na-rows rows
    na_persons = args.na_persons or max(100_000, args.na_rows // 5)
    events = int(args.na_rows / 1.6)
    na_times, na_rows, na_size = [], 0, 0
    runs = args.runs if args.na_rows <= 2_000_000 else 1
    for _ in range(max(1, runs)):
        s, rows, size, report = run_once(na_persons, events, "varied", args.chunk)
        na_times.append(report.seconds_by_feed["nucleic_acid"])
        na_rows = sum(report.rows["nucleic_acid"].values())
        na_size = size
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    med = statistics.median(na_times)
    print(
        f"nucleic-acid day: {events:,} test events -> {na_rows:,} nucleic-acid rows "
        f"(city CSV.gz + national JSONL.gz, with truth) in median {med:.1f} s "
        f"= {na_rows / med * 60:,.0f} rows/min; whole run "
        f"({na_persons:,} persons, all feeds) {s:.1f} s, {na_size / 1e6:.0f} MB; peak RSS "
        f"{rss / 1024:.0f} MB (chunks of {args.chunk:,} events)"
    )


if __name__ == "__main__":
    main()
