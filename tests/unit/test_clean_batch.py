"""The Arrow batch function (what Spark runs), without Spark."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from zhongtai.clean.batch import CleanContext, clean_batch, clean_rows
from zhongtai.clean.columns import output_schema
from zhongtai.privacy import Pseudonymiser

D = dt.date(2026, 11, 1)
CTX = CleanContext("population", D, Pseudonymiser(b"k", "v7"))


def test_vocab_reasserted_and_issues_flagged_without_values():
    rows = clean_rows(
        [
            dict(
                source_system="户籍",
                id_type=None,
                gender="男",
                record_status=None,
                residence_status="somewhere",
                id_number="11010519491231002X",
                _issues=["birth_date:bad_date:1949/02/30"],
            ),
        ],
        CTX,
    )
    r = rows[0]
    assert (r["source_system"], r["gender"], r["record_status"], r["id_type"]) == (
        "hukou",
        "male",
        "active",
        "resident_id",
    )
    assert r["residence_status"] is None and "residence_status:not_in_vocab" in r["_flags"]
    assert "birth_date:bad_date" in r["_flags"]
    assert not any("1949" in f for f in r["_flags"])  # the original stays in _issues only
    assert r["pseudonym_key_version"] == "v7"
    assert r["gender_conflict"] is True  # seq 002 is female


def test_batch_schema_and_row_count():
    batch = pa.RecordBatch.from_pylist(
        [dict(source_system="hukou", id_number=None, phone="138 1234 5678", name="张三")] * 3
    )
    out = clean_batch(batch, CTX)
    assert out.num_rows == 3
    assert out.schema == output_schema(batch.schema, "population")
    assert out.column("phone_norm").to_pylist() == ["13812345678"] * 3
    assert out.column("id_status").to_pylist() == ["missing"] * 3
    assert out.column("address_norm").to_pylist() == [None] * 3  # no gazetteer given


def test_legal_entity_rows():
    ctx = CleanContext("legal_entity", D, Pseudonymiser(b"k", "v1"))
    r = clean_rows(
        [
            dict(
                source_system="tax",
                uscc="91350100m000100y43",
                entity_name="某某 公司",
                legal_representative="張三",
                contact_phone="0591-87654321",
            )
        ],
        ctx,
    )[0]
    assert (r["uscc_norm"], r["uscc_status"], r["uscc_valid"]) == (
        "91350100M000100Y43",
        "repaired",
        True,
    )
    assert r["legal_representative_norm"] == "张三" and r["legal_representative_masked"] == "张*"
    assert r["contact_phone_kind"] == "landline" and r["contact_phone_masked"] == "0591-****4321"


def test_unknown_feed_is_a_clear_error(settings):
    import pytest

    from zhongtai.clean import clean_feed
    from zhongtai.errors import ZhongtaiError

    with pytest.raises(ZhongtaiError, match="unknown feed 'nope'; known feeds"):
        clean_feed(settings, "nope", D, "r1")
