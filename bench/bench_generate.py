"""Benchmark the synthetic feed generator (a script, not a test).

Two measurements, each generation in a fresh process so that its peak memory is its own:

1. all feeds for one day of a district of ``--persons`` persons, ``--runs`` times
   (median seconds, rows per minute per core, peak RSS);
2. one day at ``--na-persons`` persons with ``--na-rows`` nucleic-acid rows (all feeds,
   streamed in chunks of ``--chunk`` test events), once: seconds for the whole day and
   for the nucleic-acid feed, and the peak RSS.

Throughput is given per wall minute and per CPU minute (rows per core-minute: the
generator runs one generating thread and one compressing/writing thread, and on a
shared machine wall time also counts the time other processes held the cores).

    .venv/bin/python bench/bench_generate.py --persons 1000000 --runs 3 \\
        --na-persons 5000000 --na-rows 10000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

DAY = dt.date(2026, 11, 1)
# nucleic-acid rows per test event: the city and national platforms overlap, plus retests
NA_ROWS_PER_EVENT = 1.6


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "lake").rglob("*") if p.is_file())


def _one(persons: int, tests: int | None, formats: str, chunk: int) -> dict:
    """One generation into a temp folder (runs in a child process)."""
    from zhongtai.generate import DirtConfig, GenerateConfig, generate
    from zhongtai.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="zt-bench-"))
    try:
        settings = Settings(
            lake=str(root / "lake"), truth_dir=str(root / "truth"), state_dir=str(root / "state")
        )
        cfg = GenerateConfig(
            start=DAY,
            end=DAY,
            persons=persons,
            tests_per_day=tests,
            formats=formats,
            chunk_rows=chunk,
            dirt=DirtConfig(),
        )
        t0, c0 = time.perf_counter(), time.process_time()
        report = generate(settings, cfg)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {
            "seconds": secs,
            "cpu_seconds": cpu,
            "rows": report.total_rows,
            "na_rows": sum(report.rows.get("nucleic_acid", {}).values()),
            "na_seconds": report.seconds_by_feed.get("nucleic_acid", 0.0),
            "bytes": _size(root),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_once(persons: int, tests: int | None, formats: str, chunk: int) -> dict:
    """One generation in a fresh process: seconds, CPU seconds, rows, bytes, peak RSS."""
    with mp.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(_one, (persons, tests, formats, chunk))


def _per_core(rows: int, r: dict) -> float:
    """Rows per CPU minute (per core-minute)."""
    return rows / r["cpu_seconds"] * 60


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--persons", type=int, default=200_000, help="district size, all-feeds runs")
    ap.add_argument("--runs", type=int, default=3, help="all-feeds runs (median reported)")
    ap.add_argument("--na-persons", type=int, default=None, help="district size, big day")
    ap.add_argument(
        "--na-rows", type=int, default=10_000_000, help="nucleic-acid rows of the big day"
    )
    ap.add_argument("--formats", default="varied", choices=["varied", "csv"])
    ap.add_argument("--chunk", type=int, default=1_000_000, help="records per part file")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
        f"python={platform.python_version()} load(1 min)={os.getloadavg()[0]:.1f}"
    )

    if args.runs > 0:
        runs = [run_once(args.persons, None, args.formats, args.chunk) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"all feeds, {args.persons:,} persons, 1 day, formats={args.formats}: "
            f"{runs[0]['rows']:,} rows, {runs[0]['bytes'] / 1e6:,.0f} MB written; "
            f"median of {args.runs}: {med['seconds']:.1f} s wall, {med['cpu_seconds']:.1f} s CPU "
            f"-> {runs[0]['rows'] / med['seconds'] * 60:,.0f} rows/min, "
            f"{statistics.median(_per_core(r['rows'], r) for r in runs):,.0f} rows/min/core; "
            f"peak RSS median {med['peak_rss_mb']:,.0f} MB, max "
            f"{max(r['peak_rss_mb'] for r in runs):,.0f} MB"
        )
        print("  runs (s): " + ", ".join(f"{r['seconds']:.1f}" for r in runs))

    if args.na_rows > 0:
        events = int(args.na_rows / NA_ROWS_PER_EVENT)
        na_persons = args.na_persons or max(100_000, args.na_rows // 2)
        r = run_once(na_persons, events, "varied", args.chunk)
        print(
            f"big day: {na_persons:,} persons, all feeds, {events:,} test events -> "
            f"{r['na_rows']:,} nucleic-acid rows (city CSV.gz + national JSONL.gz, with truth); "
            f"{r['rows']:,} rows in all, {r['bytes'] / 1e6:,.0f} MB written"
        )
        print(
            f"  whole day {r['seconds']:.1f} s wall ({r['cpu_seconds']:.1f} s CPU, "
            f"{_per_core(r['rows'], r):,.0f} rows/min/core); nucleic-acid feed "
            f"{r['na_seconds']:.1f} s = {r['na_rows'] / max(r['na_seconds'], 1e-9) * 60:,.0f} "
            f"rows/min; peak RSS {r['peak_rss_mb']:,.0f} MB (chunks of {args.chunk:,})"
        )


if __name__ == "__main__":
    main()
