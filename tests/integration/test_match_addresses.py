"""Address linking on a small generated district (known truth), then hand-made later days.

Day 1 is the generated district as delivered, ingested and cleaned. Day 2 adds population
records the standard list does not know (the same text twice, another flat of a known
building) and one with a misspelt road. Day 3 adds the unknown address to the standard list.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhongtai.clean import clean_feed
from zhongtai.clean.job import load_gazetteer
from zhongtai.generate import GenerateConfig, generate
from zhongtai.ingest import ingest_feed
from zhongtai.lake import Lake
from zhongtai.match.addresses import (
    build_address_master,
    evaluate_address_master,
    explain_address_link,
    parse_address,
    standard_address_key,
)
from zhongtai.settings import Settings

pytestmark = pytest.mark.integration
D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
FEEDS = ("divisions", "grids", "addresses", "population", "legal_entity")
NEW_STD_ID = "110105999999A000001"


def _xw(lake: Lake, day: dt.date) -> dict[tuple[str, str, str, str], dict]:
    rows = lake.read_table("master", "address_crosswalk", day).to_pylist()
    out = {
        (r["feed"], r["source_system"], r["source_record_id"], r["address_role"]): r for r in rows
    }
    assert len(out) == len(rows), "a record and role appears twice in the crosswalk"
    return out


def _like(table: pa.Table, rows: list[dict]) -> pa.Table:
    """Rows typed as an existing clean partition (missing columns null)."""
    schema = pa.schema([f.with_nullable(True) for f in table.schema])
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema)


@pytest.fixture(scope="module")
def district(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("addresses")
    settings = Settings(
        lake=str(root / "lake"),
        state_dir=str(root / "state"),
        truth_dir=str(root / "truth"),
        _pseudonym_key="test-key-not-secret",
    )
    generate(settings, GenerateConfig(start=D1, end=D1, persons=200, seed=11))
    for feed in FEEDS:
        ingest_feed(settings, feed, D1, "r1")
        clean_feed(settings, feed, D1, "r1")
    lake = Lake(settings)
    report = build_address_master(settings, D1, "m1")
    return settings, lake, report


@pytest.fixture(scope="module")
def later_days(district):
    """Day 2 (hand-made population records), re-run of day 2, day 3 (a new standard address)."""
    settings, lake, _ = district
    gaz = load_gazetteer(lake, D1)
    std = lake.read_table("clean", "addresses", D1).to_pylist()
    # a standard address whose road has a homophone typo (华 → 化) available
    target = next(r for r in std if "华" in parse_address(gaz, r["full_address"]).core)
    core = parse_address(gaz, target["full_address"]).core
    unknown = target["full_address"].replace(core, "新开路99号院")
    other_flat = re.sub(r"\d+$", "9999", target["full_address"])
    typo = target["full_address"].replace(core, core.replace("华", "化"))
    pop = lake.read_table("clean", "population", D1)
    base = {
        "source_system": "grid",
        "business_date": D2,
        "_ingested_at": dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        "_line_number": 1,
    }
    rows = [
        {**base, "source_record_id": "X1", "address": unknown},
        {**base, "source_record_id": "X2", "address": " " + unknown},  # same text, re-spaced
        {**base, "source_record_id": "X3", "address": other_flat},
        {**base, "source_record_id": "X4", "address": typo},
        {**base, "source_record_id": "X5", "address": None},  # no address: not linked
    ]
    lake.publish_table("clean", "population", D2, _like(pop, rows), "r2")
    rep2 = build_address_master(settings, D2, "m2")
    xw2 = _xw(lake, D2)
    log2 = lake.read_table("master", "address_key_log", D2).to_pylist()
    rep2b = build_address_master(settings, D2, "m2-rerun")
    xw2b = _xw(lake, D2)
    addresses = lake.read_table("clean", "addresses", D1)
    new_std = {
        **target,
        "address_id": NEW_STD_ID,
        "full_address": unknown,
        "business_date": D3,
    }
    lake.publish_table("clean", "addresses", D3, _like(addresses, [new_std]), "r3")
    rep3 = build_address_master(settings, D3, "m3")
    return {
        "target": target,
        "rep2": rep2,
        "rep2b": rep2b,
        "rep3": rep3,
        "xw2": xw2,
        "xw2b": xw2b,
        "log2": log2,
        "xw3": _xw(lake, D3),
        "log3": lake.read_table("master", "address_key_log", D3).to_pylist(),
    }


def test_every_standard_address_is_one_master_with_role_standard(district):
    _, lake, report = district
    std_ids = {r["address_id"] for r in lake.read_table("clean", "addresses", D1).to_pylist()}
    xw = _xw(lake, D1)
    standard = [r for k, r in xw.items() if k[3] == "standard"]
    assert {r["source_record_id"] for r in standard} == std_ids
    assert {r["address_key"] for r in standard} == {standard_address_key(i) for i in std_ids}
    assert {r["grade"] for r in standard} == {"certain"}
    masters = lake.read_table("master", "addresses", D1).to_pylist()
    assert {m["address_id"] for m in masters} == std_ids
    assert report.masters == len(masters) == len(std_ids)


def test_crosswalk_covers_every_address_bearing_record_and_role_once(district):
    _, lake, report = district
    want = set()
    for r in lake.read_table("clean", "addresses", D1).to_pylist():
        want.add(("addresses", r["_source"], r["address_id"], "standard"))
    for r in lake.read_table("clean", "population", D1).to_pylist():
        if (r["address"] or "").strip():
            want.add(("population", r["source_system"], r["source_record_id"], "residence"))
    for r in lake.read_table("clean", "legal_entity", D1).to_pylist():
        for role in ("registered", "business"):
            if (r[f"{role}_address"] or "").strip():
                want.add(("legal_entity", r["source_system"], r["source_record_id"], role))
    xw = _xw(lake, D1)
    assert set(xw) == want
    assert report.records == len(want)


def test_dirty_population_and_entity_addresses_link_certain_to_their_standard_address(district):
    settings, lake, _ = district
    xw = _xw(lake, D1)
    truth = pq.read_table(f"{settings.truth_dir}/records/population/{D1}.parquet").to_pylist()
    dirty = [t for t in truth if any(d.startswith("address:") for d in t["dirt"] or [])]
    checked = 0
    for t in dirty:
        row = xw.get(("population", t["source_system"], t["source_record_id"], "residence"))
        if row is None:  # a row quarantined at ingestion
            continue
        assert row["grade"] == "certain", t["dirt"]
        assert row["address_key"] == standard_address_key(t["true_address_id"]), t["dirt"]
        checked += 1
    assert checked >= 20
    entities = {
        e["entity_id"]: e
        for e in pq.read_table(f"{settings.truth_dir}/entities.parquet").to_pylist()
    }
    le = pq.read_table(f"{settings.truth_dir}/records/legal_entity/{D1}.parquet").to_pylist()
    linked = 0
    for t in le:
        row = xw.get(("legal_entity", t["source_system"], t["source_record_id"], "registered"))
        if row is None:
            continue
        want = entities[t["true_entity_id"]]["registered_address_id"]
        assert (row["grade"], row["address_key"]) == ("certain", standard_address_key(want))
        assert json.loads(row["evidence"])["via"] == "gazetteer"
        linked += 1
    assert linked >= 10


def test_quality_against_the_truth(district):
    settings, _, _ = district
    q = evaluate_address_master(settings, D1)
    # measured 1.0 / 1.0 on this district: every generated text is a dirty standard address
    assert q.unmatched_truth == 0
    assert q.f1 >= 0.999 and q.bcubed_f1 >= 0.999


def test_published_master_holds_no_room_and_no_full_text(district):
    _, lake, _ = district
    masters = lake.read_table("master", "addresses", D1)
    assert not {"address_norm", "core", "address_text", "full_address"} & set(masters.column_names)
    texts = {r["full_address"] for r in lake.read_table("clean", "addresses", D1).to_pylist()}
    for m in masters.to_pylist():
        assert m["room"] is None
        assert m["address_masked"] not in texts
        # divisions and the house number are kept; building/unit/room digits are starred
        assert len(re.findall(r"\d+", m["address_masked"])) <= 1, m["address_masked"]
        assert m["address_masked"].endswith("*")
        assert json.loads(m["field_sources"])["address"].startswith("addresses:")


def test_unknown_text_is_a_new_address_and_the_same_text_joins_it(later_days):
    xw = later_days["xw2"]
    x = {k[2]: r for k, r in xw.items() if k[0] == "population" and k[2].startswith("X")}
    assert "X5" not in x and later_days["rep2"].without_address >= 1
    assert x["X1"]["grade"] == x["X2"]["grade"] == "new"
    assert x["X1"]["address_key"] == x["X2"]["address_key"]
    std_key = standard_address_key(later_days["target"]["address_id"])
    # another flat of a known building is another address
    assert x["X3"]["grade"] == "new"
    assert len({x["X1"]["address_key"], x["X3"]["address_key"], std_key}) == 3
    # a misspelt road (homophone) in the same township still finds its standard address
    assert (x["X4"]["grade"], x["X4"]["address_key"]) == ("certain", std_key)
    ev = json.loads(x["X4"]["evidence"])
    assert ev["rule"] == "scored" and ev["core"]["level"] == "same_pinyin"
    new_keys = {r["to_key"] for r in later_days["log2"] if r["event"] == "new"}
    assert {x["X1"]["address_key"], x["X3"]["address_key"]} <= new_keys


def test_keys_are_stable_over_a_rerun_and_a_second_day(district, later_days):
    _, lake, _ = district
    xw1 = _xw(lake, D1)
    xw2, xw2b = later_days["xw2"], later_days["xw2b"]
    assert all(xw2[k]["address_key"] == r["address_key"] for k, r in xw1.items())
    assert {k: (r["address_key"], r["grade"]) for k, r in xw2.items()} == {
        k: (r["address_key"], r["grade"]) for k, r in xw2b.items()
    }
    assert later_days["rep2b"].merges == later_days["rep2b"].splits == 0


def test_a_new_address_added_to_the_standard_list_merges_into_it(later_days):
    xw2, xw3 = later_days["xw2"], later_days["xw3"]
    old = xw2[("population", "grid", "X1", "residence")]["address_key"]
    new_std = standard_address_key(NEW_STD_ID)
    for rec in ("X1", "X2"):
        row = xw3[("population", "grid", rec, "residence")]
        assert (row["grade"], row["address_key"]) == ("certain", new_std)
    merges = [r for r in later_days["log3"] if r["event"] == "merge"]
    assert [(m["from_key"], m["to_key"], m["records"]) for m in merges] == [(old, new_std, 2)]
    assert "standard list" in merges[0]["reason"]
    # the other new address keeps its key on the third day
    x3 = ("population", "grid", "X3", "residence")
    assert xw3[x3]["address_key"] == xw2[x3]["address_key"]
    assert later_days["rep3"].merges == 1


def test_explain_address_link(district, later_days):
    settings, _, _ = district
    out = explain_address_link(settings, "population:grid:X4", "residence", D2)
    assert out["rule"] == "scored" and out["grade"] == "certain"
    assert out["master"]["address_id"] == later_days["target"]["address_id"]
    from zhongtai.errors import ZhongtaiError

    with pytest.raises(ZhongtaiError, match="not in the address crosswalk"):
        explain_address_link(settings, "population:grid:nope", "residence", D2)
    with pytest.raises(ZhongtaiError, match="unknown address role"):
        explain_address_link(settings, "population:grid:X4", "home")
