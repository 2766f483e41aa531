"""connectors.yaml parsing and validation, dispatch to the folder connector, connector state."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.ingest.connectors.config import ConnectorSpec, load_connectors, pull_source
from zhongtai.ingest.connectors.state import check_kind, read_state, state_path, write_state
from zhongtai.lake.store import Lake

D1 = dt.date(2026, 11, 1)
GOOD = """
version: 1
connectors:
  population:
    hukou:
      kind: postgres_table
      dsn_env: HUKOU_DB_DSN
      table: public.persons
      key_columns: [source_record_id]
      batch_rows: 1000
    census:
      kind: folder
      path: {folder}
  nucleic_acid:
    city:
      kind: http_api
      base_url: https://api.example.gov.cn/v1/tests?region=110105
      token_env: CITY_API_TOKEN
      page_size: 500
      backoff_base: 1
      params: {{channel: 2}}
"""


def write(tmp_path, text: str):
    p = tmp_path / "connectors.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_load_from_env_var(tmp_path):
    p = write(tmp_path, GOOD.format(folder=tmp_path / "drop"))
    specs = load_connectors(environ={"ZT_CONNECTORS": str(p)})
    assert set(specs) == {
        ("population", "hukou"),
        ("population", "census"),
        ("nucleic_acid", "city"),
    }
    assert specs[("population", "hukou")] == ConnectorSpec(
        "population",
        "hukou",
        "postgres_table",
        {
            "dsn_env": "HUKOU_DB_DSN",
            "table": "public.persons",
            "key_columns": ["source_record_id"],
            "batch_rows": 1000,
        },
    )
    city = specs[("nucleic_acid", "city")].options
    assert city["backoff_base"] == 1.0 and isinstance(city["backoff_base"], float)
    assert city["params"] == {"channel": "2"}
    assert load_connectors(environ={}) == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("      kind: postgres_table\n      dsn: postgresql://u:pw@h/db\n      table: t",
         "credentials must not be written in the file; .* dsn_env"),
        ("      kind: postgres_table\n      password: pw\n      dsn_env: X\n      table: t",
         "credentials must not be written"),
        ("      kind: http_api\n      base_url: https://u:pw@h.example/x",
         "must not carry credentials"),
        ("      kind: http_api\n      base_url: https://h.example/x?access_token=abc",
         "looks like a credential"),
        ("      kind: ftp", "kind 'ftp' is unknown"),
        ("      kind: postgres_table\n      table: t", "postgres_table needs dsn_env"),
        ("      kind: postgres_table\n      dsn_env: X\n      table: t\n      batch_rows: many",
         "batch_rows must be an integer"),
        ("      kind: folder\n      path: /x\n      recursive: true",
         "option 'recursive' is unknown"),
        ("      kind: http_api\n      base_url: ftp://h.example/x", "must be an http"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_with_what_to_do(tmp_path, body, message):
    p = write(tmp_path, "version: 1\nconnectors:\n  population:\n    hukou:\n" + body + "\n")
    with pytest.raises(ConfigError, match=message):
        load_connectors(p)


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_connectors(environ={"ZT_CONNECTORS": str(tmp_path / "missing.yaml")})
    p = write(
        tmp_path, "connectors:\n  population:\n    nowhere:\n      kind: folder\n      path: x\n"
    )
    with pytest.raises(ConfigError, match="'nowhere' is not a source of population"):
        load_connectors(p)
    p = write(tmp_path, "connectors:\n  no_such_feed:\n    a:\n      kind: folder\n      path: x\n")
    with pytest.raises(ConfigError, match="connectors.no_such_feed.a"):
        load_connectors(p)
    p = write(tmp_path, "connectors:\n  population: [\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_connectors(p)
    p = write(tmp_path, "version: 2\nconnectors: {}\n")
    with pytest.raises(ConfigError, match="version 2 is not supported"):
        load_connectors(p)


def test_pull_source_dispatches_folder_and_needs_env_for_secrets(settings, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "普查.csv").write_bytes(b"source_system,source_record_id\ncensus,C1\n")
    specs = load_connectors(write(tmp_path, GOOD.format(folder=drop)))
    r = pull_source(settings, specs[("population", "census")], D1)
    assert r.kind == "folder"
    assert r.files == ["landing/population/census/2026-11-01/普查.csv"]
    assert Lake(settings).read_bytes(r.files[0]) == b"source_system,source_record_id\ncensus,C1\n"
    with pytest.raises(ZhongtaiError, match="HUKOU_DB_DSN .* is not set"):
        pull_source(settings, specs[("population", "hukou")], D1, environ={})
    with pytest.raises(ZhongtaiError, match="CITY_API_TOKEN .* is not set"):
        pull_source(settings, specs[("nucleic_acid", "city")], D1, environ={})


def test_state_round_trip_and_guards(settings):
    lake = Lake(settings)
    assert read_state(lake, "population", "hukou") == {}
    write_state(lake, "population", "hukou", {"kind": "postgres_table", "table": "a.b"})
    assert lake.exists("ledger/connectors/population/hukou.json")
    state = read_state(lake, "population", "hukou")
    assert state == {"kind": "postgres_table", "table": "a.b"}
    check_kind(state, "postgres_table", "population", "hukou", table="a.b")
    with pytest.raises(ZhongtaiError, match="written by a postgres_table connector, not http_api"):
        check_kind(state, "http_api", "population", "hukou")
    with pytest.raises(ZhongtaiError, match="tracks table='a.b', not 'c.d'"):
        check_kind(state, "postgres_table", "population", "hukou", table="c.d")
    lake.write_bytes("ledger/connectors/population/hukou.json", b"[1,")
    with pytest.raises(ZhongtaiError, match="damaged"):
        read_state(lake, "population", "hukou")
    with pytest.raises(ZhongtaiError, match="not a plain name"):
        state_path("population", "../x")
