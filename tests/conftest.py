"""Shared fixtures: one Spark session per test run, service discovery, temp settings."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_HOST, PG_PORT = "127.0.0.1", 5432


def require_service(ok: bool, what: str) -> None:
    """Skip with a reason when a service is missing; fail in CI, where it must exist."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available")
    pytest.skip(f"{what} is not available on this machine")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """The one SparkSession of the test run."""
    from zhongtai.settings import Settings
    from zhongtai.spark import get_spark, stop_spark

    state = tmp_path_factory.mktemp("spark-state")
    session = get_spark(Settings(state_dir=str(state), spark_driver_memory="2g"))
    yield session
    stop_spark()


@pytest.fixture
def settings(tmp_path: Path):
    """Embedded-default settings isolated in a temp folder."""
    from zhongtai.settings import Settings

    return Settings(
        lake=str(tmp_path / "lake"),
        warehouse=str(tmp_path / "warehouse" / "zt.duckdb"),
        state_dir=str(tmp_path / "state"),
        truth_dir=str(tmp_path / "truth"),
        _pseudonym_key="test-key-not-secret",
    )


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """DSN of the local PostgreSQL server (skip, or fail in CI, if absent)."""
    require_service(port_open(PG_HOST, PG_PORT), f"PostgreSQL on {PG_HOST}:{PG_PORT}")
    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3-compatible server (moto's server mode) on loopback, started by the tests."""
    import subprocess
    import sys
    import time

    try:
        import moto.server  # noqa: F401
    except ImportError:
        require_service(False, "moto[server] (the S3-compatible test server)")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            require_service(False, "the moto S3 server (it did not start)")
        time.sleep(0.1)  # readiness poll of a child process, bounded by the deadline
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def s3_settings(tmp_path: Path, s3_endpoint: str):
    """Settings whose lake is a fresh bucket on the test S3 server."""
    import uuid

    from zhongtai.settings import Settings

    return Settings(
        lake=f"s3://zt-test-{uuid.uuid4().hex[:10]}/lake",
        s3_endpoint=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        warehouse=str(tmp_path / "warehouse" / "zt.duckdb"),
        state_dir=str(tmp_path / "state"),
        truth_dir=str(tmp_path / "truth"),
        _pseudonym_key="test-key-not-secret",
    )
