"""Address linking, pure side: parsing into parts, masking, keys, blocking keys, config."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from zhongtai.clean.addresses import Gazetteer
from zhongtai.errors import ConfigError
from zhongtai.match.addresses import (
    blocking_keys,
    house_number,
    load_address_matching_config,
    mask_address,
    mask_core,
    new_address_key,
    normalise_core,
    parse_address,
    parse_address_matching_config,
    parse_rows,
    standard_address_key,
)

pytestmark = pytest.mark.unit
D = dt.date(2026, 11, 1)
DIVISIONS = [
    dict(division_code="110000000000", name="北京市", level="province", parent_code=None),
    dict(division_code="110100000000", name="市辖区", level="city", parent_code="110000000000"),
    dict(division_code="110105000000", name="朝阳区", level="county", parent_code="110100000000"),
    dict(
        division_code="110105001000", name="建外街道", level="township", parent_code="110105000000"
    ),
    dict(
        division_code="110105001001",
        name="永安里社区",
        level="community",
        parent_code="110105001000",
    ),
    dict(
        division_code="110105002000", name="朝外街道", level="township", parent_code="110105000000"
    ),
]
STD = dict(
    address_id="110105001001A000001",
    full_address="北京市朝阳区建外街道光华路3号院2号楼1单元1001",
    community_code="110105001001",
    building="2",
    unit="1",
    room="1001",
    grid_id="G1",
)


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.from_rows(DIVISIONS, [STD], [], as_of=D)


def test_normalise_core_folds_compound_and_punctuation():
    assert normalise_core("光华路3号院") == "光华路3号"
    assert normalise_core("光华路 ３ 号") == "光华路3号"
    assert normalise_core("光华路3号·院") == "光华路3号"
    assert normalise_core(None) == ""
    assert house_number("光华路3号") == "3"
    assert house_number("建国门外大街甲02号") == "2"
    assert house_number("光华路") is None


@pytest.mark.parametrize(
    "text",
    [
        "北京市朝阳区建外街道光华路3号院2号楼1单元1001",
        "建外街道光华路3号院2-1-1001",  # township only, dash notation
        "朝阳区建外街道光华路3号院二栋一单元一零零一",  # hanzi numerals
        "北京市朝阳区建外街道光华路３号院２栋１单元１００１室（出租）",  # full-width, remark
    ],
)
def test_dirty_but_resolvable_texts_resolve_to_the_standard_address(gaz, text):
    p = parse_address(gaz, text)
    assert (p.address_id, p.via) == (STD["address_id"], "gazetteer")
    assert (p.core_norm, p.building, p.unit, p.room) == ("光华路3号", "2", "1", "1001")
    assert p.community_code == "110105001001"
    assert p.township_code == "110105001000"
    assert p.area == "110105001"


def test_cleanings_address_id_wins_and_standard_rows_keep_their_own_parts(gaz):
    p = parse_address(gaz, "某处", known_address_id="X9")
    assert (p.address_id, p.via) == ("X9", "cleaning")
    s = parse_address(gaz, STD["full_address"], standard=STD)
    assert (s.address_id, s.via, s.grid_id) == (STD["address_id"], "standard", "G1")
    assert s.division_names == "北京市朝阳区建外街道永安里社区"  # 市辖区 is no written name


def test_unresolvable_text_keeps_its_parts_and_identity(gaz):
    a = parse_address(gaz, "朝阳区朝外街道亮马路7号院1号楼1单元1101")
    b = parse_address(gaz, "北京市朝阳区朝外街道亮马路7号1栋1单元1101室")
    assert a.address_id is None and a.via is None
    assert a.township_code == "110105002000" and a.community_code is None
    assert (a.core_norm, a.building, a.unit, a.room) == ("亮马路7号", "1", "1", "1101")
    # the same place written two ways is one identity (one new address)
    assert a.ident == b.ident
    assert parse_address(gaz, "亮马路7号院1号楼1单元1102").ident != a.ident


def test_mask_keeps_divisions_and_house_number_only():
    assert (
        mask_address("北京市东城区", "某路1号", "3", "2", "501") == "北京市东城区某路1号*栋*单元***"
    )
    assert mask_address("", "光华路3号院", None, None, None) == "光华路3号院"
    # a core the parser could not split: digits after the house number are starred
    assert mask_core("光华路3号院12号楼甲1001") == "光华路3号院**号楼甲****"
    assert mask_address(None, None, None, None, None) is None


def test_masked_text_of_a_parsed_record_holds_no_room_digits(gaz):
    rows = parse_rows(
        gaz,
        [{"rec_ref": "population:grid:1:residence", "address_text": STD["full_address"]}],
        [["area", "core"]],
    )
    masked = rows[0]["address_masked"]
    assert masked == "北京市朝阳区建外街道永安里社区光华路3号院*栋*单元****"
    assert "1001" not in masked


def test_keys_are_stable_and_distinct():
    k = standard_address_key("110105001001A000001")
    assert k == standard_address_key("110105001001A000001")
    assert k.startswith("A") and len(k) == 17
    assert k != standard_address_key("110105001001A000002")
    assert new_address_key("population:grid:1:residence") != k


def test_blocking_keys_need_every_part_of_a_rule():
    parts = {"area": "110105001", "core": "光华路3号", "house_number": "3", "building": "2"}
    rules = [["area", "core"], ["core", "building"], ["area", "house_number", "building", "unit"]]
    assert blocking_keys(parts, rules) == [
        "area+core=110105001|光华路3号",
        "core+building=光华路3号|2",
    ]
    assert blocking_keys({"core": "光华路3号"}, rules) == []


def test_shipped_config_loads_and_bad_configs_say_what_is_wrong(tmp_path):
    cfg = load_address_matching_config()
    assert 0 < cfg.possible <= cfg.certain <= 1
    assert abs(sum(cfg.weights.values()) - 1) < 1e-9
    raw = {
        "blocking": {"rules": [["area", "street"]]},
        "compare": {"weights": {"core": 1, "building_unit_room": 1, "division": 1}},
        "thresholds": {"certain": 0.9, "possible": 0.8},
    }
    with pytest.raises(ConfigError, match="unknown parts"):
        parse_address_matching_config(raw)
    bad = tmp_path / "m.yaml"
    bad.write_text(json.dumps({"blocking": {}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="missing key 'rules'"):
        load_address_matching_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_address_matching_config(tmp_path / "absent.yaml")
