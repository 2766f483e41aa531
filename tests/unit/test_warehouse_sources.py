"""The dbt source ``lake`` is generated from the load allow-lists and the contracts."""

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
    (source,) = doc["sources"]
    assert source["schema"] == "lake"
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == {s.name for s in LAKE_TABLES} | {"code_rules"}
    for spec in LAKE_TABLES:
        assert [c["name"] for c in tables[spec.name]["columns"]] == [n for n, _, _ in spec.columns]
    na = {c["name"]: c for c in tables["nucleic_acid_tests"]["columns"]}
    # descriptions come from data_contracts/nucleic_acid.odcs.yaml
    assert na["tube_id"]["description"] == "Tube id; pooled samples share a tube."
    assert na["sampled_at"]["data_type"] == "timestamptz"
    assert na["pool_size"]["data_type"] == "bigint"
    assert na["delivery_id"]["meta"] == {"lake_column": "_delivery_id"}
    assert "every partition up to" in tables["nucleic_acid_tests"]["description"]
    assert tables["persons"]["description"].startswith("Master person snapshot")


def test_write_only_rewrites_a_stale_file(tmp_path):
    target = tmp_path / "_lake__sources.yml"
    assert write_dbt_sources(target) is True
    assert write_dbt_sources(target) is False
    target.write_text("stale", encoding="utf-8")
    assert write_dbt_sources(target) is True
    assert target.read_text(encoding="utf-8") == render_dbt_sources()
