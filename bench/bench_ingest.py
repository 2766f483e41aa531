"""Benchmark: rows/second ingesting one N-row nucleic-acid CSV delivery, and peak memory.

Usage::

    python bench/bench_ingest.py                          # 10,000,000 rows, one run
    python bench/bench_ingest.py --rows 1000000 --repeat 3 --lake /tmp/zt-bench

The CSV is generated with numpy/pyarrow (Chinese headers, Chinese enum values,
``2026/11/1 8:05`` style times; 1 % exact duplicate rows and 0.2 % impossible
dates, which go to quarantine) into a local lake. Each run is a fresh process
that calls ``ingest_feed`` once, so its peak resident memory
(``resource.getrusage``: ``ru_maxrss``) is that of ingestion alone. Printed:
data size, machine (cores, CPU, memory, load average), and per run and as the
median: wall-clock seconds, CPU seconds, rows/second (rows in / wall clock)
and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

HEADERS = [
    "平台",
    "样本编号",
    "试管编号",
    "混采数",
    "身份证号",
    "姓名",
    "联系电话",
    "采样时间",
    "采样点",
    "采样点区划",
    "检测时间",
    "检测结果",
    "检测机构",
]
DAY = dt.date(2026, 11, 1)
DUPLICATE_EVERY = 100  # the 100th row repeats the 99th: 1 % exact duplicates
BAD_DATE_EVERY = 500  # 0.2 % of rows carry 2026/2/30: quarantined (bad_timestamp)


def make_csv(path: Path, rows: int, seed: int = 7, chunk: int = 1_000_000) -> int:
    """Write an N-row nucleic-acid CSV delivery; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    with pacsv.CSVWriter(
        str(path),
        pa.schema([(h, pa.string()) for h in HEADERS]),
        write_options=pacsv.WriteOptions(quoting_style="none"),
    ) as w:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            row = np.arange(start, start + n)
            dup = (row % DUPLICATE_EVERY == DUPLICATE_EVERY - 1) & (row > start)
            idx = np.where(dup, row - 1, row)  # a duplicate takes every value of its predecessor
            s = lambda a: pa.array(a).cast(pa.string())  # noqa: E731
            minutes = rng.integers(0, 24 * 60, n)[idx - start]
            sampled = pc.binary_join_element_wise(
                "2026/11/1 ",
                s(minutes // 60),
                ":",
                s(np.char.zfill((minutes % 60).astype(str), 2)),
                "",
            )
            bad = pa.array(idx % BAD_DATE_EVERY == 7)
            sampled = pc.if_else(bad, "2026/2/30 08:00", sampled)
            batch = pa.table(
                {
                    "平台": pa.array(np.where(idx % 2 == 0, "市级", "city")),
                    "样本编号": pc.binary_join_element_wise("S", s(idx), ""),
                    "试管编号": pc.binary_join_element_wise("T", s(idx // 10), ""),
                    "混采数": pa.array(np.where(idx % 3 == 0, "10", "1")),
                    "身份证号": pc.binary_join_element_wise(
                        "1101051990", s(100000000 + idx % 99999999), ""
                    ),
                    "姓名": pa.array(np.where(idx % 2 == 0, "张三", "李四")),
                    "联系电话": pc.binary_join_element_wise(
                        "138", s(10000000 + idx % 89999999), ""
                    ),
                    "采样时间": sampled,
                    "采样点": pa.array(np.full(n, "社区卫生服务中心")),
                    "采样点区划": pa.array(np.full(n, "110105001001")),
                    "检测时间": pa.array(np.full(n, "20261102 101500")),
                    "检测结果": pa.array(np.where(idx % 1000 == 0, "阳性", "阴性")),
                    "检测机构": pa.array(np.full(n, "某检测公司")),
                }
            )
            w.write_table(batch)
    return path.stat().st_size


def _child(root: Path) -> None:
    """One measured ingestion in this (fresh) process; prints a JSON line."""
    from zhongtai.ingest import ingest_feed
    from zhongtai.settings import Settings

    settings = Settings(lake=str(root / "lake"), state_dir=str(root / "state"))
    t0, c0 = time.perf_counter(), time.process_time()
    report = ingest_feed(settings, "nucleic_acid", DAY, "bench")
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        json.dumps(
            {
                "secs": secs,
                "cpu": cpu,
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rows_in": report.rows_in,
                "loaded": report.rows_loaded,
                "quarantined": report.rows_quarantined,
                "duplicate": report.rows_duplicate,
            }
        )
    )


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB; load average {load}"


def main() -> None:
    """Generate, ingest (in fresh processes), print the figures."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    ap.add_argument("--lake", default=None, help="work folder (default: a temp folder)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(Path(args.child))
        return

    root = Path(args.lake or tempfile.mkdtemp(prefix="zt-bench-"))
    shutil.rmtree(root / "lake", ignore_errors=True)
    landing = root / "lake" / "landing" / "nucleic_acid" / "city" / DAY.isoformat()
    landing.mkdir(parents=True)
    t0 = time.perf_counter()
    size = make_csv(landing / "bench.csv", args.rows)
    gen_s = time.perf_counter() - t0
    print(
        f"data            {args.rows:,} rows, {size / 2**20:,.0f} MiB CSV "
        f"(generated in {gen_s:.1f} s)"
    )
    print(f"machine         {_machine()}")
    runs = []
    for i in range(args.repeat):
        for zone in ("raw", "quarantine", "ledger"):
            shutil.rmtree(root / "lake" / zone, ignore_errors=True)
        shutil.rmtree(root / "state", ignore_errors=True)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(root)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append(r)
        print(
            f"run {i + 1}           {r['secs']:.1f} s wall, {r['cpu']:.1f} s CPU, "
            f"{r['rows_in'] / r['secs']:,.0f} rows/s, peak RSS {r['peak_mib']:,.0f} MiB"
        )
    r = runs[0]
    print(
        f"rows            in {r['rows_in']:,}: loaded {r['loaded']:,}, quarantined "
        f"{r['quarantined']:,}, duplicate {r['duplicate']:,}"
    )
    secs = statistics.median(x["secs"] for x in runs)
    print(f"ingest time     {secs:.1f} s (median of {len(runs)})")
    print(f"CPU time        {statistics.median(x['cpu'] for x in runs):.1f} s")
    print(f"throughput      {args.rows / secs:,.0f} rows/s")
    print(f"peak RSS        {statistics.median(x['peak_mib'] for x in runs):,.0f} MiB")
    print(f"load average    {', '.join(f'{x:.1f}' for x in os.getloadavg())} (after)")
    if not args.lake:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
