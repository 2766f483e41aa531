"""Benchmark: cleaning rows per second for nucleic_acid and population.

Generates a synthetic raw partition (valid IDs with the usual dirt mixed in),
publishes it to a throw-away lake and times ``clean_feed`` end to end (Spark
job, Parquet write, publish)::

    .venv/bin/python bench/bench_clean.py --rows 200000 [--feeds nucleic_acid population]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from zhongtai.clean import clean_feed
from zhongtai.contracts.model import load_contract
from zhongtai.ids.resident_id import build_np
from zhongtai.lake import Lake
from zhongtai.settings import Settings

D = dt.date(2026, 11, 1)
_ARROW = {
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "integer": pa.int64(),
    "number": pa.float64(),
}
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗曾单区")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英華國")


def synth(feed: str, n: int, seed: int = 7) -> pa.Table:
    """A raw partition of ``n`` rows with ~20 % dirt (lower-case x, 15-digit, Excel, spaces...)."""
    rng = np.random.default_rng(seed)
    region = rng.choice([110101, 110105, 310104, 440305], n)
    birth = (
        rng.integers(1940, 2020, n) * 10000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
    )
    ids = build_np(region, birth, rng.integers(0, 1000, n)).astype(object)
    dirt = rng.random(n)
    for i in np.flatnonzero(dirt < 0.2):
        s, k = ids[i], dirt[i]
        ids[i] = (
            s.lower()
            if k < 0.04
            else s[:6] + " " + s[6:14] + " " + s[14:]
            if k < 0.08
            else s[:6] + s[8:17]
            if k < 0.11
            else "1.10105E+17"
            if k < 0.13
            else s[:15] + "000"
            if k < 0.15
            else s[:16] + str((int(s[16]) + 1) % 10) + s[17]
        )
    names = [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if c % 2 else "")
        for a, b, c in zip(
            rng.integers(0, len(SURNAMES), n),
            rng.integers(0, len(GIVEN), n),
            rng.integers(0, len(GIVEN), n),
            strict=True,
        )
    ]
    phones = [f"1{p}" for p in rng.integers(3_000_000_000, 9_999_999_999, n).astype(str)]
    phones = [
        ("+86 " + p if i % 9 == 0 else p[:3] + "-" + p[3:7] + "-" + p[7:] if i % 7 == 0 else p)
        for i, p in enumerate(phones)
    ]
    c = load_contract(feed)
    cols: dict[str, list] = {col.name: [None] * n for col in c.columns}
    cols.update(id_number=list(ids), name=names, phone=phones)
    if feed == "population":
        cols.update(
            source_system=["hukou"] * n,
            source_record_id=[str(i) for i in range(n)],
            address=[
                f"东城区多福巷{i % 50}号院{i % 9 + 1}-{i % 4 + 1}-{i % 30 + 101}" for i in range(n)
            ],
        )
    else:
        t0 = dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC)
        cols.update(
            source_platform=["city"] * n,
            sample_id=[f"S{i}" for i in range(n)],
            sampled_at=[t0 + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 86400, n)],
            site_division_code=["110101001001"] * n,
            result=["negative"] * n,
        )
    fields = [pa.field(col.name, _ARROW[col.logical_type]) for col in c.columns]
    table = pa.Table.from_pydict(cols, schema=pa.schema(fields))
    return table.append_column("_business_date", pa.array([D] * n, pa.date32()))


def publish_geo(lake: Lake, compounds: int = 50) -> None:
    """One district with one community and its standard addresses (all bench addresses)."""
    div = [
        ("110000000000", "北京市", "province", None),
        ("110100000000", "市辖区", "city", "110000000000"),
        ("110101000000", "东城区", "county", "110100000000"),
        ("110101001000", "东华门街道", "township", "110101000000"),
        ("110101001001", "多福巷社区", "community", "110101001000"),
    ]
    lake.publish_table(
        "raw",
        "divisions",
        D,
        pa.Table.from_pylist(
            [dict(division_code=c, name=n, level=lv, parent_code=p) for c, n, lv, p in div]
        ),
        "bench",
    )
    rows = [
        dict(
            address_id=f"A{h}-{b}-{u}-{r}",
            community_code="110101001001",
            grid_id="G1",
            full_address=f"北京市东城区东华门街道多福巷社区多福巷{h}号院{b}栋{u}单元{r}",
            building=str(b),
            unit=str(u),
            room=str(r),
        )
        for h in range(compounds)
        for b in range(1, 10)
        for u in range(1, 5)
        for r in range(101, 131)
    ]
    lake.publish_table("raw", "addresses", D, pa.Table.from_pylist(rows), "bench")


def main() -> None:
    """Run the benchmark and print rows/second per feed."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000, help="rows per feed")
    ap.add_argument("--feeds", nargs="+", default=["nucleic_acid", "population"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            lake=str(Path(tmp) / "lake"),
            state_dir=str(Path(tmp) / "state"),
            _pseudonym_key="bench-key",
        )
        lake = Lake(settings)
        lake.ensure()
        from zhongtai.spark import get_spark

        get_spark(settings)  # session start-up is not part of the figure
        publish_geo(lake)
        for feed in a.feeds:
            lake.publish_table("raw", feed, D, synth(feed, a.rows), "bench")
            t = time.perf_counter()
            report = clean_feed(settings, feed, D, "bench")
            secs = time.perf_counter() - t
            print(
                f"{feed:14s} rows={report.rows:>9,d}  {secs:7.1f} s"
                f"  {report.rows / secs:>9,.0f} rows/s"
                f"  flagged={report.rows_flagged / report.rows:.1%}"
            )


if __name__ == "__main__":
    main()
