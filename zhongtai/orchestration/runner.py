"""Execute the real ``zt_daily`` DAG for one business date with ``dag.test()``.

Airflow's metadata DB is SQLite under ``<state>/airflow`` for the embedded
default; the DAGs folder is the project's ``dags/``. The environment must be in
place before Airflow is first imported, so this module imports Airflow only
inside :func:`run_day`, after :func:`airflow_environment` has been applied.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zhongtai.errors import ZhongtaiError
from zhongtai.paths import DAGS_DIR
from zhongtai.settings import Settings

DAG_ID = "zt_daily"
log = logging.getLogger(__name__)


@dataclass
class DayRun:
    """Outcome of one DAG run."""

    business_date: dt.date
    run_id: str
    state: str
    task_states: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    log_path: str = ""

    @property
    def ok(self) -> bool:
        """True when the DAG run succeeded."""
        return self.state == "success"


def settings_environment(settings: Settings) -> dict[str, str]:
    """The ``ZT_*`` variables that reproduce ``settings`` in task code."""
    key, version = settings.pseudonym_key()
    env = {
        "ZT_LAKE": settings.lake if settings.lake_is_s3 else str(Path(settings.lake).resolve()),
        "ZT_WAREHOUSE": settings.warehouse
        if settings.warehouse_kind == "postgres"
        else str(Path(settings.warehouse).resolve()),
        "ZT_SPARK_MASTER": settings.spark_master,
        "ZT_SPARK_DRIVER_MEMORY": settings.spark_driver_memory,
        "ZT_TIMEZONE": settings.timezone,
        "ZT_STATE": str(settings.state_path),
        "ZT_TRUTH": str(Path(settings.truth_dir).resolve()),
        "ZT_PSEUDONYM_KEY": key.decode(),
        "ZT_PSEUDONYM_KEY_VERSION": version,
        "ZT_S3_REGION": settings.s3_region,
    }
    for name, value in (
        ("ZT_S3_ENDPOINT", settings.s3_endpoint),
        ("ZT_S3_ACCESS_KEY", settings.s3_access_key),
        ("ZT_S3_SECRET_KEY", settings.s3_secret_key),
    ):
        if value:
            env[name] = value
    return env


def airflow_environment(settings: Settings) -> dict[str, str]:
    """Airflow configuration for the in-process embedded run."""
    home = settings.state_path / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("ZT_AIRFLOW_LOG_LEVEL", "WARNING"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "false",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def _prepare(settings: Settings) -> None:
    os.environ.update(airflow_environment(settings))
    os.environ.update(settings_environment(settings))
    from airflow.utils import db

    db_file = settings.state_path / "airflow" / "airflow.db"
    marker = settings.state_path / "airflow" / ".migrated"
    if not (db_file.exists() and marker.exists()):
        db.upgradedb()
        marker.write_text("ok")


def run_day(settings: Settings, business_date: dt.date) -> DayRun:
    """Run ``zt_daily`` for ``business_date`` in this process and report what happened."""
    _prepare(settings)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{DAG_ID}.py"), safe_mode=False)
    if bag.import_errors:
        first = next(iter(bag.import_errors.values()))
        raise ZhongtaiError(f"the DAG {DAG_ID} does not import: {str(first).strip()[-300:]}")
    dag = bag.get_dag(DAG_ID)
    if dag is None:
        raise ZhongtaiError(f"DAG {DAG_ID} not found in {DAGS_DIR}")
    # In-process runs fail fast: a retry would only wait for its delay and fail again.
    for t in dag.tasks:
        t.retries = 0
    import pendulum

    logical = pendulum.datetime(
        business_date.year, business_date.month, business_date.day, tz=settings.timezone
    )
    log_path = settings.state_path / "logs" / f"{DAG_ID}-{business_date.isoformat()}.log"
    with _output_to(log_path):
        dr = dag.test(logical_date=logical, run_conf={"business_date": business_date.isoformat()})
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    errors = []
    err_dir = (
        settings.state_path
        / "runs"
        / "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dr.run_id)
    )
    if err_dir.exists():
        for f in sorted(err_dir.glob("*.error.json")):
            errors.append(json.loads(f.read_text()))
    return DayRun(business_date, dr.run_id, str(dr.state), states, errors, str(log_path))


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send everything the run prints (Airflow task logs, Spark, dbt) to ``path``.

    File descriptors 1 and 2 are redirected so output of the JVM and of child
    processes goes there too; the original stdout stays reachable through
    ``ZT_PROGRESS_FD`` so each step can report one progress line.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    progress = os.dup(1)
    os.environ["ZT_PROGRESS_FD"] = str(progress)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            os.environ.pop("ZT_PROGRESS_FD", None)
            os.close(progress)
