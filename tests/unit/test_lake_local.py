"""The lake's publish protocol on a local folder: nothing is visible until the pointer."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import Lake

D = dt.date(2026, 11, 1)


def test_publish_then_read(settings):
    lake = Lake(settings)
    t = pa.table({"a": [1, 2, 3]})
    v = lake.publish_table("raw", "population", D, t, "run1")
    assert v.rows == 3 and v.files[0].startswith("raw/population/date=2026-11-01/run=run1/")
    assert lake.read_table("raw", "population", D).column("a").to_pylist() == [1, 2, 3]
    assert lake.dates("raw", "population") == ["2026-11-01"]


def test_files_without_pointer_are_invisible(settings):
    lake = Lake(settings)
    lake.write_bytes("raw/population/date=2026-11-01/run=half/part-00000.parquet", b"garbage")
    assert lake.read_table("raw", "population", D) is None
    assert lake.dates("raw", "population") == []


def test_republish_switches_atomically_and_keeps_old_run(settings):
    lake = Lake(settings)
    lake.publish_table("clean", "x", D, pa.table({"a": [1]}), "r1")
    lake.publish_table("clean", "x", D, pa.table({"a": [2]}), "r2")
    assert lake.read_table("clean", "x", D).column("a").to_pylist() == [2]
    assert lake.exists("clean/x/date=2026-11-01/run=r1/part-00000.parquet")


def test_read_upto_concatenates_dates_in_order(settings):
    lake = Lake(settings)
    for i in range(3):
        lake.publish_table("clean", "x", D + dt.timedelta(days=i), pa.table({"a": [i]}), "r")
    got = lake.read_upto("clean", "x", D + dt.timedelta(days=1))
    assert got.column("a").to_pylist() == [0, 1]


def test_path_traversal_is_refused(settings):
    with pytest.raises(ZhongtaiError, match="'..'"):
        Lake(settings).write_bytes("landing/../../etc/passwd", b"x")


def test_unknown_zone_is_refused(settings):
    with pytest.raises(ZhongtaiError, match="unknown zone"):
        Lake(settings).publish_table("gold", "x", D, pa.table({"a": [1]}), "r")
