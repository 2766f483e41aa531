"""The GX suites are derived from the contracts; the masks, pseudonym and ID checks."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from zhongtai.contracts import feed_names, load_contract
from zhongtai.errors import ZhongtaiError
from zhongtai.privacy.masking import mask_id, mask_name, mask_phone
from zhongtai.quality import build_suite, expected_columns
from zhongtai.quality.context import PROJECT_CONFIG, ensure_project_config, load_project_config
from zhongtai.quality.resident_id_expectation import valid_resident_ids
from zhongtai.quality.suites import (
    ID_MASK_PATTERN,
    NAME_MASK_PATTERN,
    PHONE_MASK_PATTERN,
    PSEUDONYM_PATTERN,
    referenced_columns,
)

pytestmark = pytest.mark.unit


def _by(suite, expectation_type):
    return [e for e in suite.expectations if e.expectation_type == expectation_type]


def _columns(suite, expectation_type):
    return {e.column for e in _by(suite, expectation_type)}


def test_nucleic_acid_raw_suite_follows_the_contract():
    suite = build_suite("nucleic_acid", "raw")
    assert suite.name == "raw_nucleic_acid"
    assert _columns(suite, "expect_column_values_to_not_be_null") == {
        "source_platform",
        "sample_id",
        "sampled_at",
        "_delivery_id",
        "_source",
        "_source_file",
        "_file_sha256",
        "_line_number",
        "_business_date",
    }
    sets = {e.column: e.value_set for e in _by(suite, "expect_column_values_to_be_in_set")}
    assert sets["result"] == ["negative", "positive", "suspect", "invalid", "pending"]
    assert sets["source_platform"] == ["city", "national"]
    [regex] = _by(suite, "expect_column_values_to_match_regex")
    assert (regex.column, regex.regex, regex.severity.value) == (
        "site_division_code",
        r"^\d{12}$",
        "warning",
    )
    [minimum] = _by(suite, "expect_column_values_to_be_between")
    assert (minimum.column, minimum.min_value, minimum.severity.value) == (
        "pool_size",
        1,
        "warning",
    )
    [unique] = _by(suite, "expect_compound_columns_to_be_unique")
    assert unique.column_list == ["source_platform", "sample_id", "_delivery_id", "_line_number"]
    [rows] = _by(suite, "expect_table_row_count_to_be_between")
    assert (rows.min_value, rows.severity.value) == (1, "warning")
    exists = _columns(suite, "expect_column_to_exist")
    assert {"id_number", "name", "phone", "lab_name", "_issues", "_ingested_at"} <= exists
    assert "id_pseudonym" not in exists


def test_nucleic_acid_clean_suite_adds_privacy_and_id_checks():
    suite = build_suite("nucleic_acid", "clean")
    regex = {e.column: e.regex for e in _by(suite, "expect_column_values_to_match_regex")}
    assert regex["id_pseudonym"] == regex["phone_pseudonym"] == "^[0-9a-f]{64}$"
    assert {"id_masked", "phone_masked", "name_masked"} <= set(regex)
    [valid] = _by(suite, "expect_column_values_to_be_valid_resident_id")
    cond = valid.row_condition.dict()
    assert valid.column == "id_number_norm"
    assert cond["column"]["name"] == "id_status"
    assert sorted(cond["parameter"]) == ["repaired", "upgraded_15", "valid"]
    assert {"sample_date", "site_in_district", "business_date", "_repairs"} <= _columns(
        suite, "expect_column_to_exist"
    )


@pytest.mark.parametrize("feed", feed_names())
@pytest.mark.parametrize("zone", ["raw", "clean"])
def test_every_contract_gives_a_suite_covering_its_columns(feed, zone):
    contract = load_contract(feed)
    suite = build_suite(feed, zone)
    assert set(contract.column_names) <= _columns(suite, "expect_column_to_exist")
    assert set(contract.required_columns) <= _columns(suite, "expect_column_values_to_not_be_null")
    enums = {c.name for c in contract.columns if c.allowed_values}
    assert enums <= _columns(suite, "expect_column_values_to_be_in_set")
    [unique] = _by(suite, "expect_compound_columns_to_be_unique")
    assert unique.column_list == [*contract.business_key, "_delivery_id", "_line_number"]
    assert len(expected_columns(zone, feed)) == len(_by(suite, "expect_column_to_exist"))
    for e in suite.expectations:
        assert e.meta["rule"] and e.severity.value in ("critical", "warning")


def test_clean_person_checks_only_for_person_feeds():
    assert _by(build_suite("appeals", "clean"), "expect_column_values_to_be_valid_resident_id")
    assert not _by(build_suite("grids", "clean"), "expect_column_values_to_be_valid_resident_id")
    assert "id_pseudonym" not in expected_columns("clean", "legal_entity")
    entity = build_suite("legal_entity", "clean")
    assert "contact_phone_pseudonym" in _columns(entity, "expect_column_values_to_match_regex")


def test_value_columns_exclude_pii_only_checked_for_existence():
    values, exists_only = referenced_columns(build_suite("nucleic_acid", "raw"))
    assert {"sample_id", "result", "_line_number"} <= values
    assert {"id_number", "name", "phone"} <= exists_only
    values, _ = referenced_columns(build_suite("nucleic_acid", "clean"))
    assert "id_status" in values  # read for the row condition


def test_unknown_zone_and_feed_are_clear_errors():
    with pytest.raises(ZhongtaiError, match="validate one of: raw, clean"):
        build_suite("nucleic_acid", "exports")
    with pytest.raises(ZhongtaiError, match="unknown feed"):
        build_suite("nucleic", "raw")


def test_mask_patterns_accept_the_masks_and_reject_raw_values():
    masked = [mask_id("11010519491231002X"), mask_id("E12345678", "passport"), mask_id("A12")]
    assert all(re.fullmatch(ID_MASK_PATTERN, m) for m in masked), masked
    assert not re.fullmatch(ID_MASK_PATTERN, "11010519491231002X")
    phones = [mask_phone("13812345678"), mask_phone("010-62345678"), mask_phone("62345678")]
    assert all(re.fullmatch(PHONE_MASK_PATTERN, m) for m in phones), phones
    assert not re.fullmatch(PHONE_MASK_PATTERN, "13812345678")
    assert not re.fullmatch(PHONE_MASK_PATTERN, "010-62345678")
    assert all(re.fullmatch(NAME_MASK_PATTERN, mask_name(n)) for n in ("张三", "欧阳小明"))
    assert not re.fullmatch(NAME_MASK_PATTERN, "张三丰")
    assert re.fullmatch(PSEUDONYM_PATTERN, "ab" * 32)
    assert not re.fullmatch(PSEUDONYM_PATTERN, "11010519491231002X")
    assert not re.fullmatch(PSEUDONYM_PATTERN, "AB" * 32)


def test_valid_resident_ids_checks_format_and_check_character():
    got = valid_resident_ids(
        pd.Series(
            [
                "11010519491231002X",
                "110105194912310021",
                "11010519491231002x",
                "1101051949123100",
                None,
                "１１０１０５１９４９１２３１００２X",
            ]
        )
    )
    assert got.tolist() == [True, False, False, False, False, False]


def test_project_config_is_written_when_missing(tmp_path):
    path = ensure_project_config(tmp_path)
    assert path == tmp_path / "great_expectations.yml"
    doc = load_project_config(tmp_path)
    assert doc["config_version"] == PROJECT_CONFIG["config_version"]
    assert doc["data_docs_sites"]["local_site"]["store_backend"]["base_directory"].startswith(
        "uncommitted/"
    )
