"""
### zt_daily — one business day through every zone

For each feed of `data_contracts/`: **ingest** (landing → raw, quarantine, ledger),
**validate_raw** (Great Expectations suite generated from the contract), **clean**
(Spark, raw → clean) and **validate_clean**. Then the master libraries (clean →
master): **match_persons**, and **match_addresses** → **match_entities** (an entity's
addresses are keys of the address library); **build_marts** (lake → warehouse, dbt marts
on DuckDB or Postgres) and **export** (daily diffs with a manifest written last).

The business date is the data interval's start in Asia/Shanghai (or `business_date`
in the run conf), so a backfill of day D recomputes exactly D. Every task is one call
into `zhongtai.pipeline.steps`; each zone's output is declared as an asset.

A failing validation stops that feed's cleaning and everything downstream of it: marts
built on a partial day would mislead the people who read them.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task
from airflow.sdk.definitions.timetables.interval import CronDataIntervalTimetable

from zhongtai.contracts import feed_names

TZ = "Asia/Shanghai"
GEO_FEEDS = ("divisions", "addresses", "grids")


def zone_asset(zone: str, name: str) -> Asset:
    """The asset of one zone's output (URI in the lake's own namespace)."""
    return Asset(name=f"zhongtai.{zone}.{name}", uri=f"zhongtai://lake/{zone}/{name}")


def business_date() -> str:
    """The business date this run computes (ISO string)."""
    ctx = get_current_context()
    conf = (ctx.get("dag_run").conf if ctx.get("dag_run") else None) or {}
    if conf.get("business_date"):
        return str(conf["business_date"])
    start = ctx.get("data_interval_start") or ctx["logical_date"]
    return pendulum.instance(start).in_timezone(TZ).date().isoformat()


def run_id() -> str:
    """The Airflow run id, used as the lake run folder."""
    return str(get_current_context()["run_id"])


@dag(
    dag_id="zt_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=TZ),
    start_date=pendulum.datetime(2026, 11, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    tags=["zhongtai", "daily"],
    default_args={"owner": "zhongtai", "retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    doc_md=__doc__,
)
def zt_daily() -> None:
    feeds = feed_names()

    @task(task_id="match_persons", outlets=[zone_asset("master", "persons")])
    def match_persons() -> dict:
        from zhongtai.pipeline import steps

        return steps.match(business_date(), run_id())

    @task(task_id="match_addresses", outlets=[zone_asset("master", "addresses")])
    def match_addresses() -> dict:
        from zhongtai.pipeline import steps

        return steps.match_addresses(business_date(), run_id())

    @task(task_id="match_entities", outlets=[zone_asset("master", "entities")])
    def match_entities() -> dict:
        from zhongtai.pipeline import steps

        return steps.match_entities(business_date(), run_id())

    @task(task_id="build_marts", outlets=[zone_asset("warehouse", "marts")])
    def build_marts() -> dict:
        from zhongtai.pipeline import steps

        return steps.marts(business_date(), run_id())

    @task(task_id="export", outlets=[zone_asset("exports", "diff")])
    def export() -> dict:
        from zhongtai.pipeline import steps

        return steps.export(business_date(), run_id())

    matched = match_persons()
    addressed = match_addresses()
    entities = match_entities()
    addressed >> entities
    geo_cleaned = []
    other_cleaned = []
    for feed in feeds:
        ingest_t = task(task_id=f"ingest_{feed}", outlets=[zone_asset("raw", feed)])(_ingest)
        vraw_t = task(task_id=f"validate_raw_{feed}")(_validate_raw)
        clean_t = task(task_id=f"clean_{feed}", outlets=[zone_asset("clean", feed)])(_clean)
        vclean_t = task(task_id=f"validate_clean_{feed}")(_validate_clean)
        ingested = ingest_t(feed)
        validated = vraw_t(feed)
        cleaned = clean_t(feed)
        checked = vclean_t(feed)
        ingested >> validated >> cleaned >> checked
        (geo_cleaned if feed in GEO_FEEDS else other_cleaned).append((cleaned, checked))
    for cleaned, _ in other_cleaned:
        for _, geo_checked in geo_cleaned:
            geo_checked >> cleaned
    for _, checked in other_cleaned + geo_cleaned:
        checked >> matched
        checked >> addressed
    marts = build_marts()
    [matched, entities] >> marts
    marts >> export()


def _ingest(feed: str) -> dict:
    from zhongtai.pipeline import steps

    return steps.ingest(feed, business_date(), run_id())


def _validate_raw(feed: str) -> dict:
    from zhongtai.pipeline import steps

    return steps.validate("raw", feed, business_date(), run_id())


def _clean(feed: str) -> dict:
    from zhongtai.pipeline import steps

    return steps.clean(feed, business_date(), run_id())


def _validate_clean(feed: str) -> dict:
    from zhongtai.pipeline import steps

    return steps.validate("clean", feed, business_date(), run_id())


zt_daily()
