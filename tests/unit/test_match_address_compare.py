"""Address linking, comparisons: core, building/unit/room, divisions, pair scores and grades."""

from __future__ import annotations

import pytest

from zhongtai.match.addresses import (
    compare_building_unit_room,
    compare_core,
    compare_division,
    compare_rows,
    grade_of,
    load_address_matching_config,
    score_pair,
)

pytestmark = pytest.mark.unit
CFG = load_address_matching_config()
COMM, TOWN = "110105001001", "110105001000"


def parts(core="光华路3号", b="2", u="1", r="1001", comm=COMM, town=TOWN):
    return {
        "core_norm": core,
        "building": b,
        "unit": u,
        "room": r,
        "community_code": comm,
        "township_code": town,
    }


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("光华路3号", "光华路3号", "exact"),
        ("安华路1号", "安化路1号", "same_pinyin"),  # homophone typo of the road
        ("建国门外大街1号", "建国门外大1号", "similar"),  # a character dropped
        ("光华路3号", "光华路5号", "number_differs"),  # the next compound is another place
        ("光华路3号", "光华路", "number_differs"),  # no house number: not this compound
        ("光华路3号", "亮马桥3号", "different"),
        ("光华路3号", None, "missing"),
    ],
)
def test_core_levels(a, b, level):
    assert compare_core(a, b, CFG.core_similar_min).level == level


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        (("3", "2", "501"), ("3", "2", "501"), "equal"),
        (("3", "2", "501"), ("3", "2", "502"), "different"),  # the neighbour's flat
        (("3", None, "501"), ("3", "2", "501"), "partial"),
        ((None, None, None), (None, None, None), "both_missing"),
        (("3", "2", "501"), (None, None, None), "partial"),
    ],
)
def test_building_unit_room_levels(a, b, level):
    assert compare_building_unit_room(a, b).level == level


def test_division_levels():
    assert compare_division(COMM, TOWN, COMM, TOWN).level == "same_community"
    assert compare_division(COMM, TOWN, "110105001002", TOWN).level == "different"
    assert compare_division(None, TOWN, COMM, None).level == "same_township"
    assert compare_division(None, "110105002000", COMM, None).level == "different"
    assert compare_division(None, None, COMM, TOWN).level == "unknown"


def test_homophone_road_in_the_same_community_is_certain():
    s = score_pair(CFG, parts(core="光华路3号"), parts(core="光化路3号"))
    assert s.linkable and s.core.level == "same_pinyin"
    assert grade_of(CFG, s.score, None) == "certain"


def test_exact_text_without_divisions_is_only_possible():
    s = score_pair(CFG, parts(comm=None, town=None), parts())
    assert s.division.level == "unknown"
    assert grade_of(CFG, s.score, None) == "possible"


def test_another_flat_or_another_compound_never_links():
    assert not score_pair(CFG, parts(r="1002"), parts()).linkable
    assert score_pair(CFG, parts(core="光华路5号"), parts()).score == 0.0
    assert not score_pair(CFG, parts(comm="110105001002"), parts()).linkable


def test_a_tie_between_two_candidates_is_not_certain():
    s = score_pair(CFG, parts(), parts()).score
    assert grade_of(CFG, s, margin=0.0) == "possible"
    assert grade_of(CFG, s, margin=None) == "certain"
    assert grade_of(CFG, 0.5, None) is None


def test_compare_rows_carries_levels_and_scores():
    row = {"l_ref": "G:x", "r_ref": "S:1"}
    row |= {f"l_{k}": v for k, v in parts(core="安化路1号").items()}
    row |= {f"r_{k}": v for k, v in parts(core="安华路1号").items()}
    (out,) = compare_rows(CFG, [row])
    assert (out["l_ref"], out["r_ref"], out["core_level"], out["bur_level"]) == (
        "G:x",
        "S:1",
        "same_pinyin",
        "equal",
    )
    assert out["linkable"] and out["score"] >= CFG.certain
