"""ingest_feed end to end on small delivery files written byte for byte in the test."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhongtai.ingest import IngestLimits, ingest_feed
from zhongtai.lake.store import Lake

D1 = dt.date(2026, 11, 1)
D2 = dt.date(2026, 11, 2)
FEED = "nucleic_acid"
HEADER_ZH = "平台,样本编号,采样时间,检测结果,身份证号,姓名"
ROWS_ZH = [
    "市级,S1,2026/11/1 08:00,阴性,110105199001011234,张三",
    "city,S2,20261101,阳性,11010519900101123X,李四",
]
FIXED_AT = dt.datetime(2026, 11, 1, 20, 0, tzinfo=dt.UTC)


def land(settings, name: str, data: bytes, source: str = "city", day: dt.date = D1) -> str:
    rel = f"landing/{FEED}/{source}/{day.isoformat()}/{name}"
    Lake(settings).write_bytes(rel, data)
    return rel


def run(settings, day: dt.date = D1, run_id: str = "r1", **kw):
    return ingest_feed(settings, FEED, day, run_id, ingested_at=FIXED_AT, **kw)


def raw(settings, day: dt.date = D1) -> pa.Table:
    return Lake(settings).read_table("raw", FEED, day)


def quarantine(settings, day: dt.date = D1) -> pa.Table:
    return Lake(settings).read_table("quarantine", FEED, day)


def ledger(settings, day: dt.date = D1) -> list[dict]:
    return Lake(settings).read_table("ledger", f"deliveries_{FEED}", day).to_pylist()


def assert_conserved(rows: list[dict]) -> None:
    for r in rows:
        assert r["rows_in"] == r["rows_loaded"] + r["rows_quarantined"] + r["rows_duplicate"]


def csv_bytes(encoding: str = "utf-8", sep: str = ",", rows: list[str] | None = None) -> bytes:
    lines = [HEADER_ZH, *(rows or ROWS_ZH)]
    return ("\n".join(line.replace(",", sep) for line in lines) + "\n").encode(encoding)


@pytest.mark.parametrize(
    ("name", "data", "encoding", "fmt"),
    [
        ("utf8.csv", csv_bytes(), "utf-8", "csv"),
        ("bom.csv", b"\xef\xbb\xbf" + csv_bytes(), "utf-8-sig", "csv"),
        ("gbk.csv", csv_bytes("gbk"), "gb18030", "csv"),
        ("gb18030.tsv", csv_bytes("gb18030", "\t"), "gb18030", "csv"),
        ("tab.csv.gz", gzip.compress(csv_bytes(sep="\t")), "utf-8", "csv+gzip"),
    ],
)
def test_text_formats_and_encodings_load_the_same_rows(settings, name, data, encoding, fmt):
    land(settings, name, data)
    report = run(settings)
    t = raw(settings)
    assert t.column("sample_id").to_pylist() == ["S1", "S2"]
    assert t.column("source_platform").to_pylist() == ["city", "city"]
    assert t.column("name").to_pylist() == ["张三", "李四"]
    assert t.column("result").to_pylist() == ["negative", "positive"]
    assert t.column("sampled_at").to_pylist() == [
        dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC),
    ]
    assert t.column("_line_number").to_pylist() == [1, 2]
    (row,) = report.deliveries
    assert (row["status"], row["encoding"], row["format"]) == ("loaded", encoding, fmt)
    assert (row["rows_in"], row["rows_loaded"]) == (2, 2)


def test_jsonl_parquet_xlsx_and_zip_members(settings):
    import openpyxl

    jsonl = (
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {
                    "平台": "市级",
                    "样本编号": "J1",
                    "采样时间": "2026-11-01T00:30:00Z",
                    "混采数": 10,
                    "身份证号": "110105199001011234",
                },
                {"平台": "city", "样本编号": "J2", "采样时间": "2026-11-01"},
            ]
        )
        + "\n{not json}\n"
    )
    land(settings, "a.jsonl", jsonl.encode())
    pt = pa.table(
        {
            "source_platform": ["city"],
            "sample_id": ["P1"],
            "sampled_at": pa.array([dt.datetime(2026, 11, 1, 9, 0)], pa.timestamp("us")),
            "id_number": [110105199001011234.0],
            "pool_size": [5],
        }
    )
    buf = io.BytesIO()
    pq.write_table(pt, buf)
    land(settings, "b.parquet", buf.getvalue())
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["样本编号", "采样时间", "联系电话", "检测结果"])
    ws.append(["X1", dt.datetime(2026, 11, 1, 10, 0), 13800138000, "阴性"])
    ws.append(["X2", 46327.5, 13900139000.0, "阳性"])
    xb = io.BytesIO()
    wb.save(xb)
    land(settings, "c.xlsx", xb.getvalue())
    zb = io.BytesIO()
    with zipfile.ZipFile(zb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("part-1.csv", csv_bytes(rows=[ROWS_ZH[0]]))
        zf.writestr("part-2.csv", csv_bytes("gbk", rows=["city,Z2,2026-11-01,阴,,王五"]))
    land(settings, "d.zip", zb.getvalue())

    report = run(settings)
    t = raw(settings)
    by_id = {r["sample_id"]: r for r in t.to_pylist()}
    assert sorted(by_id) == ["J1", "J2", "P1", "S1", "X1", "X2", "Z2"]
    assert by_id["J1"]["pool_size"] == 10
    assert by_id["J1"]["sampled_at"] == dt.datetime(2026, 11, 1, 0, 30, tzinfo=dt.UTC)
    assert by_id["P1"]["sampled_at"] == dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC)
    assert by_id["P1"]["id_number"] == str(int(110105199001011234.0))
    assert by_id["X1"]["phone"] == "13800138000"
    assert by_id["X2"]["phone"] == "13900139000"
    # Excel serial 46327.5 = 2026-11-01 12:00 local
    assert by_id["X2"]["sampled_at"] == dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC)
    assert by_id["X1"]["source_platform"] == "city"  # filled from the folder
    assert by_id["Z2"]["_source_file"].endswith("d.zip!part-2.csv")
    assert by_id["Z2"]["name"] == "王五"
    q = quarantine(settings).to_pylist()
    assert [(r["reason_code"], r["_line_number"]) for r in q] == [("malformed_json", 3)]
    assert_conserved(report.deliveries)
    formats = {Path(r["file"]).name: r["format"] for r in report.deliveries}
    assert formats == {
        "a.jsonl": "jsonl",
        "b.parquet": "parquet",
        "c.xlsx": "xlsx",
        "d.zip": "csv+zip",
    }


def test_row_rules_duplicates_and_conservation(settings):
    rows = [
        "city,A1,2026-11-01 08:00,阴性,110105199001011234,甲",
        "city,A1,2026-11-01 08:00,阴性,110105199001011234,甲",  # exact duplicate
        "city,A2,2026-02-30 08:00,阴性,,乙",  # impossible date in a required column
        "national,A3,2026-11-01,阴性,,丙",  # disagrees with the folder
        "city,,2026-11-01,阴性,,丁",  # required sample_id missing
        "city,A5,2026-11-01,不知道,,戊",  # optional enum not mappable: null + issue
        "city,A6",  # wrong field count
    ]
    land(settings, "rules.csv", csv_bytes(rows=rows))
    report = run(settings)
    (row,) = report.deliveries
    assert (row["rows_in"], row["rows_loaded"], row["rows_quarantined"], row["rows_duplicate"]) == (
        7,
        2,
        4,
        1,
    )
    t = raw(settings)
    assert t.column("sample_id").to_pylist() == ["A1", "A5"]
    assert t.column("result").to_pylist() == ["negative", None]
    assert t.column("_issues").to_pylist() == [[], ["result:not_allowed:不知道"]]
    q = quarantine(settings).to_pylist()
    assert [(r["_line_number"], r["reason_code"], r["column"]) for r in q] == [
        (3, "bad_timestamp", "sampled_at"),
        (4, "source_mismatch", "source_platform"),
        (5, "missing_required", "sample_id"),
        (7, "wrong_field_count", None),
    ]
    assert {r["rule_version"] for r in q} == {"1.0.0"}
    assert json.loads(q[0]["raw_record"])["采样时间"] == "2026-02-30 08:00"
    assert report.rows_in == 7 and report.rows_quarantined == 4


def test_undecodable_line_in_utf8_file_is_quarantined_not_replaced(settings):
    data = (
        csv_bytes()
        + "city,G1,2026-11-01,阴性,,赵六\n".encode("gbk")
        + "city,U1,2026-11-01,阴性,,钱七\n".encode()
    )
    land(settings, "mixed.csv", data)
    report = run(settings)
    t = raw(settings)
    assert t.column("sample_id").to_pylist() == ["S1", "S2", "U1"]
    assert t.column("_line_number").to_pylist() == [1, 2, 4]
    assert "\ufffd" not in "".join(v or "" for v in t.column("name").to_pylist())
    q = quarantine(settings).to_pylist()
    assert [(r["_line_number"], r["reason_code"]) for r in q] == [(3, "undecodable")]
    assert report.deliveries[0]["encoding"] == "utf-8"
    assert_conserved(report.deliveries)


def test_same_file_again_is_a_duplicate_and_a_rerun_is_identical(settings):
    land(settings, "first.csv", csv_bytes())
    r1 = run(settings, run_id="r1")
    first_raw = raw(settings)
    land(settings, "copy-of-first.csv", csv_bytes())  # same bytes, other name, same day
    land(settings, "later.csv", csv_bytes(), day=D2)  # same bytes, later day
    r2 = run(settings, run_id="r2")  # re-run of D1
    assert raw(settings).equals(first_raw)
    statuses = {Path(r["file"]).name: r["status"] for r in r2.deliveries}
    assert statuses == {"copy-of-first.csv": "duplicate", "first.csv": "loaded"}
    dup = next(r for r in r2.deliveries if r["status"] == "duplicate")
    assert (dup["rows_in"], dup["rows_duplicate"], dup["rows_loaded"]) == (2, 2, 0)
    r3 = run(settings, day=D2, run_id="r3")
    assert [r["status"] for r in r3.deliveries] == ["duplicate"]
    assert raw(settings, D2).num_rows == 0
    assert r1.rows_loaded == 2 and r3.rows_duplicate == 2


def test_missing_required_column_rejects_the_delivery_only(settings):
    land(
        settings,
        "bad.csv",
        "平台,样本编号,检测结果,备注\ncity,B1,阴性,x\ncity,B2,阳性,y\n".encode(),
    )
    land(settings, "good.csv", csv_bytes())
    report = run(settings)
    rows = {Path(r["file"]).name: r for r in report.deliveries}
    bad = rows["bad.csv"]
    assert bad["status"] == "rejected"
    assert "sampled_at" in bad["message"] and "nucleic_acid.odcs.yaml" in bad["message"]
    assert "备注" in bad["message"]
    assert (bad["rows_in"], bad["rows_quarantined"]) == (2, 2)
    assert rows["good.csv"]["status"] == "loaded"
    q = quarantine(settings).to_pylist()
    assert [r["reason_code"] for r in q] == ["delivery_rejected"] * 2
    assert raw(settings).column("sample_id").to_pylist() == ["S1", "S2"]
    assert_conserved(report.deliveries)


def test_hostile_and_broken_files_are_rejected_with_a_reason(settings):
    gz = gzip.compress(csv_bytes() * 50)
    land(settings, "truncated.csv.gz", gz[: len(gz) // 2])
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../../etc/evil.csv", csv_bytes())
    land(settings, "slip.zip", slip.getvalue())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.csv", HEADER_ZH.encode() + b"\n" + b"0" * (8 << 20))
    land(settings, "bomb.zip", bomb.getvalue())
    land(settings, "bomb.csv.gz", gzip.compress(HEADER_ZH.encode() + b"\n" + b"0" * (8 << 20)))
    land(settings, "empty.csv", b"")
    land(settings, "header-only.csv", (HEADER_ZH + "\n").encode())
    land(settings, "notes.docx", b"PK\x03\x04")
    long_line = "city,L1,2026-11-01,阴性,," + "长" * 3000
    land(settings, "long.csv", csv_bytes(rows=[ROWS_ZH[0], long_line, ROWS_ZH[1]]))
    land(settings, "good.csv", csv_bytes(rows=["city,OK1,2026-11-01,阴性,,周八"]))
    limits = IngestLimits(max_line_bytes=4096, ratio_floor_bytes=1 << 20, max_ratio=100)
    report = run(settings, limits=limits)
    rows = {Path(r["file"]).name: r for r in report.deliveries}
    assert rows["truncated.csv.gz"]["status"] == "rejected"
    assert rows["truncated.csv.gz"]["message"].startswith("truncated_gzip")
    assert rows["slip.zip"]["message"].startswith("unsafe_path")
    assert rows["bomb.zip"]["message"].startswith("zip_bomb")
    assert rows["bomb.csv.gz"]["message"].startswith("zip_bomb")
    assert rows["notes.docx"]["message"].startswith("unsupported_format")
    assert rows["empty.csv"]["status"] == rows["header-only.csv"]["status"] == "empty"
    assert rows["long.csv"]["status"] == "loaded"
    assert (rows["long.csv"]["rows_loaded"], rows["long.csv"]["rows_quarantined"]) == (2, 1)
    q = quarantine(settings).to_pylist()
    assert [(r["reason_code"], r["_line_number"]) for r in q] == [("line_too_long", 2)]
    assert sorted(raw(settings).column("sample_id").to_pylist()) == ["OK1", "S1", "S2"]
    assert_conserved(report.deliveries)


def test_unknown_source_folder_and_no_pii_in_ledger_messages(settings):
    land(settings, "x.csv", csv_bytes(), source="elsewhere")
    land(settings, "y.csv", csv_bytes(rows=["city,Q1,2026-02-30,阴性,110105199001011234,孙九"]))
    report = run(settings)
    rows = {Path(r["file"]).name: r for r in report.deliveries}
    assert rows["x.csv"]["status"] == "rejected"
    assert "unknown_source" in rows["x.csv"]["message"]
    text = json.dumps(ledger(settings), ensure_ascii=False, default=str)
    assert "110105199001011234" not in text and "孙九" not in text


def test_folder_connector_lands_files_that_ingest_reads(settings, tmp_path):
    from zhongtai.errors import ZhongtaiError
    from zhongtai.ingest.connectors.folder import land_files

    src = tmp_path / "outbox"
    src.mkdir()
    (src / "a.csv").write_bytes(csv_bytes("gbk"))
    written = land_files(settings, FEED, "national", D1, src)
    assert written == [f"landing/{FEED}/national/2026-11-01/a.csv"]
    with pytest.raises(ZhongtaiError, match="not a source"):
        land_files(settings, FEED, "elsewhere", D1, src)
    run(settings)
    # the file says 市级/city, the folder says national: both rows disagree
    q = quarantine(settings).to_pylist()
    assert [r["reason_code"] for r in q] == ["source_mismatch", "source_mismatch"]
