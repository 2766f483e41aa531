"""The ``master`` schema on DuckDB: the published master libraries (issue #6), allow-listed.

The lake holds master/persons and master/entities only (the address library is not built
yet), with restricted columns beside the published ones; every assertion reads what
load_warehouse put into the DuckDB file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import duckdb
import pyarrow as pa
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.store import Lake
from zhongtai.warehouse import load as load_module
from zhongtai.warehouse.load import LAKE_TABLES, check_allow_lists, load_warehouse

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
MASTER = {s.name: s for s in LAKE_TABLES if s.target_schema == "master"}
# raw values the matching internals hold: none may reach the warehouse
REPRESENTATIVE, PHONE, ADDRESS = "李建国", "13912345678", "北京市东城区某路1号3栋2单元501"
DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
}


def _publish_master(lake: Lake) -> None:
    lake.publish_table(
        "master",
        "persons",
        D1,
        pa.table(
            {
                "person_key": ["K1", "K2"],
                "source_systems": [["hukou"], ["hukou", "grid"]],
                "id_number_norm": ["11010519900307002X"] * 2,
            }
        ),
        "r1",
    )
    lake.publish_table(
        "master",
        "entities",
        D1,
        pa.table(
            {
                "entity_key": ["E0123456789abcdef"],
                "uscc": ["91110105MA00000000"],
                "entity_name": ["北京某某科技有限公司"],
                "legal_representative": [REPRESENTATIVE],
                "legal_representative_masked": ["李**"],
                "contact_phone": [PHONE],
                "contact_phone_masked": ["139****5678"],
                "registered_address": [ADDRESS],
                "registered_address_key": ["A0123456789abcdef"],
                "records": pa.array([3], pa.int32()),  # widened to int64 on the way in
                "established_date": pa.array([dt.date(2015, 6, 1)], pa.date32()),
                "field_sources": [json.dumps({"entity_name": "market_regulation:M1"})],
            }
        ),
        "r1",
    )
    # the restricted internals are published beside them and must stay in the lake
    lake.publish_table(
        "master",
        "entity_pii",
        D1,
        pa.table({"entity_key": ["E0123456789abcdef"], "legal_representative": [REPRESENTATIVE]}),
        "r1",
    )


def _columns(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[str, str]]]:
    got: dict[str, list[tuple[str, str]]] = {}
    for table, column, typ in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ).fetchall():
        got.setdefault(table, []).append((column, typ))
    return got


def test_loader_creates_every_master_table_with_its_declared_columns(settings):
    _publish_master(Lake(settings))
    counts = load_warehouse(settings, D2, "run-1")
    con = duckdb.connect(settings.warehouse, read_only=True)
    try:
        columns = _columns(con, "master")
        assert set(columns) == {
            "persons",
            "person_crosswalk",
            "entities",
            "entity_crosswalk",
            "addresses",
            "address_crosswalk",
        }
        for name, spec in MASTER.items():
            assert columns[name] == [(n, DUCKDB_TYPES[t]) for n, t, _ in spec.columns], name
        persons = con.execute(
            "select person_key, source_systems from master.persons order by person_key"
        ).fetchall()
        entity = con.execute(
            "select entity_key, entity_name, legal_representative_masked, records, "
            "established_date, business_address_key from master.entities"
        ).fetchall()
        empty = {
            name: con.execute(f"select count(*) from master.{name}").fetchone()[0]
            for name in ("addresses", "address_crosswalk", "person_crosswalk", "entity_crosswalk")
        }
        old = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'lake' and table_name like 'person%'"
        ).fetchall()
        values = [
            v
            for name in MASTER
            for row in con.execute(f"select * from master.{name}").fetchall()
            for v in row
        ]
    finally:
        con.close()
    # the latest partition up to D2 (D1), lists joined as for persons today
    assert persons == [("K1", "hukou"), ("K2", "hukou;grid")]
    assert entity == [
        ("E0123456789abcdef", "北京某某科技有限公司", "李**", 3, dt.date(2015, 6, 1), None)
    ]
    # a master dataset not built yet loads empty with its columns, as persons on a day without
    # a partition; no table holds a restricted value, and the old lake.* names are gone
    assert empty == dict.fromkeys(empty, 0)
    assert old == []
    assert not {REPRESENTATIVE, PHONE, ADDRESS} & {v for v in values if isinstance(v, str)}
    assert counts["master.persons"] == 2 and counts["master.entities"] == 1
    assert counts["master.addresses"] == 0 and counts["lake.code_rules"] > 0
    assert "persons" not in counts and "lake.persons" not in counts


def test_master_schema_is_created_with_empty_tables_on_an_empty_lake(settings):
    counts = load_warehouse(settings, D1, "run-1")
    assert {k: v for k, v in counts.items() if k.startswith("master.")} == {
        f"master.{name}": 0 for name in MASTER
    }
    con = duckdb.connect(settings.warehouse, read_only=True)
    try:
        columns = _columns(con, "master")
    finally:
        con.close()
    assert {name: [c for c, _ in cols] for name, cols in columns.items()} == {
        name: [n for n, _, _ in spec.columns] for name, spec in MASTER.items()
    }


def test_reload_drops_the_tables_of_the_old_lake_names(settings):
    settings_path = settings.warehouse
    load_warehouse(settings, D1, "run-1")
    con = duckdb.connect(settings_path)
    try:
        # a warehouse built by the previous release: lake.persons and its staging view
        con.execute("create table lake.persons as select 'K1' as person_key")
        con.execute("create table lake.person_crosswalk as select 'K1' as person_key")
        con.execute("create schema staging")
        con.execute("create view staging.stg_lake__persons as select * from lake.persons")
    finally:
        con.close()
    load_warehouse(settings, D1, "run-2")
    con = duckdb.connect(settings_path, read_only=True)
    try:
        left = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name in ('persons', 'person_crosswalk', 'stg_lake__persons') "
            "order by table_schema, table_name"
        ).fetchall()
    finally:
        con.close()
    assert left == [("master", "person_crosswalk"), ("master", "persons")]


def test_no_restricted_master_dataset_is_in_any_allow_list():
    datasets = {s.dataset for s in LAKE_TABLES if s.zone == "master"}
    assert datasets == set(MASTER)
    assert not {"building", "unit", "room"} & {n for n, _, _ in MASTER["addresses"].columns}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            dataclasses.replace(MASTER["entities"], name="entity_internals", dataset="entity_pii"),
            "restricted entity_pii",
        ),
        (MASTER["addresses"], "master.addresses is declared twice"),
        (
            dataclasses.replace(
                MASTER["addresses"],
                name="addresses_full",
                columns=(*MASTER["addresses"].columns, ("room", pa.string(), "room")),
            ),
            "'room'",
        ),
    ],
)
def test_allow_list_guard_refuses_pii_datasets_duplicates_and_dwelling_columns(
    monkeypatch, extra, message
):
    monkeypatch.setattr(load_module, "LAKE_TABLES", (*LAKE_TABLES, extra))
    with pytest.raises(ZhongtaiError, match=message):
        check_allow_lists()
