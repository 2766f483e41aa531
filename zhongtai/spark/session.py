"""The one place a SparkSession is created.

Workers must run the venv's interpreter, bind to loopback, and keep times in
UTC inside Spark (business time zone conversions are explicit in the jobs).
pyspark is imported lazily so that ``import zhongtai`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from zhongtai.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_SESSION: SparkSession | None = None


def get_spark(settings: Settings | None = None) -> SparkSession:
    """Return the process-wide SparkSession, creating it on first use."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    settings = settings or Settings.from_env()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    local_dir = settings.state_path / "spark"
    local_dir.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.master(settings.spark_master)
        .appName("zhongtai")
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", str(local_dir))
        .config("spark.sql.warehouse.dir", str(local_dir / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={local_dir}")
    )
    _SESSION = builder.getOrCreate()
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def stop_spark() -> None:
    """Stop the process-wide session, if any, and end its JVM.

    A stopped session alone leaves the JVM running with the heap it grew (up to the driver
    memory) still resident; whatever runs next in this process or beside it (Splink in the
    benchmark: 2.3 times as long at 1M persons) would share the machine with it.
    """
    global _SESSION
    if _SESSION is None:
        return
    _SESSION.stop()
    _SESSION = None
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=120)
    SparkContext._gateway = None
    SparkContext._jvm = None
