"""Build the person library for one business date (the library side of the Spark job)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.clean.columns import PERSON_FEEDS
from zhongtai.lake import Lake
from zhongtai.settings import Settings

log = logging.getLogger(__name__)

MODEL_DATASET = "person_match_model"


@dataclass(frozen=True)
class MatchReport:
    """Counts of one matching run."""

    business_date: dt.date
    records: int
    persons: int
    residents: int
    linked_certain: int
    linked_possible: int
    new_records: int
    merges: int = 0
    splits: int = 0
    model_version: str = ""


def build_person_master(settings: Settings, business_date: dt.date, run_id: str) -> MatchReport:
    """Link all person-bearing clean records up to ``business_date`` and publish the master.

    Publishes ``master/persons``, ``master/person_crosswalk``, the restricted
    ``master/person_pii``, ``master/person_key_log`` (new keys, merges and splits with their
    reason) and the Fellegi–Sunter model used (``master/person_match_model``, JSON) for the
    date; keys of earlier days are reused.
    """
    from zhongtai.match.config import load_matching_config
    from zhongtai.spark import get_spark
    from zhongtai.spark.jobs import load_job

    cfg = load_matching_config()
    lake = Lake(settings)
    job = load_job("match_persons")
    spark = get_spark(settings)
    day = business_date.isoformat()
    paths = {
        feed: lake.stage_in("clean", feed, [d for d in lake.dates("clean", feed) if d <= day])
        for feed in PERSON_FEEDS
    }
    prev_pii_dates = [d for d in lake.dates("master", "person_pii") if d < day]
    prev_pii = lake.stage_in("master", "person_pii", prev_pii_dates[-1:]) if prev_pii_dates else []
    prev_xw_dates = [d for d in lake.dates("master", "person_crosswalk") if d < day]
    prev_xw = (
        lake.stage_in("master", "person_crosswalk", prev_xw_dates[-1:]) if prev_xw_dates else []
    )
    work = lake.new_staging_dir(f"match-persons-{day}")
    try:
        out = job.main(spark, paths, prev_pii, business_date, cfg, prev_xw, work)
        if out is None:
            log.warning("no clean person records up to %s; master not published", day)
            return MatchReport(business_date, 0, 0, 0, 0, 0, 0)
        # the master tables are files already (assembled by the job); the key log is Spark's
        for name, local in (
            ("persons", out.persons),
            ("person_crosswalk", out.crosswalk),
            ("person_pii", out.person_pii),
        ):
            lake.publish_dir("master", name, business_date, local, run_id)
        local = lake.new_staging_dir(f"master-person_key_log-{day}")
        started = time.perf_counter()
        out.key_log.write.mode("overwrite").parquet(str(local))
        lake.publish_dir("master", "person_key_log", business_date, local, run_id)
        log.info("person linking: person_key_log written in %.1f s", time.perf_counter() - started)
    finally:
        # the staged records (clean-zone columns) are read until the outputs are written
        shutil.rmtree(work, ignore_errors=True)
    lake.write_bytes(
        f"master/{MODEL_DATASET}/date={day}/run={run_id}/model.json",
        out.model.to_json().encode("utf-8"),
    )
    xw = lake.read_table("master", "person_crosswalk", business_date, ["grade"])
    grades = _value_counts(xw, "grade")
    persons = lake.read_table("master", "persons", business_date, ["is_resident"])
    events = _value_counts(lake.read_table("master", "person_key_log", business_date), "event")
    return MatchReport(
        business_date=business_date,
        records=sum(grades.values()),
        persons=persons.num_rows,
        residents=int(pc.sum(persons.column("is_resident")).as_py() or 0),
        linked_certain=grades.get("certain", 0),
        linked_possible=grades.get("possible", 0),
        new_records=grades.get("new", 0),
        merges=events.get("merge", 0),
        splits=events.get("split", 0),
        model_version=out.model.version,
    )


def _value_counts(table: pa.Table | None, column: str) -> dict[str, int]:
    """How often each value of ``column`` occurs (an empty dict for no table)."""
    if table is None or table.num_rows == 0:
        return {}
    counts = pc.value_counts(table.column(column)).to_pylist()
    return {c["values"]: c["counts"] for c in counts}


def read_match_model(settings: Settings, business_date: dt.date) -> str | None:
    """The JSON of the newest person match model published on or before ``business_date``."""
    lake = Lake(settings)
    day = business_date.isoformat()
    files = sorted(
        f.path
        for f in lake.list_files(f"master/{MODEL_DATASET}")
        if f.path.endswith("model.json") and f.path.split("date=", 1)[1][:10] <= day
    )
    return lake.read_bytes(files[-1]).decode("utf-8") if files else None
