"""The dbt sources ``lake`` and ``master`` are generated from the load allow-lists and contracts."""

from __future__ import annotations

import yaml

from zhongtai.warehouse.dbt_sources import SOURCES_PATH, render_dbt_sources, write_dbt_sources
from zhongtai.warehouse.load import LAKE_TABLES


def test_committed_sources_file_is_what_the_generator_produces():
    # fails when load.py or a contract changed without regenerating:
    # python -c "from zhongtai.warehouse.dbt_sources import write_dbt_sources; write_dbt_sources()"
    assert SOURCES_PATH.read_text(encoding="utf-8") == render_dbt_sources()


def test_every_allow_listed_column_and_only_those_are_declared():
    doc = yaml.safe_load(render_dbt_sources())
    assert [(s["name"], s["schema"]) for s in doc["sources"]] == [
        ("lake", "lake"),
        ("master", "master"),
    ]
    declared = {
        f"{source['schema']}.{t['name']}": t for source in doc["sources"] for t in source["tables"]
    }
    assert set(declared) == {s.qualified_name for s in LAKE_TABLES} | {"lake.code_rules"}
    for spec in LAKE_TABLES:
        columns = declared[spec.qualified_name]["columns"]
        assert [c["name"] for c in columns] == [n for n, _, _ in spec.columns]
    tables = {k.removeprefix("lake."): v for k, v in declared.items() if k.startswith("lake.")}
    na = {c["name"]: c for c in tables["nucleic_acid_tests"]["columns"]}
    # descriptions come from data_contracts/nucleic_acid.odcs.yaml
    assert na["tube_id"]["description"] == "Tube id; pooled samples share a tube."
    assert na["sampled_at"]["data_type"] == "timestamptz"
    assert na["pool_size"]["data_type"] == "bigint"
    assert na["delivery_id"]["meta"] == {"lake_column": "_delivery_id"}
    assert "every partition up to" in tables["nucleic_acid_tests"]["description"]
    assert declared["master.persons"]["description"].startswith("Master person snapshot")
    # a master table's columns are described by the contract of the feed it is built from
    entities = {c["name"]: c for c in declared["master.entities"]["columns"]}
    assert entities["uscc"]["description"].startswith("Unified social credit code")
    assert entities["entity_key"]["description"].startswith("Stable master key of a legal")
    assert declared["master.addresses"]["description"].startswith("Master address snapshot")
    assert not {"lake.persons", "lake.person_crosswalk"} & set(declared)


def test_write_only_rewrites_a_stale_file(tmp_path):
    target = tmp_path / "_lake__sources.yml"
    assert write_dbt_sources(target) is True
    assert write_dbt_sources(target) is False
    target.write_text("stale", encoding="utf-8")
    assert write_dbt_sources(target) is True
    assert target.read_text(encoding="utf-8") == render_dbt_sources()
