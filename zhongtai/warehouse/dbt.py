"""Run the dbt project programmatically (``dbtRunner``) against the warehouse.

The profiles folder is generated under ``<state>/dbt/<target>`` from the settings
(no profile or secret is committed), and dbt's target and log folders live there
too, so the repository's ``dbt_project/`` stays clean.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from zhongtai.errors import ZhongtaiError
from zhongtai.paths import DBT_PROJECT_DIR
from zhongtai.settings import Settings
from zhongtai.warehouse.connect import connect
from zhongtai.warehouse.dbt_sources import write_dbt_sources

log = logging.getLogger(__name__)

PROFILE = "zhongtai"
MARTS = (
    "testing_coverage",
    "round_missing_persons",
    "vaccination_coverage",
    "person_codes",
    "code_events",
    "verification_task_days",
    "verification_tasks",
    "daily_summary",
    "quality_scorecard",
)


@dataclass
class MartsReport:
    """What one ``dbt build`` for a business date did.

    Attributes:
        business_date: the business date computed.
        run_id: the pipeline run.
        success: True when every model, data test and unit test passed.
        models: models built.
        tests_passed: data and unit tests that passed.
        tests_failed: tests that failed or errored (unique ids).
        errors: one line per failed node (no row data).
        skipped: nodes dbt skipped because something upstream failed.
        mart_rows: rows per ``marts.*`` table after the build.
        elapsed_s: wall-clock seconds of the dbt build.
    """

    business_date: dt.date
    run_id: str
    success: bool
    models: int = 0
    tests_passed: int = 0
    tests_failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0
    mart_rows: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0


def _profile(settings: Settings) -> dict[str, Any]:
    if settings.warehouse_kind == "duckdb":
        path = Path(settings.warehouse).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        output: dict[str, Any] = {
            "type": "duckdb",
            "path": str(path),
            "schema": "main",
            "threads": 1,
            "settings": {"TimeZone": "UTC"},
        }
    else:
        u = urlparse(settings.warehouse)
        output = {
            "type": "postgres",
            "host": u.hostname or "127.0.0.1",
            "port": u.port or 5432,
            "user": unquote(u.username or "postgres"),
            "password": unquote(u.password or ""),
            "dbname": (u.path or "/postgres").lstrip("/") or "postgres",
            "schema": "public",
            "threads": 2,
        }
    return {
        PROFILE: {"target": settings.warehouse_kind, "outputs": {settings.warehouse_kind: output}}
    }


def dbt_dir(settings: Settings) -> Path:
    """The per-warehouse dbt state folder (profiles, target, logs)."""
    return settings.state_path / "dbt" / settings.warehouse_kind


def write_profiles(settings: Settings) -> Path:
    """Write ``profiles.yml`` for the configured warehouse; return its folder (mode 0700)."""
    folder = dbt_dir(settings) / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / "profiles.yml"
    path.write_text(yaml.safe_dump(_profile(settings), sort_keys=False))
    path.chmod(0o600)
    return folder


def run_dbt(
    settings: Settings, command: list[str], business_date: dt.date, extra_vars: dict | None = None
) -> Any:
    """Invoke dbt in-process with the generated profile and the business-date var.

    Args:
        settings: platform settings.
        command: dbt arguments, e.g. ``["build"]`` or ``["test", "--select", "marts"]``.
        business_date: passed as the dbt var ``business_date``.
        extra_vars: more dbt vars.

    Returns:
        The ``dbtRunnerResult``.
    """
    from dbt.cli.main import dbtRunner

    state = dbt_dir(settings)
    variables = {"business_date": business_date.isoformat(), **(extra_vars or {})}
    args = [
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(write_profiles(settings)),
        "--target-path",
        str(state / "target"),
        "--log-path",
        str(state / "logs"),
        "--vars",
        yaml.safe_dump(variables, default_flow_style=True).strip(),
        "--log-level",
        "warn",
        "--no-use-colors",
    ]
    return dbtRunner().invoke(args)


def build_marts(settings: Settings, business_date: dt.date, run_id: str) -> MartsReport:
    """``dbt build`` (models, data tests, unit tests) of the marts for one business date.

    The dbt source ``lake`` is regenerated from the load allow-lists and the contracts first.

    Args:
        settings: platform settings; the ``lake`` schema must have been loaded for the date.
        business_date: the date the marts describe (dbt var ``business_date``).
        run_id: the pipeline run, kept in the report.

    Returns:
        A :class:`MartsReport`; ``success`` is False when a model or test failed.

    Raises:
        ZhongtaiError: when dbt cannot run at all (bad project, unreachable warehouse).
    """
    t0 = time.monotonic()
    try:
        write_dbt_sources()
    except OSError as e:  # a read-only installation: dbt reads the committed file
        log.warning("could not refresh the dbt sources (%s); using the committed file", e)
    res = run_dbt(settings, ["build"], business_date)
    report = MartsReport(business_date, run_id, success=bool(res.success))
    if res.exception is not None and res.result is None:
        first = str(res.exception).strip().splitlines()[0] if str(res.exception).strip() else ""
        raise ZhongtaiError(
            f"dbt could not build the marts ({type(res.exception).__name__}: {first[:300]}); "
            f"see {dbt_dir(settings) / 'logs' / 'dbt.log'}"
        )
    for r in getattr(res.result, "results", []) or []:
        node = r.node
        status = str(r.status)
        if status == "skipped":
            report.skipped += 1
        elif node.resource_type in ("test", "unit_test"):
            if status == "pass":
                report.tests_passed += 1
            else:
                report.tests_failed.append(node.unique_id)
                report.errors.append(f"{node.unique_id}: {status}")
        elif status in ("success", "pass"):
            if node.resource_type == "model":
                report.models += 1
        else:
            report.errors.append(f"{node.unique_id}: {status}")
    report.elapsed_s = round(time.monotonic() - t0, 2)
    if report.success:
        with connect(settings) as wh:
            for m in MARTS:
                report.mart_rows[m] = int(wh.query(f"select count(*) as n from marts.{m}")[0]["n"])
    log.info(
        "marts for %s run %s: success=%s models=%d tests passed=%d failed=%d",
        business_date,
        run_id,
        report.success,
        report.models,
        report.tests_passed,
        len(report.tests_failed),
    )
    return report


def read_mart(settings: Settings, sql: str) -> list[dict[str, Any]]:
    """Run a read query against the warehouse (e.g. ``select * from marts.daily_summary``).

    Args:
        settings: platform settings.
        sql: one SELECT statement.

    Returns:
        The rows as dicts.

    Raises:
        ZhongtaiError: for a statement that is not a query, or when the warehouse is missing.
    """
    head = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else ""
    if head not in ("select", "with", "from"):
        raise ZhongtaiError("read_mart runs queries only (select ... / with ...)")
    with connect(settings, read_only=True) as wh:
        try:
            return wh.query(sql)
        except Exception as e:  # noqa: BLE001 - both drivers' errors end here
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ZhongtaiError(f"query failed: {first[:300]}") from None
