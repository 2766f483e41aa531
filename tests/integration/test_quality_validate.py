"""Validation of raw and clean partitions with the contract-built GX suites."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from zhongtai.contracts import load_contract
from zhongtai.errors import ZhongtaiError
from zhongtai.ids.resident_id import build_np
from zhongtai.lake.store import Lake
from zhongtai.quality import ValidationFailed, build_suite, validate_partition
from zhongtai.quality.context import docs_dir
from zhongtai.quality.validate import read_for_suite

pytestmark = pytest.mark.integration

RAW_ID = "110105194912310021"  # 18 digits, wrong check character (…002X is right)

DAY = dt.date(2026, 11, 1)
UTC = dt.UTC


def raw_nucleic_acid(n: int = 6) -> dict[str, list]:
    """Columns of a clean-looking raw nucleic_acid partition of ``n`` rows (all checks pass)."""
    ids = build_np(
        np.full(n, 110105), np.full(n, 19900101) + np.arange(n), np.arange(n) + 100
    ).tolist()
    t0 = dt.datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    return {
        "source_platform": ["city", "national"] * (n // 2) + ["city"] * (n % 2),
        "sample_id": [f"S{i:06d}" for i in range(n)],
        "tube_id": [f"T{i // 2:05d}" for i in range(n)],
        "pool_size": [1] * n,
        "id_type": ["resident_id"] * n,
        "id_number": ids,
        "name": ["王小明"] * n,
        "phone": ["13800000000"] * n,
        "sampled_at": [t0 + dt.timedelta(minutes=i) for i in range(n)],
        "sampling_site": ["site A"] * n,
        "site_division_code": ["110105001001"] * n,
        "tested_at": [t0 + dt.timedelta(hours=3)] * n,
        "result": ["negative"] * (n - 1) + ["positive"],
        "lab_name": ["lab"] * n,
        "_delivery_id": ["d1"] * n,
        "_source": ["city"] * n,
        "_source_file": ["landing/nucleic_acid/city/2026-11-01/a.csv"] * n,
        "_file_sha256": ["0" * 64] * n,
        "_line_number": list(range(1, n + 1)),
        "_ingested_at": [t0] * n,
        "_business_date": [DAY] * n,
        "_issues": [[] for _ in range(n)],
    }


def clean_nucleic_acid(n: int = 6) -> dict[str, list]:
    """Columns of a passing clean nucleic_acid partition of ``n`` rows."""
    cols = raw_nucleic_acid(n)
    ids = cols["id_number"]
    cols.update(
        {
            "id_number_norm": ids,
            "id_status": ["valid"] * n,
            "id_valid": [True] * n,
            "id_pseudonym": [hashlib.sha256(f"k|{i}".encode()).hexdigest() for i in ids],
            "id_masked": [i[:6] + "********" + i[-4:] for i in ids],
            "name_norm": cols["name"],
            "name_pinyin": ["wang xiao ming"] * n,
            "name_masked": ["王**"] * n,
            "phone_norm": cols["phone"],
            "phone_kind": ["mobile"] * n,
            "phone_pseudonym": [hashlib.sha256(b"p").hexdigest()] * n,
            "phone_masked": ["138****0000"] * n,
            "phone_shared": [True] * n,
            "birth_date_from_id": [dt.date(1990, 1, 1)] * n,
            "gender_from_id": ["female"] * n,
            "birth_date_conflict": [False] * n,
            "gender_conflict": [False] * n,
            "pseudonym_key_version": ["v1"] * n,
            "sample_date": [DAY] * n,
            "result_date": [DAY] * n,
            "site_in_district": [True] * n,
            "business_date": [DAY] * n,
            "_repairs": [[] for _ in range(n)],
            "_flags": [[] for _ in range(n)],
        }
    )
    return cols


def to_table(cols: dict[str, list]) -> pa.Table:
    """Arrow table with the zone types (timestamps in UTC, lists of strings)."""
    fields = []
    contract = load_contract("nucleic_acid")
    types = {c.name: c.logical_type for c in contract.columns}
    arrow = {
        "integer": pa.int64(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
        "string": pa.string(),
    }
    arrays = []
    for name, values in cols.items():
        if name in types:
            t = arrow[types[name]]
        elif name in ("_line_number",):
            t = pa.int64()
        elif name == "_ingested_at":
            t = pa.timestamp("us", tz="UTC")
        elif name in ("_issues", "_flags"):
            t = pa.list_(pa.string())
        elif name == "_repairs":
            t = pa.list_(
                pa.struct(
                    [
                        ("field", pa.string()),
                        ("rule", pa.string()),
                        ("before", pa.string()),
                        ("after", pa.string()),
                    ]
                )
            )
        else:
            t = None
        arrays.append(pa.array(values, type=t))
        fields.append(name)
    return pa.table(arrays, names=fields)


def _publish(settings, zone: str, cols: dict, run: str = "ingest-1") -> Lake:
    lake = Lake(settings)
    lake.publish_table(zone, "nucleic_acid", DAY, to_table(cols), run)
    return lake


def test_passing_raw_partition_passes_and_is_published(settings):
    lake = _publish(settings, "raw", raw_nucleic_acid())
    report = validate_partition(settings, "raw", "nucleic_acid", DAY, "qa-1")
    assert report.success is True
    assert report.failed == [] and report.warnings == []
    assert report.rows == 6
    assert report.evaluated == len(build_suite("nucleic_acid", "raw").expectations)
    assert report.validated_run_id == "ingest-1"
    published = lake.read_table("quality", "validations/raw_nucleic_acid", DAY)
    assert published is not None and published.num_rows == report.evaluated
    assert all(published.column("success").to_pylist())
    assert lake.current("quality", "validations/raw_nucleic_acid", DAY).meta["success"] is True
    assert lake.read_json(report.result_path)["evaluated"] == report.evaluated
    assert report.docs_path is not None and Path(report.docs_path).is_file()


def test_passing_clean_partition_passes(settings):
    _publish(settings, "clean", clean_nucleic_acid())
    report = validate_partition(settings, "clean", "nucleic_acid", DAY, "qa-1")
    assert report.success, [o.describe() for o in report.failed]
    assert report.evaluated == len(build_suite("nucleic_acid", "clean").expectations)


def test_null_required_column_fails_naming_feed_and_expectation(settings):
    cols = raw_nucleic_acid()
    cols["sample_id"][2] = None
    _publish(settings, "raw", cols)
    with pytest.raises(ValidationFailed) as err:
        validate_partition(settings, "raw", "nucleic_acid", DAY, "qa-1")
    msg = str(err.value)
    assert isinstance(err.value, ZhongtaiError)
    assert "'nucleic_acid'" in msg and "'raw'" in msg
    assert "expect_column_values_to_not_be_null(sample_id): 1 of 6 rows" in msg

    report = validate_partition(
        settings, "raw", "nucleic_acid", DAY, "qa-2", raise_on_failure=False
    )
    assert report.success is False
    [failed] = report.failed
    assert (failed.rule, failed.columns, failed.unexpected_count) == ("required", ("sample_id",), 1)


def test_missing_partition_is_success_with_note(settings):
    report = validate_partition(settings, "raw", "nucleic_acid", DAY, "qa-1")
    assert report.success is True and report.evaluated == 0
    assert report.note and "no raw partition" in report.note


def test_empty_partition_warns_but_passes(settings):
    cols = {k: v[:0] for k, v in raw_nucleic_acid().items()}
    _publish(settings, "raw", cols)
    report = validate_partition(settings, "raw", "nucleic_acid", DAY, "qa-1")
    assert report.success is True and report.rows == 0
    assert [(o.rule, o.observed) for o in report.warnings] == [("row_count", 0.0)]


def test_pattern_and_minimum_are_warnings(settings):
    cols = raw_nucleic_acid()
    cols["site_division_code"][0] = "11010"
    cols["pool_size"][1] = 0
    _publish(settings, "raw", cols)
    report = validate_partition(settings, "raw", "nucleic_acid", DAY, "qa-1")
    assert report.success is True
    assert sorted((o.rule, o.columns, o.unexpected_count) for o in report.warnings) == [
        ("minimum", ("pool_size",), 1),
        ("pattern", ("site_division_code",), 1),
    ]


def test_corrections_of_a_key_pass_but_a_repeated_row_fails(settings):
    cols = raw_nucleic_acid()
    # Row 2 re-sends the key of row 1 (a correction in a later line): allowed.
    cols["sample_id"][1] = cols["sample_id"][0]
    cols["source_platform"][1] = cols["source_platform"][0]
    _publish(settings, "raw", cols)
    assert validate_partition(settings, "raw", "nucleic_acid", DAY, "qa-1").success

    cols["_line_number"][1] = cols["_line_number"][0]  # the same delivered row twice
    _publish(settings, "raw", cols, run="ingest-2")
    report = validate_partition(
        settings, "raw", "nucleic_acid", DAY, "qa-2", raise_on_failure=False
    )
    assert [(o.rule, o.unexpected_count) for o in report.failed] == [("unique_delivered_row", 2)]


def test_missing_column_and_unknown_enum_value_fail(settings):
    cols = raw_nucleic_acid()
    del cols["lab_name"]
    cols["result"][0] = "maybe"
    _publish(settings, "raw", cols)
    report = validate_partition(
        settings, "raw", "nucleic_acid", DAY, "qa-1", raise_on_failure=False
    )
    assert sorted((o.rule, o.columns) for o in report.failed) == [
        ("allowed_values", ("result",)),
        ("column_exists", ("lab_name",)),
    ]


def test_reader_loads_only_the_columns_the_suite_reads(settings):
    lake = _publish(settings, "raw", raw_nucleic_acid())
    suite = build_suite("nucleic_acid", "raw")
    frame = read_for_suite(lake, lake.current("raw", "nucleic_acid", DAY).files, suite)
    assert frame["sample_id"].tolist()[:2] == ["S000000", "S000001"]
    # PII columns only checked for existence are present but carry no data.
    for col in ("id_number", "name", "phone"):
        assert col in frame.columns and frame[col].isna().all()


def test_clean_checks_and_no_pii_in_results_docs_or_logs(settings, caplog):
    cols = clean_nucleic_acid()
    cols["id_pseudonym"][1] = RAW_ID  # a raw ID where a pseudonym belongs
    cols["id_masked"][2] = RAW_ID  # an unmasked ID
    cols["id_number_norm"][3] = RAW_ID  # "valid" status, failing check character
    cols["name_masked"][4] = "张三丰"
    cols["phone_masked"][0] = "13912345678"
    cols["id_status"][5] = "checksum_failed"
    cols["id_number_norm"][5] = "110105194912310022"  # not checked: status is not usable
    _publish(settings, "clean", cols)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValidationFailed) as err:
        validate_partition(settings, "clean", "nucleic_acid", DAY, "qa-1")
    report = validate_partition(
        settings, "clean", "nucleic_acid", DAY, "qa-2", raise_on_failure=False
    )
    assert sorted((o.rule, o.columns[0], o.unexpected_count) for o in report.failed) == [
        ("mask", "id_masked", 1),
        ("mask", "name_masked", 1),
        ("mask", "phone_masked", 1),
        ("pseudonym", "id_pseudonym", 1),
        ("usable_id_valid", "id_number_norm", 1),
    ]

    secrets = [RAW_ID, "110105194912310022", "张三丰", "13912345678"]
    site = docs_dir(settings, "clean_nucleic_acid/date=2026-11-01")
    html = list(site.rglob("*.html"))
    assert any("validations" in p.parts for p in html), "a validation page was rendered"
    produced = [p for p in (Path(settings.lake) / "quality").rglob("*") if p.is_file()]
    produced += [p for p in Path(settings.state_path / "gx").rglob("*") if p.is_file()]
    assert len(produced) > 3
    texts = [p.read_bytes() for p in produced]
    texts += [str(err.value).encode(), caplog.text.encode(), repr(report).encode()]
    for secret in secrets:
        assert not any(secret.encode() in t for t in texts), secret


def test_unknown_zone_is_a_clear_error(settings):
    with pytest.raises(ZhongtaiError, match="validate one of: raw, clean"):
        validate_partition(settings, "master", "nucleic_acid", dt.date(2026, 11, 1), "qa-1")
