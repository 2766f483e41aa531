"""Bounded memory in the generator: compact persons, writers that work a piece at a time."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhongtai.generate import writers
from zhongtai.generate.divisions import build_district
from zhongtai.generate.feeds import rng_for
from zhongtai.generate.persons import build_persons
from zhongtai.generate.text import ascii_pa
from zhongtai.generate.truth import TruthWriter

VALUES = ["王小明", "a&b<c>", "", "阿依古丽•买买提", "x,y", 'q"t', "110105199001011234", None]


def _table(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            f"列{i}": pa.array([VALUES[j] for j in rng.integers(0, len(VALUES), n)], pa.string())
            for i in range(4)
        }
    )


def test_ascii_bytes_become_the_same_arrow_strings():
    values = ["110105199001011234", "", "E12345678", "010-8358582", "X"]
    got = ascii_pa(np.array(values, dtype="S18"))
    assert got.type == pa.string()
    assert got.to_pylist() == values
    assert ascii_pa(np.array([], dtype="S11")).to_pylist() == []


def test_persons_are_kept_compact_and_read_back_as_text():
    rng = rng_for(3, "world")
    district = build_district(rng, "110105", 5000)
    p = build_persons(rng, district, 5000, dt.date(2026, 11, 1), 1)
    fixed = sum(v.nbytes for v in vars(p).values() if isinstance(v, np.ndarray))
    # ASCII as bytes, codes as small integers: about 80 bytes a person (was about 370)
    # names hold minority names (up to 8 characters) and phones landlines with area codes
    assert fixed / len(p) <= 112, fixed / len(p)
    idx = np.array([0, 1, len(p) - 1])
    ids = p.ids(idx)
    assert ids.dtype == np.dtype("U18") and all(len(v) in (9, 10, 11, 18) for v in ids)
    assert p.pids(idx).to_pylist() == ["P000000000", "P000000001", f"P{len(p) - 1:09d}"]
    assert set(p.id_types(np.arange(len(p)))) <= {
        "resident_id",
        "passport",
        "hk_macao_permit",
        "taiwan_permit",
        "foreign_permanent_resident",
    }
    assert p.phones(idx).dtype == np.dtype("U13")
    assert (p.age_of(idx, dt.date(2026, 11, 1)) == p.age_on(dt.date(2026, 11, 1))[idx]).all()


def test_xlsx_bytes_do_not_depend_on_the_piece_size(monkeypatch: pytest.MonkeyPatch):
    import openpyxl

    table = _table(2_345)
    whole = writers.serialize(table, writers.Style("xlsx"), "x")
    monkeypatch.setattr(writers, "XLSX_PIECE_ROWS", 100)
    pieces = writers.serialize(table, writers.Style("xlsx"), "x")
    assert pieces == whole
    ws = openpyxl.load_workbook(io.BytesIO(pieces), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == table.column_names
    assert len(rows) == 1 + table.num_rows
    got = [None if v in (None, "") else v for v in (r[2] for r in rows[1:])]
    want = [None if v in (None, "") else v for v in table.column(2).to_pylist()]
    assert got == want
    with zipfile.ZipFile(io.BytesIO(pieces)) as z:
        assert z.testzip() is None


def test_text_is_re_encoded_a_piece_of_lines_at_a_time(monkeypatch: pytest.MonkeyPatch):
    table = _table(3_000, seed=1)
    data = writers.serialize(table, writers.Style("csv"), "x")
    monkeypatch.setattr(writers, "TEXT_PIECE_BYTES", 997)
    for encoding in ("gbk", "gb18030"):
        got = writers.encode_text(data, encoding)
        text = data.decode("utf-8")
        if encoding == "gbk":
            text = text.replace("•", "．")
        assert got == text.encode(encoding)
    assert writers.encode_text(data, "utf-8-sig") == b"\xef\xbb\xbf" + data


def test_gbk_rows_are_exactly_the_block_of_lines_given():
    table = _table(500, seed=2)
    utf8 = writers.serialize(table, writers.Style("csv"), "x")
    rows = np.arange(100, 110)
    mixed = writers.serialize(table, writers.Style("csv"), "x", gbk_rows=rows)
    old, new = utf8.split(b"\n"), mixed.split(b"\n")
    assert len(old) == len(new)
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if 101 <= i <= 110:
            assert b.decode("gbk") == a.decode("utf-8").replace("•", "．")
        else:
            assert a == b
    with pytest.raises(UnicodeDecodeError):
        mixed.decode("utf-8")


def test_truth_written_in_pieces_reads_back_whole(tmp_path):
    truth = TruthWriter(tmp_path / "truth")
    pieces = [
        pa.table({"a": pa.array(["x", "y"], pa.string()), "b": pa.array([1, 2])}),
        pa.table({"a": pa.nulls(3), "b": pa.array([3, 4, 5])}),  # all-null piece: cast
    ]
    truth.write_pieces("t", iter(pieces))
    got = pq.read_table(tmp_path / "truth" / "t.parquet")
    assert got.schema.field("a").type == pa.string()
    assert got.column("a").to_pylist() == ["x", "y", None, None, None]
    assert got.column("b").to_pylist() == [1, 2, 3, 4, 5]
    assert pq.ParquetFile(tmp_path / "truth" / "t.parquet").num_row_groups == 2


def test_long_values_are_not_cut_by_fixed_widths():
    rng = rng_for(5, "world")
    district = build_district(rng, "110105", 20000)
    p = build_persons(rng, district, 20000, dt.date(2026, 11, 1), 1)
    phones = p.phones(np.arange(len(p)))
    landlines = [x for x in phones if "-" in x]
    assert landlines and all(len(x.split("-")[1]) == 8 for x in landlines)
    names = p.name[np.arange(len(p))] if hasattr(p, "name") else None
    if names is not None:
        dotted = [x for x in names.tolist() if "·" in x]
        assert dotted and all(not x.endswith("·") and len(x.split("·")[1]) >= 2 for x in dotted)
