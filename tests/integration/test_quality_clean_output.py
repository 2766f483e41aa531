"""The clean suite accepts what the real cleaning job produces, and the raw suite its input."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from zhongtai.contracts import load_contract
from zhongtai.ids.resident_id import check_char
from zhongtai.lake.store import Lake
from zhongtai.quality import validate_partition

pytestmark = pytest.mark.integration

D = dt.date(2026, 11, 1)
UTC = dt.UTC
_ARROW = {
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "integer": pa.int64(),
    "number": pa.float64(),
}
LINEAGE = [
    pa.field("_delivery_id", pa.string()),
    pa.field("_source", pa.string()),
    pa.field("_source_file", pa.string()),
    pa.field("_file_sha256", pa.string()),
    pa.field("_line_number", pa.int64()),
    pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
    pa.field("_business_date", pa.date32()),
    pa.field("_issues", pa.list_(pa.string())),
]


def _raw(feed: str, rows: list[dict]) -> pa.Table:
    c = load_contract(feed)
    schema = pa.schema([pa.field(x.name, _ARROW[x.logical_type]) for x in c.columns] + LINEAGE)
    full = []
    for i, r in enumerate(rows, 1):
        row = {f.name: None for f in schema}
        row.update(
            _delivery_id="d1",
            _source="city",
            _source_file="landing/nucleic_acid/city/2026-11-01/a.csv",
            _file_sha256="0" * 64,
            _line_number=i,
            _ingested_at=dt.datetime(2026, 11, 1, 2, tzinfo=UTC),
            _business_date=D,
            _issues=[],
        )
        row.update(r)
        full.append(row)
    return pa.Table.from_pylist(full, schema=schema)


def test_clean_output_of_the_cleaning_job_passes_its_suite(spark, settings):
    from zhongtai.clean import clean_feed

    valid = "11010119800101001" + check_char("11010119800101001")
    other = "11010119700101005" + check_char("11010119700101005")
    bad_check = other[:17] + ("0" if other[17] != "0" else "1")
    at = dt.datetime(2026, 11, 1, 1, tzinfo=UTC)
    rows = [
        dict(
            source_platform="city",
            sample_id="S1",
            id_number=valid,
            name="张 三",
            phone="138 1234 5678",
            sampled_at=at,
            result="negative",
            pool_size=1,
        ),
        dict(
            source_platform="national",
            sample_id="S1",
            id_number=valid.lower(),
            name="張三",
            phone="+86 13812345678",
            sampled_at=at,
            result="negative",
        ),
        dict(
            source_platform="city",
            sample_id="S2",
            id_number="110101850505003",
            name="曾小明",
            phone="010-62345678",
            sampled_at=at,
            result="positive",
        ),
        dict(
            source_platform="city",
            sample_id="S3",
            id_number=bad_check,
            name="Wang Wu",
            sampled_at=at,
            result="pending",
        ),
        dict(
            source_platform="city",
            sample_id="S4",
            id_type="passport",
            id_number="e1234567 8",
            name="买买提•艾力",
            phone="12345",
            sampled_at=at,
        ),
        dict(source_platform="city", sample_id="S5", id_number=None, name="王", sampled_at=at),
        dict(
            source_platform="city",
            sample_id="S6",
            id_number="1.10101E+17",
            name="李四",
            sampled_at=at,
            result="invalid",
        ),
    ]
    lake = Lake(settings)
    lake.publish_table("raw", "nucleic_acid", D, _raw("nucleic_acid", rows), "ingest-1")
    raw = validate_partition(settings, "raw", "nucleic_acid", D, "qa-raw")
    assert raw.success and raw.rows == 7

    clean_feed(settings, "nucleic_acid", D, "clean-1")
    report = validate_partition(
        settings, "clean", "nucleic_acid", D, "qa-clean", raise_on_failure=False
    )
    assert report.rows == 7
    assert report.failed == [], [o.describe() for o in report.failed]
    assert report.success
