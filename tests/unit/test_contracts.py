"""Every contract is valid ODCS v3 and loads into what the stages use."""

from __future__ import annotations

import copy

import pytest
import yaml

from zhongtai.contracts import all_contracts, load_contract, validate_contract_document
from zhongtai.contracts.model import CONTRACT_SUFFIX, normalise_header
from zhongtai.errors import ContractError
from zhongtai.paths import CONTRACTS_DIR

FEEDS_OF_FEEDS_MD = {
    "population", "legal_entity", "divisions", "addresses", "grids", "nucleic_acid",
    "vaccination", "appeals", "testing_rounds",
}


def test_one_contract_per_feed_of_feeds_md():
    assert set(all_contracts()) == FEEDS_OF_FEEDS_MD


@pytest.mark.parametrize(
    "path", sorted(CONTRACTS_DIR.glob(f"*{CONTRACT_SUFFIX}")), ids=lambda p: p.name
)
def test_contract_validates_against_odcs_schema(path):
    validate_contract_document(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def test_a_key_the_standard_does_not_have_is_rejected():
    doc = yaml.safe_load((CONTRACTS_DIR / "population.odcs.yaml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(doc)
    bad["schema"][0]["properties"][0]["aliases"] = ["来源"]  # ODCS calls them synonyms
    with pytest.raises(ContractError, match="not a valid ODCS"):
        validate_contract_document(bad, "population")


def test_wrong_logical_type_is_rejected():
    doc = yaml.safe_load((CONTRACTS_DIR / "appeals.odcs.yaml").read_text(encoding="utf-8"))
    doc["schema"][0]["properties"][0]["logicalType"] = "text"
    with pytest.raises(ContractError):
        validate_contract_document(doc, "appeals")


def test_population_contract_as_the_stages_see_it():
    c = load_contract("population")
    assert c.business_key == ("source_system", "source_record_id")
    assert set(c.sources) == {"hukou", "census", "grid", "self_report"}
    assert c.source_column == "source_system"
    assert set(c.pii_columns) >= {"id_number", "name", "phone", "address"}
    hm = c.header_map()
    assert hm[normalise_header("身份证号")] == "id_number"
    assert hm[normalise_header(" 证件号码 ")] == "id_number"
    assert hm[normalise_header("\ufeffsource_system")] == "source_system"
    status = c.column("residence_status")
    assert status.allowed_values == ("permanent", "floating", "away")
    assert status.value_synonyms["常住"] == "permanent"
    assert status.value_synonyms["人户分离"] == "away"


def test_nucleic_acid_results_vocabulary():
    c = load_contract("nucleic_acid")
    result = c.column("result")
    assert result.allowed_values == ("negative", "positive", "suspect", "invalid", "pending")
    assert {result.value_synonyms[k] for k in ("阴性", "阳性", "可疑", "无效", "待复核")} == set(
        result.allowed_values
    )
    assert c.column("sampled_at").logical_type == "timestamp"
    assert c.column("sampled_at").required


def test_unknown_feed_names_the_known_ones():
    with pytest.raises(ContractError, match="known feeds: addresses"):
        load_contract("populaton")


def test_full_width_headers_fold():
    assert normalise_header("ｓｏｕｒｃｅ＿ｓｙｓｔｅｍ") == "source_system"
