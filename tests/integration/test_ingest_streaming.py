"""Streaming ingestion: chunk boundaries change nothing, memory per chunk is bounded,
duplicates are found across chunks and members, and lost rows fail loudly."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import zhongtai.ingest.ingest as ingest_mod
from zhongtai.errors import ZhongtaiError
from zhongtai.ingest import IngestLimits, ingest_feed
from zhongtai.ingest.deliveries import registry_path
from zhongtai.lake.store import Lake
from zhongtai.settings import Settings

pytestmark = pytest.mark.integration
D1 = dt.date(2026, 11, 1)
FEED = "nucleic_acid"
HEADER = "平台,样本编号,采样时间,检测结果,身份证号,姓名"
FIXED_AT = dt.datetime(2026, 11, 1, 20, 0, tzinfo=dt.UTC)


def other_settings(tmp_path: Path, name: str) -> Settings:
    return Settings(lake=str(tmp_path / name / "lake"), state_dir=str(tmp_path / name / "state"))


def land(settings, name: str, data: bytes, day: dt.date = D1) -> None:
    Lake(settings).write_bytes(f"landing/{FEED}/city/{day.isoformat()}/{name}", data)


def run(settings, run_id: str = "r1", **limits):
    return ingest_feed(
        settings, FEED, D1, run_id, ingested_at=FIXED_AT, limits=IngestLimits(**limits)
    )


def zones(settings) -> tuple[pa.Table, pa.Table, list[dict]]:
    lake = Lake(settings)
    ledger = lake.read_table("ledger", f"deliveries_{FEED}", D1).to_pylist()
    return lake.read_table("raw", FEED, D1), lake.read_table("quarantine", FEED, D1), ledger


def dirty_csv() -> bytes:
    """40 data lines with known dirt (line numbers are data rows, 1-based)."""
    lines = []
    for i in range(1, 41):
        lines.append(f"city,S{i},2026-11-01 08:{i:02d},阴性,,人{i}".encode())
    lines[4] = b"city,S5"  # line 5: wrong field count
    lines[9] = "city,S1,2026-11-01 08:01,阴性,,人1".encode()  # line 10 repeats line 1
    lines[14] = "city,S15,2026-02-30 08:00,阴性,,人15".encode()  # line 15: impossible date
    lines[21] = "city,S22,2026-11-01,阴性,,".encode() + b"\xff\xfe\n"[:2]  # line 22: undecodable
    lines[30] = "city,S2,2026-11-01 08:02,阴性,,人2".encode()  # line 31 repeats line 2
    lines[35] = "city,S36,2026-11-01,阳性,,人36".encode()
    lines[36] = "city,S36,2026-11-01,阳性,,人36".encode()  # line 37 repeats line 36
    return HEADER.encode() + b"\n" + b"\n".join(lines) + b"\n"


def test_chunk_size_changes_nothing_and_duplicates_cross_chunks(settings, tmp_path):
    land(settings, "dirty.csv", dirty_csv())
    small = other_settings(tmp_path, "small")
    land(small, "dirty.csv", dirty_csv())

    big_report = run(settings)
    small_report = run(small, chunk_rows=4)  # 10+ chunks; duplicates far apart

    raw, quarantine, ledger = zones(settings)
    s_raw, s_quarantine, s_ledger = zones(small)
    assert s_raw.equals(raw)
    assert s_quarantine.equals(quarantine)
    assert s_ledger == ledger
    (row,) = small_report.deliveries
    assert (row["rows_in"], row["rows_loaded"], row["rows_quarantined"], row["rows_duplicate"]) == (
        40,
        34,
        3,
        3,
    )
    assert big_report.deliveries[0]["rows_duplicate"] == 3
    lines = s_raw.column("_line_number").to_pylist()
    assert lines == [n for n in range(1, 41) if n not in (5, 10, 15, 22, 31, 37)]
    assert [(r["_line_number"], r["reason_code"]) for r in s_quarantine.to_pylist()] == [
        (5, "wrong_field_count"),
        (15, "bad_timestamp"),
        (22, "undecodable"),
    ]


def test_chunks_are_bounded(settings, monkeypatch):
    rows = [f"city,B{i},2026-11-01 09:00,阴性,,名{i % 7}" for i in range(1, 1001)]
    land(settings, "big.csv", (HEADER + "\n" + "\n".join(rows) + "\n").encode())
    sizes: list[int] = []
    real = ingest_mod.check_rows

    def spy(contract, delivered, num_rows, source, tz):
        sizes.append(num_rows)
        return real(contract, delivered, num_rows, source, tz)

    monkeypatch.setattr(ingest_mod, "check_rows", spy)
    report = run(settings, chunk_rows=64, rows_per_file=300)
    assert report.rows_loaded == 1000
    assert max(sizes) == 64
    assert sum(sizes) == 1000
    raw_version = Lake(settings).current("raw", FEED, D1)
    assert raw_version is not None and len(raw_version.files) >= 3  # rows_per_file respected
    raw, _, _ = zones(settings)
    assert raw.column("sample_id").to_pylist() == [f"B{i}" for i in range(1, 1001)]


def test_jsonl_late_keys_and_conflicts_found_mid_stream(settings, tmp_path):
    early = [{"平台": "city", "样本编号": f"J{i}", "采样时间": "2026-11-01"} for i in range(6)]
    late = [{**r, "检测结果": "阳性"} for r in early[:2]]  # a new key after chunk 1
    late[0]["样本编号"] = "J9"
    lines = [json.dumps(r, ensure_ascii=False) for r in early + late]
    lines.insert(3, "[1, 2]")  # line 4: not an object
    land(settings, "a.jsonl", ("\n".join(lines) + "\n").encode())
    report = run(settings, chunk_rows=3)
    raw, quarantine, _ = zones(settings)
    assert raw.column("sample_id").to_pylist() == ["J0", "J1", "J2", "J3", "J4", "J5", "J9", "J1"]
    assert raw.column("result").to_pylist() == [None] * 6 + ["positive"] * 2
    assert [(r["_line_number"], r["reason_code"]) for r in quarantine.to_pylist()] == [
        (4, "malformed_json")
    ]
    # J1 again with a result: not an exact duplicate of J1 without one
    assert report.deliveries[0]["rows_duplicate"] == 0
    assert (report.deliveries[0]["rows_in"], report.deliveries[0]["rows_loaded"]) == (9, 8)

    conflict = [json.dumps(r, ensure_ascii=False) for r in early] + [
        json.dumps({"source_platform": "city", "平台": "city", "样本编号": "K1"})
    ]
    other = other_settings(tmp_path, "conflict")
    land(other, "b.jsonl", ("\n".join(conflict) + "\n").encode())
    report = run(other, chunk_rows=2)
    (row,) = report.deliveries
    assert row["status"] == "rejected" and "all map to source_platform" in row["message"]
    _, quarantine, _ = zones(other)
    assert (row["rows_in"], row["rows_quarantined"]) == (7, 7)
    assert quarantine.column("reason_code").to_pylist() == ["delivery_rejected"] * 7
    assert quarantine.column("_line_number").to_pylist() == list(range(1, 8))
    assert Lake(other).read_table("raw", FEED, D1).num_rows == 0


def test_parquet_and_zip_members_stream_and_share_duplicates(settings):
    t = pa.table(
        {
            "sample_id": [f"P{i}" for i in range(10)],
            "source_platform": ["city"] * 10,
            "sampled_at": pa.array(
                [dt.datetime(2026, 11, 1, 9, i) for i in range(10)], pa.timestamp("us")
            ),
            "pool_size": list(range(1, 11)),
        }
    )
    buf = io.BytesIO()
    pq.write_table(t, buf, row_group_size=4)
    land(settings, "p.parquet", buf.getvalue())
    zb = io.BytesIO()
    row = "city,Z1,2026-11-01,阴性,,甲"
    with zipfile.ZipFile(zb, "w") as zf:
        zf.writestr("1.csv", f"{HEADER}\n{row}\ncity,Z2,2026-11-01,阴性,,乙\n")
        zf.writestr("2.csv", f"{HEADER}\ncity,Z3,2026-11-01,阴性,,丙\n{row}\n")
    land(settings, "z.zip", zb.getvalue())
    report = run(settings, chunk_rows=3)
    rows = {Path(r["file"]).name: r for r in report.deliveries}
    assert rows["p.parquet"]["rows_loaded"] == 10
    assert (rows["z.zip"]["rows_loaded"], rows["z.zip"]["rows_duplicate"]) == (3, 1)
    raw, _, _ = zones(settings)
    by_id = {r["sample_id"]: r for r in raw.to_pylist()}
    assert by_id["P9"]["pool_size"] == 10
    assert by_id["P9"]["sampled_at"] == dt.datetime(2026, 11, 1, 1, 9, tzinfo=dt.UTC)
    assert by_id["Z3"]["_source_file"].endswith("z.zip!2.csv")
    assert by_id["Z1"]["_source_file"].endswith("z.zip!1.csv")


def test_rejected_delivery_streams_every_row_to_quarantine(settings):
    body = "\n".join(f"city,R{i},阴性" for i in range(1, 12))
    land(settings, "r.csv", f"平台,样本编号,检测结果\n{body}\ncity\n".encode())
    report = run(settings, chunk_rows=4)
    (row,) = report.deliveries
    assert row["status"] == "rejected" and "sampled_at" in row["message"]
    assert (row["rows_in"], row["rows_quarantined"]) == (12, 12)
    _, quarantine, _ = zones(settings)
    assert quarantine.column("_line_number").to_pylist() == list(range(1, 13))
    assert json.loads(quarantine.to_pylist()[0]["raw_record"]) == {
        "平台": "city",
        "样本编号": "R1",
        "检测结果": "阴性",
    }


def _lossy_first_delivery(monkeypatch) -> None:
    real = ingest_mod._Sink._write_raw

    def lossy(self, table):
        real(self, table.slice(1) if self.prefix == "d00000" else table)

    monkeypatch.setattr(ingest_mod._Sink, "_write_raw", lossy)


def test_lost_rows_fail_the_delivery_loudly(settings, monkeypatch):
    land(settings, "a.csv", f"{HEADER}\ncity,A1,2026-11-01,阴性,110105199001011234,孙九\n".encode())
    land(settings, "b.csv", f"{HEADER}\ncity,B1,2026-11-01,阴性,,周八\n".encode())
    _lossy_first_delivery(monkeypatch)
    with pytest.raises(ZhongtaiError, match="row_conservation") as e:
        run(settings)
    assert "read 1 rows but accounted for 0 (loaded 0, quarantined 0, duplicate 0)" in str(e.value)
    assert "110105199001011234" not in str(e.value) and "孙九" not in str(e.value)
    raw, quarantine, ledger = zones(settings)
    status = {Path(r["file"]).name: r["status"] for r in ledger}
    assert status == {"a.csv": "failed", "b.csv": "loaded"}
    assert raw.column("sample_id").to_pylist() == ["B1"]
    failed = next(r for r in ledger if r["status"] == "failed")
    assert not Lake(settings).exists(registry_path(FEED, failed["file_sha256"]))
    monkeypatch.undo()
    report = run(settings, run_id="r2")  # the failed delivery is tried again, and loads
    assert [r["status"] for r in report.deliveries] == ["loaded", "loaded"]


def test_conservation_check_survives_python_O(settings):
    land(settings, "a.csv", f"{HEADER}\ncity,A1,2026-11-01,阴性,,孙九\n".encode())
    script = textwrap.dedent(
        f"""
        assert False, "this line proves that asserts are off"
        import datetime as dt
        import zhongtai.ingest.ingest as m
        from zhongtai.errors import ZhongtaiError
        from zhongtai.settings import Settings
        real = m._Sink._write_raw
        m._Sink._write_raw = lambda self, t: real(self, t.slice(1))
        s = Settings(lake={settings.lake!r}, state_dir={settings.state_dir!r})
        try:
            m.ingest_feed(s, "nucleic_acid", dt.date(2026, 11, 1), "r1")
        except ZhongtaiError as e:
            print("raised", "row_conservation" in str(e))
        else:
            print("not raised")
        """
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, check=False
    )
    assert out.stdout.strip().splitlines()[-1:] == ["raised True"], out.stderr[-2000:]


def test_truncated_gzip_after_some_chunks_leaves_nothing_behind(settings):
    import gzip

    rows = "\n".join(f"city,T{i},2026-11-01,阴性,,名" for i in range(1, 3001))
    whole = gzip.compress(f"{HEADER}\n{rows}\n".encode())
    land(settings, "cut.csv.gz", whole[: len(whole) * 3 // 4])
    land(settings, "ok.csv", f"{HEADER}\ncity,OK1,2026-11-01,阴性,,名\n".encode())
    report = run(settings, chunk_rows=50, block_bytes=4096)
    rows_by_file = {Path(r["file"]).name: r for r in report.deliveries}
    cut = rows_by_file["cut.csv.gz"]
    assert cut["status"] == "rejected" and cut["message"].startswith("truncated_gzip")
    assert (cut["rows_loaded"], cut["rows_quarantined"]) == (0, 0)
    raw, quarantine, _ = zones(settings)
    assert raw.column("sample_id").to_pylist() == ["OK1"]
    assert quarantine.num_rows == 0


@pytest.mark.s3
def test_streaming_ingest_on_an_s3_lake(s3_settings):
    Lake(s3_settings).ensure()
    buf = io.BytesIO()
    pq.write_table(
        pa.table({"sample_id": [f"P{i}" for i in range(7)], "sampled_at": ["2026-11-01"] * 7}),
        buf,
        row_group_size=3,
    )
    land(s3_settings, "p.parquet", buf.getvalue())
    land(s3_settings, "d.csv", dirty_csv())
    report = run(s3_settings, chunk_rows=4, rows_per_file=10)
    rows = {Path(r["file"]).name: r for r in report.deliveries}
    assert rows["p.parquet"]["rows_loaded"] == 7
    assert (rows["d.csv"]["rows_loaded"], rows["d.csv"]["rows_duplicate"]) == (34, 3)
    raw, quarantine, _ = zones(s3_settings)
    assert raw.num_rows == 41 and quarantine.num_rows == 3
    assert len(Lake(s3_settings).current("raw", FEED, D1).files) >= 4
