"""A generated business day through the real DAG, on a local lake + DuckDB and on an S3 lake
+ Postgres, asserting on what the run produced."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import port_open, require_service

pytestmark = pytest.mark.e2e
DAY = "2026-11-01"
PERSONS = 1500
ZT = [sys.executable, "-m", "zhongtai"]


def _zt(args, env, timeout=1500):
    res = subprocess.run([*ZT, *args], env=env, capture_output=True, text=True, timeout=timeout)
    out, err = res.stdout[-3000:], res.stderr[-3000:]
    assert res.returncode == 0, f"zt {' '.join(args)} failed:\n{out}\n{err}"
    return res


def _base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZT_", "AIRFLOW"))}
    env.update({
        "ZT_STATE": str(tmp / "state"),
        "ZT_TRUTH": str(tmp / "truth"),
        "ZT_PSEUDONYM_KEY": "e2e-test-key",
        "ZT_SPARK_DRIVER_MEMORY": "2g",
        "SPARK_LOCAL_IP": "127.0.0.1",
    })
    return env


def _settings(env):
    from zhongtai.settings import Settings

    return Settings.from_env(env)


@pytest.fixture(scope="module")
def local_day(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-local")
    env = _base_env(tmp)
    env["ZT_LAKE"] = str(tmp / "lake")
    env["ZT_WAREHOUSE"] = str(tmp / "warehouse" / "zt.duckdb")
    _zt(["generate", "--days", DAY, "--persons", str(PERSONS)], env)
    run = _zt(["run", "--date", DAY], env)
    return env, run


@pytest.fixture(scope="module")
def s3_postgres_day(tmp_path_factory, s3_endpoint):
    require_service(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    import psycopg2

    tmp = tmp_path_factory.mktemp("e2e-s3")
    db = f"zt_e2e_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    admin.cursor().execute(f"create database {db}")
    env = _base_env(tmp)
    env.update({
        "ZT_LAKE": f"s3://zt-e2e-{uuid.uuid4().hex[:8]}",
        "ZT_S3_ENDPOINT": s3_endpoint,
        "ZT_S3_ACCESS_KEY": "testing",
        "ZT_S3_SECRET_KEY": "testing",
        "ZT_WAREHOUSE": f"postgresql://postgres@127.0.0.1:5432/{db}",
    })
    _zt(["generate", "--days", DAY, "--persons", str(PERSONS)], env)
    run = _zt(["run", "--date", DAY], env)
    yield env, run
    admin.cursor().execute(f"drop database if exists {db} with (force)")
    admin.close()


def _summary(env):
    from zhongtai.warehouse import read_mart

    rows = read_mart(_settings(env), f"select * from marts.daily_summary where business_date = "
                                     f"cast('{DAY}' as date)")
    assert len(rows) == 1
    return rows[0]


def _ledger(env):
    from zhongtai.contracts import feed_names
    from zhongtai.lake import Lake

    lake = Lake(_settings(env))
    out = {}
    for feed in feed_names():
        t = lake.read_table("ledger", f"deliveries_{feed}", DAY)
        out[feed] = t.to_pylist() if t is not None else []
    return out


def _check_day(env, run):
    from zhongtai.lake import Lake

    settings = _settings(env)
    lake = Lake(settings)
    assert f"business day {DAY}" in run.stdout
    # every feed delivered, and the books of every delivery balance
    ledger = _ledger(env)
    for feed, deliveries in ledger.items():
        assert deliveries, f"no delivery recorded for {feed}"
        for d in deliveries:
            assert d["rows_in"] == d["rows_loaded"] + d["rows_quarantined"] + d["rows_duplicate"], d
    # the master library holds the residents of the generated district
    persons = lake.read_table("master", "persons", DAY).to_pylist()
    residents = [p for p in persons if p["is_resident"]]
    assert len(residents) >= PERSONS * 0.8
    # the entity and address libraries, in the lake and in the warehouse's master schema
    from zhongtai.warehouse import read_mart

    for lib, key, xw in (("entities", "entity_key", "entity_crosswalk"),
                         ("addresses", "address_key", "address_crosswalk")):
        rows = read_mart(settings, f"select count(distinct {key}) as n from master.{lib}")
        assert rows[0]["n"] == lake.read_table("master", lib, DAY).num_rows > 0, lib
        links = read_mart(settings, f"select count(*) as n from master.{xw}")
        assert links[0]["n"] >= rows[0]["n"], lib
    summary = _summary(env)
    assert summary["persons_in_library"] >= len(residents) * 0.9
    assert summary["comparisons"] > 0
    assert summary["assigned"] > 0
    # codes exist for every resident and only for residents
    codes = read_mart(settings, f"select person_key, code from marts.person_codes where "
                                f"as_of_date = cast('{DAY}' as date)")
    resident_keys = {p["person_key"] for p in residents}
    assert {c["person_key"] for c in codes} == resident_keys
    assert {c["code"] for c in codes} <= {"green", "yellow", "red"}
    # the delivery ledger reaches the quality scorecard, one row per feed and source at least
    scorecard = read_mart(settings, "select feed, source_system, deliveries from "
                                    "marts.quality_scorecard")
    assert {r["feed"] for r in scorecard} >= {"population", "nucleic_acid"}
    assert any(c["code"] != "green" for c in codes)
    # exports written with a manifest whose hashes match the files
    import hashlib

    for ds in ("person_codes", "verification_tasks", "persons"):
        base = f"exports/{ds}/date={DAY}"
        manifest = lake.read_json(f"{base}/manifest.json")
        for name, meta in manifest["files"].items():
            assert hashlib.sha256(lake.read_bytes(f"{base}/{name}")).hexdigest() == meta["sha256"]
    return summary


def _raw_ids(env) -> set[str]:
    """The true ID numbers the generator used (truth is beside the lake)."""
    import pyarrow.parquet as pq

    truth = Path(env["ZT_TRUTH"])
    ids: set[str] = set()
    for f in truth.rglob("*.parquet"):
        t = pq.read_table(f)
        for col in t.column_names:
            if "id_number" in col:
                ids |= {v for v in t.column(col).to_pylist() if isinstance(v, str) and len(v) == 18}
    assert ids, "the generator's truth should list ID numbers"
    return ids


def _no_pii_in_published(env):
    from zhongtai.lake import Lake

    lake = Lake(_settings(env))
    ids = _raw_ids(env)
    pattern = re.compile(r"\d{17}[\dXx]")
    zones = ("exports", "master/persons", "master/person_crosswalk", "master/entities",
             "master/entity_crosswalk", "master/addresses", "master/address_crosswalk")
    for zone in zones:
        for f in lake.list_files(zone):
            data = lake.read_bytes(f.path)
            if f.path.endswith(".parquet"):
                import io

                import pyarrow.parquet as pq

                text = json.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), default=str)
            else:
                text = data.decode("utf-8", "replace")
            found = {m for m in pattern.findall(text) if m.upper() in ids}
            assert not found, f"raw ID numbers in {f.path}"


def test_local_day_runs_through_every_stage(local_day):
    env, run = local_day
    _check_day(env, run)


def test_local_day_publishes_no_raw_id_numbers(local_day):
    _no_pii_in_published(local_day[0])


def test_links_of_every_library_are_explained_and_evaluated(local_day):
    env, _ = local_day
    from zhongtai.lake import Lake

    lake = Lake(_settings(env))
    ent = lake.read_table("master", "entity_crosswalk", DAY).to_pylist()[0]
    res = _zt(["explain-link", "legal_entity", ent["source_system"], ent["source_record_id"]], env)
    assert ent["entity_key"] in res.stdout and "grade" in res.stdout
    addr = [r for r in lake.read_table("master", "address_crosswalk", DAY).to_pylist()
            if r["address_role"] == "residence"][0]
    res = _zt(["explain-link", "population", addr["source_system"], addr["source_record_id"],
               "--library", "address"], env)
    assert addr["address_key"] in res.stdout
    for lib in ("persons", "entities", "addresses"):
        res = _zt(["eval-match", "--date", DAY, "--library", lib], env)
        f1 = float(re.search(r"pairwise .* F1 ([0-9.]+)", res.stdout).group(1))
        assert f1 >= 0.98, (lib, res.stdout)


def test_status_lists_the_day(local_day):
    env, _ = local_day
    res = _zt(["status"], env)
    for zone in ("landing", "raw", "clean", "master", "exports"):
        assert zone in res.stdout


@pytest.mark.s3
@pytest.mark.postgres
def test_s3_lake_and_postgres_warehouse_give_the_same_day(s3_postgres_day, local_day):
    env, run = s3_postgres_day
    remote = _check_day(env, run)
    _no_pii_in_published(env)
    local = _summary(local_day[0])
    keys = [k for k in local if k not in ("built_at",)]
    assert {k: str(remote[k]) for k in keys} == {k: str(local[k]) for k in keys}
