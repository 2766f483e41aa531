"""Stable person keys across days for persons without a usable ID, and the key log."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.test_match_adversarial import IDS, _Rows
from zhongtai.lake import Lake
from zhongtai.match import build_person_master

pytestmark = pytest.mark.integration
D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def test_records_without_id_keep_their_key_and_join_later(settings, spark):
    lake = Lake(settings)
    day1 = _Rows(settings)
    day1.add("population", "h-zhao", IDS["zhao"], "赵敏", "13500000005", "A5")
    day1.add("nucleic_acid", "x1", None, "欧阳娜娜", "18800000009")
    day1.add("nucleic_acid", "x2", None, "欧阳娜娜", "18800000009")  # the same stranger
    day1.add("nucleic_acid", "y1", None, "钱多多", "18700000008")  # another stranger
    lake.publish_table("clean", "population", D1, day1.table("population"), "r1")
    lake.publish_table("clean", "nucleic_acid", D1, day1.table("nucleic_acid"), "r1")
    rep1 = build_person_master(settings, D1, "r1")
    xw1 = {
        r["source_record_id"]: r
        for r in lake.read_table("master", "person_crosswalk", D1).to_pylist()
    }
    assert xw1["x1"]["person_key"] == xw1["x2"]["person_key"] != xw1["y1"]["person_key"]
    assert {xw1["x1"]["grade"], xw1["x2"]["grade"]} == {"new"}
    assert rep1.persons == 3
    log1 = lake.read_table("master", "person_key_log", D1).to_pylist()
    assert sorted(r["event"] for r in log1) == ["new", "new", "new"]

    # day 2: the stranger is tested again (no ID) and so is 赵敏 (with a typo-free ID)
    day2 = _Rows(settings)
    day2.rows["nucleic_acid"] = []
    day2.add("nucleic_acid", "x3", None, "欧阳娜娜", "18800000009")
    day2.add("nucleic_acid", "z1", IDS["zhao"], "赵敏", None)
    for row in day2.rows["nucleic_acid"]:
        row["business_date"] = D2
    lake.publish_table("clean", "nucleic_acid", D2, day2.table("nucleic_acid"), "r2")
    rep2 = build_person_master(settings, D2, "r2")
    xw2 = {
        r["source_record_id"]: r
        for r in lake.read_table("master", "person_crosswalk", D2).to_pylist()
    }
    assert xw2["x3"]["person_key"] == xw1["x1"]["person_key"]
    assert xw2["z1"]["person_key"] == xw1["h-zhao"]["person_key"]
    assert all(xw2[k]["person_key"] == v["person_key"] for k, v in xw1.items())
    assert (rep2.persons, rep2.merges, rep2.splits) == (3, 0, 0)
    assert lake.read_table("master", "person_key_log", D2).num_rows == 0
