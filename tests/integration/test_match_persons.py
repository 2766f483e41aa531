"""Person linking v0 on small clean partitions with known truth."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from zhongtai.lake import Lake
from zhongtai.match import build_person_master

pytestmark = pytest.mark.integration
D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
TS = pa.timestamp("us", tz="UTC")


def _pop(rows):
    base = {
        "id_type": "resident_id",
        "id_masked": None,
        "name_masked": "张*",
        "phone_pseudonym": None,
        "phone_masked": None,
        "gender_from_id": "male",
        "gender": "male",
        "birth_date_from_id": dt.date(1980, 1, 1),
        "birth_date": None,
        "residence_status": "permanent",
        "record_status": "active",
        "community_code": "110105001001",
        "address_community_code": None,
        "grid_id": "G1",
        "address_id": "A1",
        "updated_at": None,
        "pseudonym_key_version": "v1",
        "_ingested_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        "_line_number": 1,
    }
    return _typed([{**base, **r} for r in rows])


def _typed(rows):
    """Rows → a table typed as the clean zone is (docs/ZONES.md), nulls included."""
    types = {
        "birth_date_from_id": pa.date32(),
        "birth_date": pa.date32(),
        "business_date": pa.date32(),
        "updated_at": TS,
        "_ingested_at": TS,
        "_line_number": pa.int64(),
    }
    names = list(dict.fromkeys(k for r in rows for k in r))
    schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
    return pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)


def _tests(rows):
    base = {
        "id_type": "resident_id",
        "id_masked": None,
        "name_masked": "张*",
        "pseudonym_key_version": "v1",
        "_ingested_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        "_line_number": 1,
    }
    return _typed([{**base, **r} for r in rows])


def test_exact_id_links_and_stable_keys(settings, spark):
    lake = Lake(settings)
    lake.publish_table(
        "clean",
        "population",
        D1,
        _pop(
            [
                {
                    "source_system": "hukou",
                    "source_record_id": "h1",
                    "id_pseudonym": "a" * 64,
                    "business_date": D1,
                },
                {
                    "source_system": "grid",
                    "source_record_id": "g9",
                    "id_pseudonym": "a" * 64,
                    "residence_status": "floating",
                    "grid_id": "G2",
                    "business_date": D1,
                },
                {
                    "source_system": "census",
                    "source_record_id": "c1",
                    "id_pseudonym": "b" * 64,
                    "record_status": "removed",
                    "business_date": D1,
                },
            ]
        ),
        "r1",
    )
    lake.publish_table(
        "clean",
        "nucleic_acid",
        D1,
        _tests(
            [
                {
                    "source_platform": "city",
                    "sample_id": "S1",
                    "id_pseudonym": "a" * 64,
                    "business_date": D1,
                },
                {
                    "source_platform": "national",
                    "sample_id": "N1",
                    "id_pseudonym": "a" * 64,
                    "business_date": D1,
                },
                {
                    "source_platform": "city",
                    "sample_id": "S2",
                    "id_pseudonym": "c" * 64,
                    "business_date": D1,
                },
                {
                    "source_platform": "city",
                    "sample_id": "S3",
                    "id_pseudonym": None,
                    "business_date": D1,
                },
            ]
        ),
        "r1",
    )
    rep = build_person_master(settings, D1, "r1")
    assert rep.records == 7
    assert (rep.linked_certain, rep.new_records) == (6, 1)
    assert rep.persons == 4  # a, b, c and the record without a usable ID
    assert rep.residents == 1  # b's only population record is removed; c is not in the library
    persons = {r["id_pseudonym"]: r for r in lake.read_table("master", "persons", D1).to_pylist()}
    a = persons["a" * 64]
    # survivorship: hukou outranks grid
    assert (a["residence_status"], a["grid_id"], a["is_resident"]) == ("permanent", "G1", True)
    assert (
        a["source_systems"]
        == "nucleic_acid:city;nucleic_acid:national;population:grid;population:hukou"
    )
    assert persons["c" * 64]["has_population_record"] is False
    xw = lake.read_table("master", "person_crosswalk", D1).to_pylist()
    keys = {(r["feed"], r["source_record_id"]): r["person_key"] for r in xw}
    assert (
        keys[("nucleic_acid", "S1")] == keys[("nucleic_acid", "N1")] == keys[("population", "h1")]
    )
    assert keys[("nucleic_acid", "S3")].startswith("R")
    # raw PII never reaches the published master
    published = lake.read_table("master", "persons", D1).column_names
    assert not {"id_number", "id_number_norm", "name", "name_norm", "phone", "phone_norm"} & set(
        published
    )

    # day 2: a correction re-sent for S1 and a new test for a: same keys as day 1
    lake.publish_table(
        "clean",
        "nucleic_acid",
        D2,
        _tests(
            [
                {
                    "source_platform": "city",
                    "sample_id": "S4",
                    "id_pseudonym": "a" * 64,
                    "business_date": D2,
                },
            ]
        ),
        "r2",
    )
    build_person_master(settings, D2, "r2")
    xw2 = {
        (r["feed"], r["source_record_id"]): r["person_key"]
        for r in lake.read_table("master", "person_crosswalk", D2).to_pylist()
    }
    assert xw2[("nucleic_acid", "S4")] == keys[("population", "h1")]
    assert all(xw2[k] == v for k, v in keys.items())


def test_labelled_pairs_are_records_sharing_an_id(spark):
    """m is learned from pairs the fast path labels: two records of one ID and one name."""
    from zhongtai.spark.jobs import load_job

    job = load_job("match_persons")
    rows = []
    for i in range(30):
        pid = f"{i:064x}"
        second = "张三" if i >= 3 else "張三"  # three traditional forms: same pinyin
        for j, name in enumerate(("张三", second)):
            rows.append(
                {
                    "rec_ref": f"population:hukou:{i}-{j}",
                    "id_pseudonym": pid,
                    "fast": True,
                    "name_norm": name,
                    "name_pinyin": "zhang san",
                    "birth_date": dt.date(1980, 1, 1) if i < 10 else None,
                    "gender": "male",
                    "phone_norm": "13800000000",
                    "address_id": "A1" if j == 0 or i % 2 else "A2",
                    "community_any": "110105001001",
                }
            )
    # a conflicting record (not fast) never makes a labelled pair
    rows.append({**rows[0], "rec_ref": "nucleic_acid:city:x", "fast": False, "name_norm": "李四"})
    recs = spark.createDataFrame(pa.Table.from_pylist(rows).to_pandas())
    pats = dict(job.labelled_pair_patterns(recs, id_count=30))
    assert sum(pats.values()) == 30
    fields = job.FIELDS
    name_lv = [p[fields.index("name")] for p, n in pats.items() for _ in range(n)]
    assert (name_lv.count(0), name_lv.count(1)) == (27, 3)
    assert all(p[fields.index("id_number")] == -1 for p in pats)  # the ID is never compared
    birth = [p[fields.index("birth_date")] for p, n in pats.items() for _ in range(n)]
    assert (birth.count(0), birth.count(-1)) == (10, 20)  # only delivered dates compared
    addr = [p[fields.index("address")] for p, n in pats.items() for _ in range(n)]
    assert (addr.count(0), addr.count(1)) == (15, 15)  # A2 in the same community


def _version_rows() -> list[tuple]:
    t0 = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)
    t1 = dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    return [
        # (feed, system, id, business date, ingested, line, file, what)
        ("nucleic_acid", "city", "S1", D1, t0, 1, "a.csv", "S1 original"),
        ("nucleic_acid", "city", "S1", D2, t1, 9, "b.csv", "S1 corrected"),
        ("nucleic_acid", "city", "S2", D1, t0, 2, "a.csv", "S2 first"),
        ("nucleic_acid", "city", "S2", D1, t1, 1, "c.csv", "S2 re-sent later the same day"),
        ("nucleic_acid", "city", "S3", D1, t0, 3, "a.csv", "S3 line 3"),
        ("nucleic_acid", "city", "S3", D1, t0, 7, "a.csv", "S3 line 7"),
        ("nucleic_acid", "national", "S1", D1, t0, 1, "n.csv", "national S1"),
        ("vaccination", "city", "S1", D1, t0, 1, "v.csv", "vaccination S1"),
        ("nucleic_acid", "city", "S4", D1, None, None, None, "S4 once"),
        # two files of one zipped delivery, the same line of each: exactly one survives
        ("nucleic_acid", "city", "S5", D1, t0, 4, "part-1.csv", "S5 in part 1"),
        ("nucleic_acid", "city", "S5", D1, t0, 4, "part-2.csv", "S5 in part 2"),
    ]


VERSIONS_KEPT = sorted(
    [
        "S1 corrected",
        "S2 re-sent later the same day",
        "S3 line 7",
        "national S1",
        "vaccination S1",
        "S4 once",
        "S5 in part 2",
    ]
)


def _stage_version_rows(tmp_path):
    """The version rows as clean files of their feeds (``what`` in name_norm), staged."""
    import pyarrow.parquet as pq

    from zhongtai.match.config import load_matching_config
    from zhongtai.spark.jobs import load_job

    job = load_job("match_persons")
    t2 = dt.datetime(2026, 11, 3, 8, tzinfo=dt.UTC)
    later = ("nucleic_acid", "city", "S3", D2 + dt.timedelta(days=1), t2, 99, "z.csv", "S3 later")
    paths: dict[str, list[str]] = {}
    for feed, (src_col, rec_col) in job.PERSON_FEEDS.items():
        mine = [r for r in [*_version_rows(), later] if r[0] == feed]
        if not mine:
            continue
        n = len(mine)
        table = pa.table(
            {
                **({src_col: [r[1] for r in mine]} if src_col else {}),
                rec_col: [r[2] for r in mine],
                "business_date": pa.array([r[3] for r in mine], pa.date32()),
                "_ingested_at": pa.array([r[4] for r in mine], pa.timestamp("us", "UTC")),
                "_line_number": pa.array([r[5] for r in mine], pa.int64()),
                "_source_file": [r[6] for r in mine],
                "name_norm": [r[7] for r in mine],
                # two of every three records with an ID; two records share each ID
                "id_pseudonym": [f"ID{k // 2}" if k % 3 else None for k in range(n)],
                "name_masked": [None if k % 4 == 0 else "张*" for k in range(n)],
                "updated_at": pa.array(
                    [r[4] if k % 2 else None for k, r in enumerate(mine)],
                    pa.timestamp("us", "UTC"),
                ),
                "gender": [None if k % 2 else "male" for k in range(n)],
            }
        )
        # each feed in two files, as a feed's days are
        half = n // 2
        first, second = tmp_path / f"{feed}-1.parquet", tmp_path / f"{feed}-2.parquet"
        pq.write_table(table.slice(0, half), first)
        pq.write_table(table.slice(half), second)
        paths[feed] = [str(first), str(second)]
    cfg = load_matching_config()
    (tmp_path / "work").mkdir()
    return job, cfg, job.stage_records(paths, D2, cfg, 3, tmp_path / "work")


def test_staged_records_are_the_latest_versions_by_id(tmp_path):
    """A correction supersedes the original: later business date, then later ingestion,
    then later line, then file; records sent once, and keys that differ only in feed, pass
    as they are; a record dated after the business date is not a version yet. All the
    records of one ID are staged in one partition."""
    import pyarrow.parquet as pq

    _, _, partitions = _stage_version_rows(tmp_path)
    assert len(partitions) == 3
    tables = [pq.read_table(files) for files in partitions if files]
    kept = sorted(name for t in tables for name in t["name_norm"].to_pylist())
    assert kept == VERSIONS_KEPT
    ids = [set(t["id_pseudonym"].drop_null().to_pylist()) for t in tables]
    assert all(not (a & b) for k, a in enumerate(ids) for b in ids[k + 1 :])
    staged = pa.concat_tables([t.select(tables[0].column_names) for t in tables])
    assert "id_number" not in staged.column_names  # the raw number lives on as raw_digits
    assert "nucleic_acid:city:S1" in staged["rec_ref"].to_pylist()


def test_staged_order_columns_are_the_survivorship_orders(tmp_path):
    """The order columns staged with the records are the survivorship orders of the
    configured rules: whether the group's value is missing, the source's trust, the
    latest update, business date and ingestion first (a record without one after every
    record with one), the most complete record first."""
    import pyarrow.parquet as pq

    job, cfg, partitions = _stage_version_rows(tmp_path)
    rows = pq.read_table([f for p in partitions for f in p]).to_pylist()
    assert len(rows) == len(VERSIONS_KEPT)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def micros(t):
        return -((t - epoch) // dt.timedelta(microseconds=1)) if t else 1 << 62

    trust = {"nucleic_acid": 6, "vaccination": 5}
    for r in rows:
        want = {
            "_o_name_missing": int(r["name_masked"] is None),
            "_o_id_missing": int(r["id_pseudonym"] is None),
            "_o_trust": trust[r["feed"]],
            "_o_recent_updated": micros(r["updated_at"]),
            "_o_recent_date": -(r["business_date"] - dt.date(1970, 1, 1)).days,
            "_o_recent_ingested": micros(r["_ingested_at"]),
            "_o_complete": -sum(r[c] is not None for c in job.COMPLETE_COLUMNS),
        }
        assert {k: r[k] for k in want} == want, r["rec_ref"]
    assert {r["_o_name_missing"] for r in rows} == {0, 1}
    assert {r["_o_recent_updated"] for r in rows} > {1 << 62}


def test_source_trust_prefers_the_system_key_to_the_feed_key():
    """A ``feed:system`` trust key is more specific than its feed's key and wins over it; an
    unconfigured source gets 99."""
    import duckdb

    from zhongtai.spark.jobs import load_job

    job = load_job("match_persons")
    trust = {"nucleic_acid": 6, "nucleic_acid:city": 2, "population:hukou": 1}
    rows = [
        ("nucleic_acid", "city"),
        ("nucleic_acid", "national"),
        ("population", "hukou"),
        ("population", "grid"),
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE r (feed VARCHAR, source_system VARCHAR)")
    con.executemany("INSERT INTO r VALUES (?, ?)", rows)
    sql = con.sql(f"SELECT {job._trust_sql(trust)} AS t FROM r ORDER BY rowid").fetchall()
    con.close()
    assert [t for (t,) in sql] == [2, 6, 1, 99]
