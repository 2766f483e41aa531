"""The side-by-side benchmark's account of the Spark JVM's CPU by thread kind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_jvm_thread_cpu_counts_the_work_of_a_spark_job(spark):
    from bench_vs_splink import jvm_thread_cpu

    before = jvm_thread_cpu(os.getpid())
    assert before, "the test run's Spark JVM (a child of this process) was not found"
    spark.range(3_000_000).selectExpr("sum(id * id % 7)").collect()
    after = jvm_thread_cpu(os.getpid())
    # the job ran in task threads; nothing goes backwards; every kind is one we name
    assert after["tasks"] > before.get("tasks", 0.0)
    assert all(after[k] >= v for k, v in before.items())
    assert set(after) <= {"tasks", "jit", "gc", "other"}
