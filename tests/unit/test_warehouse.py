"""Warehouse loading without dbt: allow-lists keep PII out, partitions, code rules, profiles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from zhongtai.contracts.model import load_contract
from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.lake.store import Lake
from zhongtai.warehouse.code_rules import CODE_RULES_DIR, load_code_rules, read_rule_file
from zhongtai.warehouse.dbt import _profile, read_mart, write_profiles
from zhongtai.warehouse.load import LAKE_TABLES, check_allow_lists, read_lake_table

FEEDS = [
    "population",
    "legal_entity",
    "divisions",
    "addresses",
    "grids",
    "nucleic_acid",
    "vaccination",
    "appeals",
    "testing_rounds",
]
SPEC = {s.qualified_name: s for s in LAKE_TABLES}
UTC = dt.UTC
ID, NAME, PHONE = "11010519900307002X", "王小明", "13812345678"


def contract_pii() -> set[str]:
    return {c for f in FEEDS for c in load_contract(f).pii_columns}


def test_no_contract_pii_column_is_in_any_allow_list():
    pii = contract_pii() | {"name_pinyin", "full_address"}
    assert {"id_number", "name", "phone"} <= pii  # the contracts do classify them
    check_allow_lists(frozenset(pii))
    for spec in LAKE_TABLES:
        for out, _, src in spec.columns:
            assert not out.endswith("_norm") and not src.endswith("_norm"), spec.name
            assert out not in pii - {"name"} and src not in pii - {"name"}, (spec.name, out)
            if "name" in (out, src):
                assert spec.name in ("testing_rounds", "divisions")


def test_check_allow_lists_catches_a_pii_column():
    # pretend masked IDs were PII: the guard must name the table and column
    with pytest.raises(ZhongtaiError, match="id_masked"):
        check_allow_lists(frozenset({"id_masked"}))


def _clean_tests(day: dt.date, sample: str, result: str) -> pa.Table:
    ts = pa.array([dt.datetime(2026, 11, 1, 2, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "source_platform": ["city"],
            "sample_id": [sample],
            "tube_id": ["T1"],
            "pool_size": pa.array([1], pa.int64()),
            "id_type": ["resident_id"],
            "id_number": [ID],
            "name": [NAME],
            "phone": [PHONE],
            "id_number_norm": [ID],
            "name_norm": [NAME],
            "name_pinyin": ["wang xiao ming"],
            "phone_norm": [PHONE],
            "id_pseudonym": ["ps-1"],
            "id_masked": ["110105********002X"],
            "sampled_at": ts,
            "tested_at": ts,
            "result": [result],
            "business_date": pa.array([day], pa.date32()),
            "_delivery_id": [f"d-{day}"],
            "_ingested_at": ts,
            "_issues": pa.array([[f"name:bad:{NAME}"]], pa.list_(pa.string())),
        }
    )


def test_clean_partition_loses_every_unlisted_column_and_value(settings):
    lake = Lake(settings)
    day = dt.date(2026, 11, 1)
    lake.publish_table("clean", "nucleic_acid", day, _clean_tests(day, "S1", "positive"), "r")
    t = read_lake_table(lake, SPEC["lake.nucleic_acid_tests"], day)
    assert t.schema == SPEC["lake.nucleic_acid_tests"].schema
    assert t.num_rows == 1
    values = {v for col in t.columns for v in col.to_pylist()}
    assert not values & {ID, NAME, PHONE, "wang xiao ming", f"name:bad:{NAME}"}
    assert t.column("id_pseudonym").to_pylist() == ["ps-1"]
    assert t.column("delivery_id").to_pylist() == ["d-2026-11-01"]
    assert t.column("pool_size").to_pylist() == [1]
    assert t.column("lab_name").null_count == 1  # optional column absent upstream: null


def test_clean_feeds_are_cumulative_and_master_is_the_latest_partition(settings):
    lake = Lake(settings)
    d1, d2, d3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
    lake.publish_table("clean", "nucleic_acid", d1, _clean_tests(d1, "S1", "positive"), "r")
    lake.publish_table("clean", "nucleic_acid", d2, _clean_tests(d2, "S1", "negative"), "r")
    lake.publish_table("clean", "nucleic_acid", d3, _clean_tests(d3, "S3", "negative"), "r")
    t = read_lake_table(lake, SPEC["lake.nucleic_acid_tests"], d2)
    assert t.column("result").to_pylist() == ["positive", "negative"]
    assert t.column("business_date").to_pylist() == [d1, d2]
    for d, keys in ((d1, ["K1"]), (d3, ["K1", "K2"])):
        lake.publish_table(
            "master",
            "persons",
            d,
            pa.table(
                {
                    "person_key": keys,
                    "source_systems": [["hukou", "census"]] * len(keys),
                    "id_number_norm": [ID] * len(keys),
                }
            ),
            "r",
        )
    persons = read_lake_table(lake, SPEC["master.persons"], d2)
    assert persons.column("person_key").to_pylist() == ["K1"]  # latest partition <= D2
    assert persons.column("source_systems").to_pylist() == ["hukou;census"]
    assert read_lake_table(lake, SPEC["master.persons"], d3).num_rows == 2


def test_missing_dataset_gives_an_empty_typed_table(settings):
    t = read_lake_table(Lake(settings), SPEC["lake.appeals"], dt.date(2026, 11, 1))
    assert t.num_rows == 0
    assert t.schema == SPEC["lake.appeals"].schema


def test_untypeable_column_is_a_clear_error(settings):
    lake = Lake(settings)
    day = dt.date(2026, 11, 1)
    lake.publish_table("clean", "nucleic_acid", day, pa.table({"pool_size": ["five"]}), "r")
    with pytest.raises(ZhongtaiError, match="pool_size cannot be read"):
        read_lake_table(lake, SPEC["lake.nucleic_acid_tests"], day)


def test_default_code_rules_hold_the_rule_text_parameters():
    t = load_code_rules().to_pylist()

    def values(rule: str, param: str) -> list[str]:
        return [r["value"] for r in t if r["rule_id"] == rule and r["param"] == param]

    assert {r["rule_id"] for r in t} == {
        "R1",
        "R1_CLEAR",
        "Y1",
        "Y2",
        "Y3",
        "Y_CLEAR_TEST",
        "Y_CLEAR_APPEAL",
    }
    assert values("R1_CLEAR", "min_gap_hours") == ["24"]
    assert values("R1", "max_pool_size") == ["1"]
    assert values("Y1", "counting_results") == ["negative", "positive", "suspect"]
    assert values("Y1", "residence_statuses") == ["permanent", "floating"]
    assert values("Y2", "results") == ["suspect"]
    assert values("Y_CLEAR_APPEAL", "decisions") == ["approved"]
    assert {r["rule_set"] for r in t} == {"default"}


def _write_rules(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load((CODE_RULES_DIR / "default.yaml").read_text())
    mutate(doc)
    p = tmp_path / "custom.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return p


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["rules"][1]["params"].pop("min_gap_hours"), "R1_CLEAR misses parameter"),
        (lambda d: d["rules"].append(dict(d["rules"][0])), "R1 appears twice"),
        (lambda d: d["rules"].pop(), "lacks rule"),
        (lambda d: d["rules"][0].update(code="blue"), "code must be red or yellow"),
        (lambda d: d.pop("version"), "needs a version"),
    ],
)
def test_bad_rule_files_are_refused_with_a_reason(tmp_path, mutate, message):
    with pytest.raises(ConfigError, match=message):
        read_rule_file(_write_rules(tmp_path, mutate))


def test_postgres_profile_comes_from_the_dsn(settings, tmp_path):
    from dataclasses import replace

    pg = replace(settings, warehouse="postgresql://zt:s%40cret@db.example:6543/warehouse")
    out = _profile(pg)["zhongtai"]["outputs"]["postgres"]
    assert (out["host"], out["port"], out["user"], out["password"], out["dbname"]) == (
        "db.example",
        6543,
        "zt",
        "s@cret",
        "warehouse",
    )
    folder = write_profiles(pg)
    assert folder.is_relative_to(settings.state_path)
    assert oct((folder / "profiles.yml").stat().st_mode & 0o777) == "0o600"
    duck = _profile(settings)["zhongtai"]["outputs"]["duckdb"]
    assert Path(duck["path"]).is_absolute() and duck["type"] == "duckdb"


def test_read_mart_runs_queries_only(settings):
    with pytest.raises(ZhongtaiError, match="queries only"):
        read_mart(settings, "drop table marts.person_codes")
    with pytest.raises(ZhongtaiError, match="does not exist yet"):
        read_mart(settings, "select 1")


def test_postgres_copy_payload_of_a_multi_chunk_table_has_no_nul(monkeypatch):
    """The CSV handed to COPY must be the rows, whatever the table's chunking."""
    import io

    import pyarrow as pa

    from zhongtai.warehouse.connect import Warehouse

    captured = {}

    class Cur:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def execute(self, sql):
            pass

        def copy_expert(self, sql, buf: io.BytesIO):
            captured["data"] = buf.read()

    class Conn:
        def cursor(self):
            return Cur()

    part = pa.table({"a": ["x", "y"], "t": pa.array([1, 2], pa.int64())})
    # a partition often has an empty first file; pyarrow 26's CSV writer then emits NULs
    table = pa.concat_tables([part.schema.empty_table(), part.slice(1), part, part.slice(0, 1)])
    wh = Warehouse.__new__(Warehouse)
    wh.kind, wh.conn = "postgres", Conn()
    assert wh.replace_table("lake", "x", table) == 4
    assert b"\x00" not in captured["data"]
    assert captured["data"].decode().splitlines() == ['"y",2', '"x",1', '"y",2', '"x",1']
