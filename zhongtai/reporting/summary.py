"""Collect the counts of one business day from the lake and the warehouse.

Only counts and pseudonymous aggregates: nothing here reads a PII column.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute as pc

from zhongtai.contracts import feed_names
from zhongtai.lake import Lake
from zhongtai.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class FeedCounts:
    """Rows of one feed at each stage of one day."""

    feed: str
    deliveries: int = 0
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    clean: int | None = None


@dataclass
class DaySummary:
    """Everything the end-of-run table shows."""

    business_date: dt.date
    feeds: list[FeedCounts] = field(default_factory=list)
    persons: int | None = None
    residents: int | None = None
    grades: dict[str, int] = field(default_factory=dict)
    marts: dict[str, Any] = field(default_factory=dict)
    exports: dict[str, int] = field(default_factory=dict)


def day_summary(settings: Settings, day: dt.date) -> DaySummary:
    """Read the day's ledger, zone pointers, master, marts and export manifests."""
    lake = Lake(settings)
    out = DaySummary(day)
    for feed in feed_names():
        fc = FeedCounts(feed)
        ledger = lake.read_table("ledger", f"deliveries_{feed}", day)
        if ledger is not None and ledger.num_rows:
            fc.deliveries = ledger.num_rows
            for attr, col in (
                ("rows_in", "rows_in"),
                ("loaded", "rows_loaded"),
                ("quarantined", "rows_quarantined"),
                ("duplicates", "rows_duplicate"),
            ):
                setattr(fc, attr, int(pc.sum(ledger.column(col)).as_py() or 0))
        clean = lake.current("clean", feed, day)
        fc.clean = clean.rows if clean else None
        out.feeds.append(fc)
    persons = lake.read_table("master", "persons", day, columns=["is_resident"])
    if persons is not None:
        out.persons = persons.num_rows
        out.residents = int(pc.sum(persons.column("is_resident").cast("int64")).as_py() or 0)
    xwalk = lake.read_table("master", "person_crosswalk", day, columns=["grade"])
    if xwalk is not None:
        vc = pc.value_counts(xwalk.column("grade")).to_pylist()
        out.grades = {d["values"]: int(d["counts"]) for d in vc}
    out.marts = _marts_summary(settings, day)
    for ds in ("person_codes", "verification_tasks", "persons"):
        rel = f"exports/{ds}/date={day.isoformat()}/manifest.json"
        if lake.exists(rel):
            out.exports[ds] = int(lake.read_json(rel).get("rows", 0))
    return out


def _marts_summary(settings: Settings, day: dt.date) -> dict[str, Any]:
    try:
        from zhongtai.warehouse import read_mart

        rows = read_mart(
            settings,
            "select * from marts.daily_summary where business_date = "
            f"cast('{day.isoformat()}' as date)",
        )
    except Exception as e:  # the marts may not exist yet (failed run); the table says so
        log.debug("no daily_summary for %s: %s", day, e)
        return {}
    if hasattr(rows, "to_pylist"):
        rows = rows.to_pylist()
    return dict(rows[0]) if rows else {}


def lake_inventory(lake: Lake, only: dt.date | None = None) -> dict[str, dict[str, list[str]]]:
    """zone → dataset → business dates published (landing: dates with files)."""
    inv: dict[str, dict[str, list[str]]] = {}
    want = only.isoformat() if only else None
    for feed in lake.list_dirs("landing"):
        dates = sorted(
            {
                d
                for s in lake.list_dirs(f"landing/{feed}")
                for d in lake.list_dirs(f"landing/{feed}/{s}")
            }
        )
        inv.setdefault("landing", {})[feed] = [d for d in dates if want in (None, d)]
    for zone in ("raw", "quarantine", "clean", "master", "ledger"):
        for ds in lake.list_dirs(zone):
            dates = [d for d in lake.dates(zone, ds) if want in (None, d)]
            if dates:
                inv.setdefault(zone, {})[ds] = dates
    for ds in lake.list_dirs("exports"):
        if ds.startswith("_"):
            continue
        dates = [
            n[5:]
            for n in lake.list_dirs(f"exports/{ds}")
            if n.startswith("date=")
            and lake.exists(f"exports/{ds}/{n}/manifest.json")
            and want in (None, n[5:])
        ]
        if dates:
            inv.setdefault("exports", {})[ds] = dates
    return inv
