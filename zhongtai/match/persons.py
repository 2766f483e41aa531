"""Build the person library for one business date (the library side of the Spark job)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from zhongtai.lake import Lake
from zhongtai.settings import Settings

log = logging.getLogger(__name__)

PERSON_FEEDS = ("population", "nucleic_acid", "vaccination", "appeals")


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


def build_person_master(settings: Settings, business_date: dt.date, run_id: str) -> MatchReport:
    """Link all person-bearing clean records up to ``business_date`` and publish the master.

    Publishes ``master/persons``, ``master/person_crosswalk`` and the restricted
    ``master/person_pii`` for the date; keys of earlier days are reused.
    """
    from pyspark.sql import functions as F

    from zhongtai.spark import get_spark
    from zhongtai.spark.jobs import load_job

    lake = Lake(settings)
    job = load_job("match_persons")
    spark = get_spark(settings)
    day = business_date.isoformat()
    paths = {
        feed: lake.stage_in("clean", feed, [d for d in lake.dates("clean", feed) if d <= day])
        for feed in PERSON_FEEDS
    }
    previous_dates = [d for d in lake.dates("master", "person_pii") if d < day]
    previous = lake.stage_in("master", "person_pii", previous_dates[-1:]) if previous_dates else []
    out = job.main(spark, paths, previous, business_date)
    if out is None:
        log.warning("no clean person records up to %s; master not published", day)
        return MatchReport(business_date, 0, 0, 0, 0, 0, 0)
    for name, df in (("persons", out.persons), ("person_crosswalk", out.crosswalk),
                     ("person_pii", out.person_pii)):
        local = lake.new_staging_dir(f"master-{name}-{day}")
        df.coalesce(1).write.mode("overwrite").parquet(str(local))
        lake.publish_dir("master", name, business_date, local, run_id)
    grades = {r["grade"]: r["n"] for r in out.crosswalk.groupBy("grade").agg(F.count("*").alias("n")).collect()}
    persons = out.persons.agg(
        F.count("*").alias("n"), F.sum(F.col("is_resident").cast("int")).alias("r")
    ).first()
    return MatchReport(
        business_date=business_date,
        records=sum(grades.values()),
        persons=int(persons["n"] or 0),
        residents=int(persons["r"] or 0),
        linked_certain=grades.get("certain", 0),
        linked_possible=grades.get("possible", 0),
        new_records=grades.get("new", 0),
    )
