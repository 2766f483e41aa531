"""The cleaning step of one feed and business date: stage in, run the Spark job, publish."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from zhongtai.clean.addresses import LEVEL_PREFIX, Gazetteer
from zhongtai.contracts.model import load_contract
from zhongtai.lake.store import Lake
from zhongtai.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class CleanReport:
    """What one cleaning run did (counts only, never values).

    Attributes:
        feed: the feed.
        business_date: the business date cleaned.
        run_id: the run id.
        published: True when a clean partition was published.
        rows: rows in = rows out (cleaning never drops a row).
        message: a one-line summary.
        id_status: rows per ``id_status`` (person feeds).
        rows_repaired: rows with at least one repair.
        rows_flagged: rows with at least one flag.
        flags: rows per flag.
        files: lake-relative files published.
    """

    feed: str
    business_date: dt.date
    run_id: str
    published: bool
    rows: int = 0
    message: str = ""
    id_status: dict[str, int] = field(default_factory=dict)
    rows_repaired: int = 0
    rows_flagged: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (
            f"clean {self.feed} {self.business_date}: {self.message} "
            f"(rows={self.rows}, repaired={self.rows_repaired}, flagged={self.rows_flagged})"
        )


def _latest(table: Any, key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of all partitions up to D, the latest delivery winning per key."""
    if table is None:
        return []
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in table.to_pylist():
        out[tuple(row.get(k) for k in key)] = row
    return list(out.values())


def geo_rows(
    lake: Lake, dataset: str, upto: dt.date, key: tuple[str, ...]
) -> list[dict[str, Any]]:
    zone = "clean" if lake.dates("clean", dataset) else "raw"
    return _latest(lake.read_upto(zone, dataset, upto), key)


def load_gazetteer(lake: Lake, business_date: dt.date) -> Gazetteer:
    """The gazetteer of ``business_date`` from the geographic feeds (clean, else raw) <= D."""
    return Gazetteer.from_rows(
        geo_rows(lake, "divisions", business_date, ("division_code", "name")),
        geo_rows(lake, "addresses", business_date, ("address_id",)),
        geo_rows(lake, "grids", business_date, ("grid_id",)),
        as_of=business_date,
    )


def district_prefixes(gazetteer: Gazetteer) -> list[str]:
    """Code prefixes of the county-level divisions the geographic feeds describe."""
    n = LEVEL_PREFIX["county"]
    return sorted({d.code[:n] for d in gazetteer.divisions.values() if d.level == "county"})


def clean_feed(settings: Settings, feed: str, business_date: dt.date, run_id: str) -> CleanReport:
    """Clean ``raw/<feed>/date=D`` into ``clean/<feed>/date=D``.

    Args:
        settings: the deployment settings (lake, Spark, pseudonym key, time zone).
        feed: a feed with a contract.
        business_date: the business date D.
        run_id: the run id (re-running with the same id replaces that run).

    Returns:
        A :class:`CleanReport`. When raw has no partition for D nothing is published
        and the report says so.

    Raises:
        ContractError: for an unknown feed.
    """
    from zhongtai.clean.batch import CleanContext
    from zhongtai.privacy.pseudonym import Pseudonymiser
    from zhongtai.spark.jobs import load_job
    from zhongtai.spark.session import get_spark

    load_contract(feed)
    lake = Lake(settings)
    paths = lake.stage_in("raw", feed, [business_date.isoformat()])
    if not paths:
        return CleanReport(
            feed,
            business_date,
            run_id,
            False,
            message=f"no raw partition for {business_date}; nothing published",
        )
    gazetteer = (
        load_gazetteer(lake, business_date) if feed in ("population", "nucleic_acid") else None
    )
    prefixes = district_prefixes(gazetteer) if gazetteer is not None else []
    ctx = CleanContext(
        feed,
        business_date,
        Pseudonymiser.from_settings(settings),
        gazetteer if feed == "population" else None,
    )
    job = load_job("clean")
    spark = get_spark(settings)
    out_dir = lake.new_staging_dir(f"clean-{feed}-{business_date}-{run_id}")
    df = job.extract(spark, paths)
    job.load(job.transform(df, ctx, settings.timezone, prefixes), out_dir)
    report = _count(out_dir, feed, business_date, run_id)
    version = lake.publish_dir(
        "clean",
        feed,
        business_date,
        out_dir,
        run_id,
        meta={
            "id_status": report.id_status,
            "rows_flagged": report.rows_flagged,
            "rows_repaired": report.rows_repaired,
        },
    )
    report.files = version.files
    report.published = True
    report.message = f"published {version.rows} rows"
    log.info(report.summary())
    return report


def _count(out_dir: Path, feed: str, business_date: dt.date, run_id: str) -> CleanReport:
    cols = ["_repairs", "_flags"]
    files = sorted(out_dir.glob("*.parquet"))
    status: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    rows = repaired = flagged = 0
    for f in files:
        names = pq.ParquetFile(f).schema_arrow.names
        t = pq.read_table(f, columns=cols + (["id_status"] if "id_status" in names else []))
        rows += t.num_rows
        for r in t.to_pylist():
            repaired += bool(r["_repairs"])
            flagged += bool(r["_flags"])
            flags.update(set(r["_flags"] or []))
            if "id_status" in r:
                status[r["id_status"]] += 1
    return CleanReport(
        feed, business_date, run_id, False, rows, "", dict(status), repaired, flagged, dict(flags)
    )
