"""pull_postgres_table against the local PostgreSQL server, then ingest_feed on what it landed."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.ingest import ingest_feed
from zhongtai.ingest.connectors.postgres_table import pull_postgres_table
from zhongtai.ingest.connectors.state import read_state, state_path
from zhongtai.lake.store import Lake

FEED, SOURCE = "population", "hukou"
D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
TABLE = "户籍人口"
BIG = "12345678901234567890.1234567891"  # numeric(30, 10): exact only as text
AT = dt.datetime(2026, 11, 3, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(postgres_dsn):
    """A fresh schema with a population table whose names are the departments' Chinese ones."""
    psycopg2 = pytest.importorskip("psycopg2")
    schema = f"zt_conn_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(postgres_dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"create schema {schema}")
    cur.execute(
        f'create table {schema}."{TABLE}" ('
        ' "来源" text, "记录编号" text primary key, "身份证号" text, "姓名" text,'
        ' "出生日期" date, "积分" numeric(30, 10), "更新时间" timestamptz)'
    )
    yield cur, schema
    cur.execute(f"drop schema {schema} cascade")
    conn.close()


def insert(cur, schema: str, rows: list[tuple]) -> None:
    cur.executemany(f'insert into {schema}."{TABLE}" values (%s, %s, %s, %s, %s, %s, %s)', rows)


def lines(settings, rel: str) -> list[dict]:
    data = Lake(settings).read_bytes(rel).decode("utf-8")
    return [json.loads(x) for x in data.splitlines()]


def pull(settings, dsn, schema, day, **kw):
    return pull_postgres_table(
        settings, FEED, SOURCE, day, dsn, f"{schema}.{TABLE}", watermark_column="更新时间",
        batch_rows=2, **kw,
    )  # fmt: skip


def test_incremental_pull_then_ingest(settings, postgres_dsn, db):
    cur, schema = db
    insert(
        cur,
        schema,
        [
            ("hukou", "R2", "110105199001011234", "张三", "1990-01-01", BIG,
             "2026-11-01 08:00:00+08"),
            ("hukou", "R1", "11010519900101123X", "李四", "1990-01-01", None,
             "2026-11-01 08:00:00+08"),
            ("户籍", "R3", None, "王五", None, "0.5", "2026-11-01 23:59:59.999999+08"),
            ("hukou", "R4", None, "赵六", None, None, "2026-11-02 00:00:00+08"),
            ("hukou", "R5", None, "孙七", None, None, None),
        ],
    )  # fmt: skip

    r1 = pull(settings, postgres_dsn, schema, D1)
    name = f"{TABLE}__start__20261101T155959999999Z.jsonl"
    assert r1.files == [f"landing/{FEED}/{SOURCE}/2026-11-01/{name}"]
    assert (r1.rows, r1.before, r1.after) == (3, None, "2026-11-01T23:59:59.999999+08:00")
    assert any("1 row(s) have no 更新时间" in n for n in r1.notes)
    got = lines(settings, r1.files[0])
    # ordered by (watermark, primary key); exact numerics as text; times with offset
    assert [g["记录编号"] for g in got] == ["R1", "R2", "R3"]
    assert got[1] == {
        "来源": "hukou",
        "记录编号": "R2",
        "身份证号": "110105199001011234",
        "姓名": "张三",
        "出生日期": "1990-01-01",
        "积分": BIG,
        "更新时间": "2026-11-01T08:00:00+08:00",
    }
    assert got[2]["更新时间"] == "2026-11-01T23:59:59.999999+08:00"
    state = read_state(Lake(settings), FEED, SOURCE)
    assert state["watermark"] == "2026-11-01T23:59:59.999999+08:00"
    assert state["table"] == f"{schema}.{TABLE}"

    # nothing new for D1: nothing written, watermark unchanged
    again = pull(settings, postgres_dsn, schema, D1)
    assert (again.rows, again.files, again.after) == (0, [], r1.after)

    # D2: one new row, one changed row; only those (and R4, which D1 did not cover)
    insert(cur, schema, [("hukou", "R6", None, "周八", None, None, "2026-11-02 09:30:00+08")])
    cur.execute(
        f'update {schema}."{TABLE}" set "姓名" = %s, "更新时间" = %s where "记录编号" = %s',
        ("李四改", "2026-11-02 10:00:00+08", "R1"),
    )
    r2 = pull(settings, postgres_dsn, schema, D2)
    got2 = lines(settings, r2.files[0])
    assert [(g["记录编号"], g["姓名"]) for g in got2] == [
        ("R4", "赵六"),
        ("R6", "周八"),
        ("R1", "李四改"),
    ]
    assert r2.before == r1.after and r2.after == "2026-11-02T10:00:00.000000+08:00"
    assert r2.files[0].endswith("__20261101T155959999999Z__20261102T020000000000Z.jsonl")

    # ingestion reads the landed files like any delivery; headers map through the aliases
    rep1 = ingest_feed(settings, FEED, D1, "r1", ingested_at=AT)
    assert (rep1.rows_in, rep1.rows_loaded, rep1.rows_quarantined) == (3, 3, 0)
    raw1 = Lake(settings).read_table("raw", FEED, D1).sort_by("source_record_id").to_pylist()
    assert [r["source_record_id"] for r in raw1] == ["R1", "R2", "R3"]
    assert raw1[1]["name"] == "张三" and raw1[1]["birth_date"] == dt.date(1990, 1, 1)
    assert raw1[2]["source_system"] == "hukou"  # enum synonym 户籍 mapped
    assert raw1[2]["updated_at"] == dt.datetime(2026, 11, 1, 15, 59, 59, 999999, tzinfo=dt.UTC)
    assert raw1[0]["_source_file"] == r1.files[0]
    rep2 = ingest_feed(settings, FEED, D2, "r1", ingested_at=AT)
    assert (rep2.rows_in, rep2.rows_loaded) == (3, 3)
    assert Lake(settings).read_table("raw", FEED, D2).column("name").to_pylist() == [
        "赵六",
        "周八",
        "李四改",
    ]


def test_crash_before_watermark_adopts_landed_file(settings, postgres_dsn, db):
    cur, schema = db
    insert(cur, schema, [("hukou", "A1", None, "甲", None, None, "2026-11-01 09:00:00+08")])

    def crash(event: str, path: str) -> None:
        raise RuntimeError("simulated crash after writing " + event)

    with pytest.raises(RuntimeError):
        pull(settings, postgres_dsn, schema, D1, on_event=crash)
    lake = Lake(settings)
    assert not lake.exists(state_path(FEED, SOURCE))  # watermark not advanced
    landed = [f.path for f in lake.list_files(f"landing/{FEED}/{SOURCE}/2026-11-01/")]
    assert len(landed) == 1
    first_bytes = lake.read_bytes(landed[0])

    # a row arrives before the retry: the retry must not land A1 a second time
    insert(cur, schema, [("hukou", "A2", None, "乙", None, None, "2026-11-01 10:00:00+08")])
    r = pull(settings, postgres_dsn, schema, D1)
    assert r.before is None and r.rows == 1
    assert [g["记录编号"] for g in lines(settings, r.files[0])] == ["A2"]
    assert r.after == "2026-11-01T10:00:00.000000+08:00"
    all_ids = [
        g["记录编号"]
        for f in lake.list_files(f"landing/{FEED}/{SOURCE}/2026-11-01/")
        for g in lines(settings, f.path)
    ]
    assert sorted(all_ids) == ["A1", "A2"]

    # a re-pull of the same range from scratch writes the same bytes under the same name
    lake.delete(f"landing/{FEED}/{SOURCE}")
    lake.delete(state_path(FEED, SOURCE))
    cur.execute(f'delete from {schema}."{TABLE}" where "记录编号" = %s', ("A2",))
    again = pull(settings, postgres_dsn, schema, D1)
    assert again.files == landed and lake.read_bytes(landed[0]) == first_bytes


def test_large_pull_splits_at_watermark_changes(settings, postgres_dsn, db):
    cur, schema = db
    rows = [
        ("hukou", f"B{i}", None, None, None, None, f"2026-11-01 0{t}:00:00+08")
        for i, t in enumerate([1, 1, 1, 2, 3, 3])
    ]
    insert(cur, schema, rows)
    r = pull(settings, postgres_dsn, schema, D1, max_rows_per_file=2)
    # ties at 01:00 stay in one file; the watermark advanced after each file
    sizes = [len(lines(settings, f)) for f in r.files]
    assert sizes == [3, 3] and r.rows == 6
    assert r.files[0].endswith("__start__20261031T170000000000Z.jsonl")
    assert r.files[1].endswith("__20261031T170000000000Z__20261031T190000000000Z.jsonl")


def test_naive_timestamp_watermark_is_business_time(settings, postgres_dsn, db):
    cur, schema = db
    cur.execute(f"create table {schema}.appeals (appeal_id text primary key, submitted_at text,"
                " changed timestamp without time zone)")  # fmt: skip
    cur.executemany(
        f"insert into {schema}.appeals values (%s, %s, %s)",
        [("P1", "2026-11-01 08:00", "2026-11-01 23:59:59"), ("P2", "x", "2026-11-02 00:00:00")],
    )
    r = pull_postgres_table(
        settings, "appeals", "health_code_service", D1, postgres_dsn, f"{schema}.appeals",
        watermark_column="changed",
    )  # fmt: skip
    assert r.rows == 1 and r.after == "2026-11-01T23:59:59.000000+08:00"
    assert lines(settings, r.files[0]) == [
        {
            "appeal_id": "P1",
            "submitted_at": "2026-11-01 08:00",
            "changed": "2026-11-01T23:59:59+08:00",
        }
    ]


def test_clear_errors(settings, postgres_dsn, db):
    cur, schema = db
    with pytest.raises(ZhongtaiError, match="not found"):
        pull_postgres_table(settings, FEED, SOURCE, D1, postgres_dsn, f"{schema}.missing")
    with pytest.raises(ZhongtaiError, match="has no column 'updated_at'"):
        pull_postgres_table(settings, FEED, SOURCE, D1, postgres_dsn, f"{schema}.{TABLE}")
    with pytest.raises(ZhongtaiError, match="is text; use a timestamptz"):
        pull_postgres_table(
            settings, FEED, SOURCE, D1, postgres_dsn, f"{schema}.{TABLE}", watermark_column="姓名"
        )
    with pytest.raises(ZhongtaiError, match="not a source of population"):
        pull_postgres_table(settings, FEED, "nowhere", D1, postgres_dsn, f"{schema}.{TABLE}")
    with pytest.raises(ZhongtaiError) as e:
        pull_postgres_table(settings, FEED, SOURCE, D1, "postgresql://u:s3cret@127.0.0.1:1/db", "t")
    assert "cannot connect to Postgres at 127.0.0.1:1/db" in str(e.value)
    assert "s3cret" not in str(e.value)
