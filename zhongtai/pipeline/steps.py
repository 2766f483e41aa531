"""One function per DAG task. Each is a single call into the library.

Tasks receive the business date as an ISO string and the Airflow run id; the
settings come from the environment (``ZT_*``), which ``zt run`` sets from its
own settings before it starts the DAG. Every step returns a small JSON-able
dict (it becomes the task's XCom) and records a user-facing error message in
the run's state folder, so the CLI can print one clear line per failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from zhongtai.settings import Settings

log = logging.getLogger(__name__)


def _date(business_date: str) -> dt.date:
    return dt.date.fromisoformat(business_date)


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    return json.loads(json.dumps(obj, default=str))


def record_failure(settings: Settings, run_id: str, step: str, error: BaseException) -> None:
    """Write the step's error message where ``zt run`` finds it after the DAG run."""
    folder = settings.state_path / "runs" / _safe(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{step}.error.json").write_text(
        json.dumps(
            {"step": step, "type": type(error).__name__, "message": str(error)}, ensure_ascii=False
        )
    )


def _safe(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)


def _progress(line: str) -> None:
    """One line on the terminal of ``zt run`` (whose own output goes to the run log)."""
    fd = os.environ.get("ZT_PROGRESS_FD")
    if fd:
        with contextlib.suppress(OSError):
            os.write(int(fd), (line + "\n").encode())


def _run(step: str, run_id: str, fn: Callable[[Settings], Any]) -> dict[str, Any]:
    settings = Settings.from_env()
    started = time.perf_counter()
    try:
        out = _jsonable(fn(settings))
    except Exception as e:
        record_failure(settings, run_id, step, e)
        _progress(f"  ✗ {step} failed after {time.perf_counter() - started:,.1f} s")
        raise
    _progress(f"  ✓ {step} ({time.perf_counter() - started:,.1f} s)")
    return out


def ingest(feed: str, business_date: str, run_id: str) -> dict[str, Any]:
    """Pull the feed's configured sources into landing, then landing → raw / quarantine / ledger."""
    from zhongtai.ingest import ingest_feed
    from zhongtai.ingest.connectors import load_connectors, pull_source

    def go(s: Settings) -> dict[str, Any]:
        day = _date(business_date)
        pulls = [
            _jsonable(pull_source(s, spec, day))
            for (f, _source), spec in sorted(load_connectors().items())
            if f == feed and spec.kind != "folder"
        ]
        return {"pulled": pulls, "ingested": _jsonable(ingest_feed(s, feed, day, run_id))}

    return _run(f"ingest_{feed}", run_id, go)


def validate(zone: str, feed: str, business_date: str, run_id: str) -> dict[str, Any]:
    """Great Expectations checkpoint on one zone partition; raises when it fails."""
    from zhongtai.quality import validate_partition

    return _run(
        f"validate_{zone}_{feed}",
        run_id,
        lambda s: validate_partition(s, zone, feed, _date(business_date), run_id),
    )


def clean(feed: str, business_date: str, run_id: str) -> dict[str, Any]:
    """raw → clean for one feed (Spark)."""
    from zhongtai.clean import clean_feed

    return _run(
        f"clean_{feed}", run_id, lambda s: clean_feed(s, feed, _date(business_date), run_id)
    )


def match(business_date: str, run_id: str) -> dict[str, Any]:
    """clean → master person library (Spark)."""
    from zhongtai.match import build_person_master

    return _run(
        "match_persons", run_id, lambda s: build_person_master(s, _date(business_date), run_id)
    )


def match_addresses(business_date: str, run_id: str) -> dict[str, Any]:
    """clean → master address library (Spark)."""
    from zhongtai.match import build_address_master

    return _run(
        "match_addresses",
        run_id,
        lambda s: build_address_master(s, _date(business_date), run_id),
    )


def match_entities(business_date: str, run_id: str) -> dict[str, Any]:
    """clean → master legal-entity library (Spark; reads the day's address crosswalk)."""
    from zhongtai.match import build_entity_master

    return _run(
        "match_entities",
        run_id,
        lambda s: build_entity_master(s, _date(business_date), run_id),
    )


def marts(business_date: str, run_id: str) -> dict[str, Any]:
    """Load the warehouse from the lake and build the dbt marts."""
    from zhongtai.warehouse import build_marts, load_warehouse

    def go(s: Settings) -> dict[str, Any]:
        loaded = load_warehouse(s, _date(business_date), run_id)
        report = build_marts(s, _date(business_date), run_id)
        return {"loaded": loaded, "marts": _jsonable(report)}

    return _run("build_marts", run_id, go)


def export(business_date: str, run_id: str) -> dict[str, Any]:
    """Publish the day's diff exports."""
    from zhongtai.export import export_day
    from zhongtai.pipeline.export_sources import export_states

    return _run(
        "export",
        run_id,
        lambda s: export_day(
            s, _date(business_date), run_id, export_states(s, _date(business_date))
        ),
    )
