"""Address rule against a small gazetteer with known standard addresses."""

from __future__ import annotations

import datetime as dt

import pytest

from zhongtai.clean.addresses import Gazetteer

D = dt.date(2026, 11, 1)
DIVISIONS = [
    dict(division_code="110000000000", name="北京市", level="province", parent_code=None),
    dict(division_code="110100000000", name="市辖区", level="city", parent_code="110000000000"),
    dict(division_code="110101000000", name="东城区", level="county", parent_code="110100000000"),
    dict(
        division_code="110103000000",
        name="崇文区",
        level="county",
        parent_code="110100000000",
        valid_to=dt.date(2010, 7, 1),
    ),
    dict(division_code="110105000000", name="朝阳区", level="county", parent_code="110100000000"),
    dict(
        division_code="110101001000",
        name="东华门街道",
        level="township",
        parent_code="110101000000",
    ),
    dict(
        division_code="110101001001",
        name="多福巷社区",
        level="community",
        parent_code="110101001000",
    ),
    dict(
        division_code="110105001000", name="建外街道", level="township", parent_code="110105000000"
    ),
    dict(
        division_code="110105001001",
        name="永安里社区",
        level="community",
        parent_code="110105001000",
    ),
    # a future division is ignored before it starts
    dict(
        division_code="110199000000",
        name="新城区",
        level="county",
        parent_code="110100000000",
        valid_from=dt.date(2030, 1, 1),
    ),
]
ADDRESSES = [
    dict(
        address_id="A1",
        full_address="北京市东城区东华门街道多福巷社区多福巷12号院3栋2单元501",
        community_code="110101001001",
        building="3",
        unit="2",
        room="501",
        grid_id="G1",
    ),
    dict(
        address_id="A2",
        full_address="北京市东城区东华门街道多福巷社区多福巷12号院3栋2单元502",
        community_code="110101001001",
        building="3",
        unit="2",
        room="502",
        grid_id=None,
    ),
    # same core and numbers in another district: only the district tells them apart
    dict(
        address_id="B1",
        full_address="北京市朝阳区建外街道永安里社区多福巷12号院3栋2单元501",
        community_code="110105001001",
        building="3",
        unit="2",
        room="501",
        grid_id="G9",
    ),
    dict(
        address_id="C1",
        full_address="北京市朝阳区建外街道永安里社区光华路8号1号楼1201",
        community_code="110105001001",
        building=None,
        unit=None,
        room=None,
        grid_id="G9",
    ),
]
GRIDS = [dict(grid_id="G1", community_code="110101001001")]


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.from_rows(DIVISIONS, ADDRESSES, GRIDS, as_of=D)


@pytest.mark.parametrize(
    "text",
    [
        "北京市东城区多福巷12号院3栋2单元501",
        "东城区多福巷12号院3-2-501",
        "东城区多福巷12号院三栋二单元五零一",
        "北京东城多福巷12号院3号楼2单元501室",
        "东城区 多福巷１２号院 ３－２－５０１",
        "崇文区多福巷12号院3-2-501",  # old district name after the 2010 merge
        "东城区多福巷12号院3-2-501（出租）",
    ],
)
def test_notations_resolve_to_the_same_address(gaz, text):
    r = gaz.resolve(text)
    assert (r.address_id, r.community_code, r.grid_id) == ("A1", "110101001001", "G1")
    assert r.address_norm == "北京市市辖区东城区东华门街道多福巷社区多福巷12号院3栋2单元501室"
    assert r.flags == []


def test_old_name_recorded_as_repair(gaz):
    rules = [x.rule for x in gaz.resolve("崇文区多福巷12号院3-2-501").repairs]
    assert "rename_old_division" in rules
    rules = [x.rule for x in gaz.resolve("东城区多福巷12号院三栋二单元五零一").repairs]
    assert rules == ["chinese_numerals"]


def test_grid_from_community_when_address_has_none(gaz):
    r = gaz.resolve("东城区多福巷12号院3-2-502")
    assert (r.address_id, r.grid_id) == ("A2", "G1")


def test_ambiguous_without_district(gaz):
    r = gaz.resolve("多福巷12号院3-2-501")
    assert r.address_id is None and r.flags == ["address:ambiguous"]
    assert gaz.resolve("朝阳区多福巷12号院3-2-501").address_id == "B1"


def test_building_room_parsed_from_full_address_text(gaz):
    assert gaz.resolve("朝阳区光华路8号1栋1201").address_id == "C1"


def test_unresolved_and_missing_flagged(gaz):
    r = gaz.resolve("东城区多福巷12号院9-9-909")
    assert r.address_id is None and r.flags == ["address:unresolved"]
    assert r.address_norm.startswith("北京市市辖区东城区")
    assert gaz.resolve(None).flags == ["address:missing"]
    assert "address:no_building_room" in gaz.resolve("某某路1号").flags


def test_future_division_not_known(gaz):
    assert "110199000000" not in gaz.divisions


def test_old_kind_of_township_is_an_alias(gaz):
    # 建外街道 was 建外乡 before it became a sub-district; people still write the old kind.
    r = gaz.resolve("北京市朝阳区建外乡永安里居委会多福巷12号院3-2-501")
    assert r.address_id == "B1"
    assert "rename_old_division" in [x.rule for x in r.repairs]
