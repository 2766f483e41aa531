"""The same lake protocol against an S3 API (moto's server, started by the tests)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from zhongtai.lake import Lake

pytestmark = [pytest.mark.integration, pytest.mark.s3]
D = dt.date(2026, 11, 1)


def test_publish_read_list_on_s3(s3_settings, tmp_path):
    lake = Lake(s3_settings)
    lake.ensure()
    lake.write_bytes("landing/population/hukou/2026-11-01/户籍人口.csv", b"a,b\n1,2\n")
    assert [f.path for f in lake.list_files("landing")] == [
        "landing/population/hukou/2026-11-01/户籍人口.csv"]
    assert lake.list_dirs("landing/population") == ["hukou"]
    lake.publish_table("raw", "population", D, pa.table({"a": [1, 2]}), "r1")
    assert lake.dates("raw", "population") == ["2026-11-01"]
    assert lake.read_table("raw", "population", D).num_rows == 2
    # Spark-side staging: local paths of a partition, and publishing a local folder
    local = lake.stage_in("raw", "population", ["2026-11-01"])
    assert len(local) == 1 and local[0].startswith(str(s3_settings.state_path))
    out = tmp_path / "out"
    out.mkdir()
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [7]}), out / "part-0.parquet")
    lake.publish_dir("clean", "population", D, out, "r2")
    assert lake.read_table("clean", "population", D).column("a").to_pylist() == [7]


def test_half_written_partition_is_invisible_on_s3(s3_settings):
    lake = Lake(s3_settings)
    lake.ensure()
    lake.write_bytes("raw/x/date=2026-11-01/run=r/part-00000.parquet", b"partial")
    assert lake.read_table("raw", "x", D) is None


def test_bytes_round_trip_exactly_whatever_the_extension(s3_settings, settings):
    """Files are stored as delivered: a .gz stays one gzip layer, on S3 as on disk."""
    import gzip

    payload = gzip.compress("sample_id,result\nS1,阴性\n".encode())
    for s in (s3_settings, settings):
        lake = Lake(s)
        lake.ensure()
        for name in ("part.csv.gz", "part.csv.zip", "part.jsonl.bz2", "part.csv"):
            rel = f"landing/nucleic_acid/city/2026-11-01/{name}"
            lake.write_bytes(rel, payload)
            assert lake.read_bytes(rel) == payload
            with lake.open_input(rel) as f:
                assert f.read() == payload
            sizes = {x.path: x.size for x in lake.list_files("landing/nucleic_acid/city")}
            assert sizes[rel] == len(payload)
