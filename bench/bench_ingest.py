"""Benchmark: rows/second ingesting one N-row nucleic-acid CSV delivery, and peak memory.

Usage::

    python bench/bench_ingest.py            # 10,000,000 rows
    python bench/bench_ingest.py --rows 1000000 --lake /tmp/zt-bench

The CSV is generated with numpy/pyarrow (Chinese headers, Chinese enum values,
``2026/11/1 08:00`` style times) into a fresh local lake, then ``ingest_feed``
runs once; the figure printed is rows / wall-clock seconds of ``ingest_feed``
and the process's peak resident memory (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
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
            idx = np.arange(start, start + n)
            s = lambda a: pa.array(a).cast(pa.string())  # noqa: E731
            minutes = rng.integers(0, 24 * 60, n)
            sampled = pc.binary_join_element_wise(
                "2026/11/1 ",
                s(minutes // 60),
                ":",
                s(np.char.zfill((minutes % 60).astype(str), 2)),
                "",
            )
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


def main() -> None:
    """Generate, ingest, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--lake", default=None, help="lake folder (default: a temp folder)")
    args = ap.parse_args()

    from zhongtai.ingest import ingest_feed
    from zhongtai.settings import Settings

    root = Path(args.lake or tempfile.mkdtemp(prefix="zt-bench-"))
    shutil.rmtree(root / "lake", ignore_errors=True)
    day = dt.date(2026, 11, 1)
    landing = root / "lake" / "landing" / "nucleic_acid" / "city" / day.isoformat()
    landing.mkdir(parents=True)
    t0 = time.perf_counter()
    size = make_csv(landing / "bench.csv", args.rows)
    gen_s = time.perf_counter() - t0
    settings = Settings(lake=str(root / "lake"), state_dir=str(root / "state"))
    t0 = time.perf_counter()
    report = ingest_feed(settings, "nucleic_acid", day, "bench")
    secs = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows            {args.rows:,}")
    print(f"file            {size / 2**20:,.0f} MiB (generated in {gen_s:.1f} s)")
    print(
        f"loaded          {report.rows_loaded:,}  quarantined {report.rows_quarantined:,}  "
        f"duplicate {report.rows_duplicate:,}"
    )
    print(f"ingest time     {secs:.1f} s")
    print(f"throughput      {args.rows / secs:,.0f} rows/s")
    print(f"peak RSS        {peak_mib:,.0f} MiB")
    if not args.lake:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
