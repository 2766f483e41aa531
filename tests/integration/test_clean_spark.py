"""clean_feed end to end on a tiny raw partition with known truth (Spark)."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest

from zhongtai.clean import clean_feed
from zhongtai.contracts.model import load_contract
from zhongtai.ids.resident_id import check_char
from zhongtai.lake import Lake

D = dt.date(2026, 11, 1)
UTC = dt.UTC
_ARROW = {
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "integer": pa.int64(),
    "number": pa.float64(),
}


def rid(first17: str) -> str:
    return first17 + check_char(first17)


def raw_table(feed: str, rows: list[dict]) -> pa.Table:
    """A raw-zone table: every contract column typed, plus lineage."""
    c = load_contract(feed)
    fields = [pa.field(col.name, _ARROW[col.logical_type]) for col in c.columns]
    fields += [
        pa.field("_delivery_id", pa.string()),
        pa.field("_source", pa.string()),
        pa.field("_source_file", pa.string()),
        pa.field("_file_sha256", pa.string()),
        pa.field("_line_number", pa.int64()),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("_business_date", pa.date32()),
        pa.field("_issues", pa.list_(pa.string())),
    ]
    full = []
    for i, r in enumerate(rows, 1):
        base = {f.name: None for f in fields}
        base.update(
            _delivery_id="d1",
            _source="s",
            _source_file="landing/x.csv",
            _file_sha256="0",
            _line_number=i,
            _ingested_at=dt.datetime(2026, 11, 1, tzinfo=UTC),
            _business_date=D,
            _issues=[],
        )
        base.update(r)
        full.append(base)
    return pa.Table.from_pylist(full, schema=pa.schema(fields))


def publish_geo(lake: Lake) -> None:
    div = [
        ("110000000000", "北京市", "province", None, None),
        ("110100000000", "市辖区", "city", "110000000000", None),
        ("110101000000", "东城区", "county", "110100000000", None),
        ("110103000000", "崇文区", "county", "110100000000", dt.date(2010, 7, 1)),
        ("110101001000", "东华门街道", "township", "110101000000", None),
        ("110101001001", "多福巷社区", "community", "110101001000", None),
    ]
    lake.publish_table(
        "raw",
        "divisions",
        D,
        raw_table(
            "divisions",
            [
                dict(division_code=c, name=n, level=lv, parent_code=p, valid_to=vt)
                for c, n, lv, p, vt in div
            ],
        ),
        "r1",
    )
    base = "北京市东城区东华门街道多福巷社区多福巷12号院"
    lake.publish_table(
        "raw",
        "addresses",
        D,
        raw_table(
            "addresses",
            [
                dict(
                    address_id="A1",
                    full_address=base + "3栋2单元501",
                    community_code="110101001001",
                    building="3",
                    unit="2",
                    room="501",
                    grid_id="G1",
                ),
                dict(
                    address_id="A2",
                    full_address=base + "3栋2单元502",
                    community_code="110101001001",
                    building="3",
                    unit="2",
                    room="502",
                    grid_id="G1",
                ),
            ],
        ),
        "r1",
    )


@pytest.fixture
def lake(settings):
    lake = Lake(settings)
    lake.ensure()
    return lake


def test_population_clean(spark, settings, lake):
    publish_geo(lake)
    valid = rid("11010119800101001")  # male (seq 001), born 1980-01-01
    x_id = rid("11010119900307002")  # female
    while not x_id.endswith("X"):  # find a real number whose check char is X
        x_id = rid(str(int(x_id[:17]) + 2))
    legacy15 = "110101850505003"  # upgrades to 110101 19 850505003 + check
    other = rid("11010119700101005")
    bad_check = other[:17] + ("0" if other[17] != "0" else "1")
    phone = "13812345678"
    rows = [
        dict(
            source_system="hukou",
            source_record_id="1",
            id_number=valid,
            name="张 三",
            phone="138 1234 5678",
            gender="male",
            birth_date=dt.date(1980, 1, 1),
            address="北京市东城区多福巷12号院3-2-501",
        ),
        dict(
            source_system="hukou",
            source_record_id="2",
            id_number=x_id.lower(),
            name="張三豐",
            phone="+86 13812345678",
            address="东城区多福巷12号院三栋二单元五零二",
        ),
        dict(
            source_system="census",
            source_record_id="3",
            id_number=legacy15,
            name="曾小明",
            phone="0086-138-1234-5678",
            address="崇文区多福巷12号院3号楼2单元501室",
        ),
        dict(
            source_system="census",
            source_record_id="4",
            id_number="1.10101E+17",
            name="李四",
            phone="12345",
            address="某某路1号",
        ),
        dict(source_system="grid", source_record_id="5", id_number=bad_check, name="Wang Wu"),
        dict(
            source_system="grid",
            source_record_id="6",
            id_type="passport",
            id_number="e1234567 8",
            name="买买提•艾力",
            phone=phone,
        ),
        dict(
            source_system="grid",
            source_record_id="7",
            id_number=None,
            name="王小明（已故）",
            record_status=None,
        ),
        dict(
            source_system="self_report",
            source_record_id="8",
            id_number=other,
            name="赵六",
            phone=phone,
            gender="female",
            birth_date=dt.date(1971, 1, 1),
        ),
    ]
    lake.publish_table("raw", "population", D, raw_table("population", rows), "r1")

    report = clean_feed(settings, "population", D, "c1")

    assert report.published and report.rows == 8
    out = {r["source_record_id"]: r for r in lake.read_table("clean", "population", D).to_pylist()}
    assert len(out) == 8  # nothing dropped
    status = {k: v["id_status"] for k, v in out.items()}
    assert status == {
        "1": "valid",
        "2": "repaired",
        "3": "upgraded_15",
        "4": "excel_damaged",
        "5": "checksum_failed",
        "6": "other_document",
        "7": "missing",
        "8": "valid",
    }
    assert out["2"]["id_number_norm"] == x_id
    assert out["3"]["id_number_norm"] == "11010119850505003" + check_char("11010119850505003")
    assert out["6"]["id_type"] == "passport" and out["6"]["id_number_norm"] == "E12345678"
    assert out["4"]["id_number_norm"] is None and out["4"]["id_pseudonym"] is None
    assert out["1"]["id_masked"] == valid[:6] + "********" + valid[-4:]
    assert len(out["1"]["id_pseudonym"]) == 64 and out["1"]["pseudonym_key_version"] == "v1"
    # names
    assert [out[k]["name_norm"] for k in "1267"] == ["张三", "张三丰", "买买提·艾力", "王小明"]
    assert out["3"]["name_pinyin"] == "zengxiaoming"
    assert "name:pinyin_only" in out["5"]["_flags"]
    assert out["1"]["name_masked"] == "张*"
    # phones: five distinct persons give the same mobile
    assert {out[k]["phone_norm"] for k in "12368"} == {phone}
    assert all(out[k]["phone_shared"] for k in "12368")
    assert not out["4"]["phone_shared"] and out["4"]["phone_kind"] == "invalid"
    assert out["1"]["phone_masked"] == "138****5678"
    # derived from ID and cross-checked
    assert out["1"]["birth_date_from_id"] == dt.date(1980, 1, 1)
    assert out["1"]["birth_date_conflict"] is False and out["1"]["gender_conflict"] is False
    assert out["8"]["birth_date_conflict"] is True and out["8"]["gender_conflict"] is True
    # addresses
    assert [out[k]["address_id"] for k in "1234"] == ["A1", "A2", "A1", None]
    assert out["1"]["grid_id"] == "G1" and out["1"]["address_community_code"] == "110101001001"
    assert (
        out["1"]["address_norm"]
        == "北京市市辖区东城区东华门街道多福巷社区多福巷12号院3栋2单元501室"
    )
    rules3 = {r["rule"] for r in out["3"]["_repairs"]}
    assert {"upgrade_15", "rename_old_division", "strip_country_code"} <= rules3
    # vocab default and business date
    assert out["7"]["record_status"] == "active"
    assert all(v["business_date"] == D for v in out.values())
    # repairs carry classes, never values
    classes = {
        c for v in out.values() for rep in v["_repairs"] for c in (rep["before"], rep["after"])
    }
    assert all(re.fullmatch(r"[a-z_]+(15|18)?", c) for c in classes), classes
    assert report.id_status["valid"] == 2 and report.rows_flagged >= 4


def test_nucleic_acid_dates_and_site(spark, settings, lake):
    publish_geo(lake)
    rows = [
        dict(
            source_platform="city",
            sample_id="S1",
            id_number=rid("11010119800101001"),
            sampled_at=dt.datetime(2026, 10, 31, 17, 30, tzinfo=UTC),
            tested_at=dt.datetime(2026, 11, 1, 16, 30, tzinfo=UTC),
            site_division_code="110101001001",
            result="negative",
        ),
        dict(
            source_platform="national",
            sample_id="S2",
            sampled_at=dt.datetime(2026, 11, 1, 1, tzinfo=UTC),
            site_division_code="120101000000",
            result="阳性",
        ),
        dict(
            source_platform="city",
            sample_id="S3",
            sampled_at=dt.datetime(2026, 11, 1, 2, tzinfo=UTC),
        ),
    ]
    # a genuine number ending in 000, in a file without any Excel damage: kept, flagged
    rows.append(
        dict(
            source_platform="city",
            sample_id="S4",
            id_number="110101195001018000",
            sampled_at=dt.datetime(2026, 11, 1, 2, tzinfo=UTC),
        )
    )
    lake.publish_table("raw", "nucleic_acid", D, raw_table("nucleic_acid", rows), "r1")
    clean_feed(settings, "nucleic_acid", D, "c1")
    out = {r["sample_id"]: r for r in lake.read_table("clean", "nucleic_acid", D).to_pylist()}
    assert out["S4"]["id_status"] == "valid"
    assert out["S4"]["_flags"] == ["id_number:possible_excel_trailing_zeros", "name:missing"]
    assert out["S1"]["sample_date"] == dt.date(2026, 11, 1)  # 01:30 in Shanghai
    assert out["S1"]["result_date"] == dt.date(2026, 11, 2)
    assert out["S3"]["result_date"] is None
    assert [out[k]["site_in_district"] for k in ("S1", "S2", "S3")] == [True, False, None]
    assert out["S2"]["result"] == "positive"
    assert out["S3"]["id_status"] == "missing"


def test_no_raw_partition_publishes_nothing(settings, lake):
    report = clean_feed(settings, "population", D, "c1")
    assert not report.published and "no raw partition" in report.message
    assert lake.current("clean", "population", D) is None


DIRT = [  # (how the delivered number is damaged, the status cleaning must give)
    (lambda s: s, "valid"),
    (lambda s: s[:6] + " " + s[6:14] + "-" + s[14:], "repaired"),
    (lambda s: "".join(chr(ord(c) + 0xFEE0) for c in s), "repaired"),
    (lambda s: "'" + s, "repaired"),
    (lambda s: s[:6] + s[8:17], "upgraded_15"),
    (lambda s: "1.10105E+17", "excel_damaged"),
    (lambda s: s[:15] + "000", "excel_damaged"),
    (lambda s: s[:16] + str((int(s[16]) + 1) % 10) + s[17], "checksum_failed"),
    (lambda s: s[:14], "bad_format"),
    (lambda s: None, "missing"),
]


def test_share_repaired_and_flagged_matches_truth(spark, settings, lake):
    import numpy as np

    from zhongtai.ids.resident_id import build_np

    n = 200
    rng = np.random.default_rng(3)
    # seq 1-899 and days 1-28 keep every number a real one whose damage is detectable
    birth = rng.integers(1940, 1999, n) * 10000 + rng.integers(1, 13, n) * 100 + 15
    ids = build_np(np.full(n, 110101), birth, rng.integers(1, 899, n))
    ids = [s if not s.endswith("000") else build_np([110101], [19800101], [1])[0] for s in ids]
    truth, rows = [], []
    for i, s in enumerate(ids):
        damage, status = DIRT[i % len(DIRT)]
        truth.append(status)
        rows.append(
            dict(source_system="hukou", source_record_id=str(i), id_number=damage(s), name="张三")
        )
    lake.publish_table("raw", "population", D, raw_table("population", rows), "r1")

    report = clean_feed(settings, "population", D, "c1")

    got = {
        int(r["source_record_id"]): r for r in lake.read_table("clean", "population", D).to_pylist()
    }
    assert len(got) == n
    correct = sum(got[i]["id_status"] == truth[i] for i in range(n))
    assert correct / n == 1.0
    usable = {"valid", "repaired", "upgraded_15"}
    for i in range(n):
        assert (got[i]["id_number_norm"] == ids[i]) == (truth[i] in usable)
        id_flags = [f for f in got[i]["_flags"] if f.startswith("id_number:")]
        assert bool(id_flags) == (truth[i] not in usable)
    assert report.id_status == {s: truth.count(s) for s in set(truth)}
    # 3 of the 20 trailing-zero numbers pass the check by chance; the file's other
    # Excel damage is the evidence that classifies them too
    assert report.flags["id_number:excel_trailing_zeros"] == truth.count("excel_damaged") // 2
    assert report.flags["id_number:checksum_failed"] == truth.count("checksum_failed")


def test_clean_columns_typed_as_zones_md(spark, settings, lake):
    from pyspark.testing import assertDataFrameEqual

    publish_geo(lake)
    t = dt.datetime(2026, 11, 1, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    rows = [
        dict(
            source_platform="city",
            sample_id="S1",
            sampled_at=t,
            tested_at=t,
            site_division_code="110101001001",
            phone="+86 010 62345678",
        )
    ]
    lake.publish_table("raw", "nucleic_acid", D, raw_table("nucleic_acid", rows), "r1")
    clean_feed(settings, "nucleic_acid", D, "c1")
    table = lake.read_table("clean", "nucleic_acid", D)
    assert table.schema.field("sampled_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("_repairs").type.value_type.names == [
        "field",
        "rule",
        "before",
        "after",
    ]
    files = [lake.full(f) for f in lake.current("clean", "nucleic_acid", D).files]
    actual = spark.read.parquet(*files).select(
        "sample_id", "sample_date", "site_in_district", "phone_norm", "phone_kind", "phone_masked"
    )
    expected = spark.createDataFrame(
        [("S1", dt.date(2026, 11, 1), True, "010-62345678", "landline", "010-****5678")],
        actual.schema,
    )
    assertDataFrameEqual(actual, expected)


def test_a_single_row_group_delivery_is_cleaned_on_every_core(spark, settings, tmp_path):
    """A delivery written as one Parquet row group is read by one task; the rules must
    still run on every core (before the fix, one partition held every row)."""
    import pyarrow.parquet as pq

    from zhongtai.clean.batch import CleanContext
    from zhongtai.privacy import Pseudonymiser
    from zhongtai.spark.jobs import load_job

    rows = [
        dict(source_record_id=f"r{i}", id_number=rid(f"11010119900101{i:03d}"), name="张三")
        for i in range(400)
    ]
    path = tmp_path / "one_group.parquet"
    pq.write_table(raw_table("population", rows), path, row_group_size=1 << 20)
    job = load_job("clean")
    # small splits, as a big file gets: Spark plans several, all but one without a row group
    before = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")
    try:
        df = job.extract(spark, [str(path)])
        assert df.rdd.getNumPartitions() >= 2
        ctx = CleanContext("population", D, Pseudonymiser.from_settings(settings))
        sizes = job.transform_rules(df, ctx).rdd.glom().map(len).collect()
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", before)
    assert sum(sizes) == 400
    cores = spark.sparkContext.defaultParallelism
    assert sum(1 for n in sizes if n > 0) >= min(cores, 2), sizes
