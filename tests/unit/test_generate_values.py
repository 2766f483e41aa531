"""Values the generator builds: identifiers, names, dates, file writers, the dirt log."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pytest

from zhongtai.generate.config import DirtConfig
from zhongtai.generate.dirt import DirtLog, format_dates, format_times, id_numbers
from zhongtai.generate.names import HOMOPHONES, MINORITY_NAMES, SURNAMES, TRADITIONAL, tables
from zhongtai.generate.writers import Style, compress, serialize
from zhongtai.ids import uscc
from zhongtai.ids.resident_id import build_np, is_valid_check


def test_uscc_build_np_gives_codes_passing_both_checks():
    rng = np.random.default_rng(1)
    chars = np.array(list(uscc.CHARSET))
    org8 = np.ascontiguousarray(chars[rng.integers(0, 31, (3000, 8))]).view("U8").ravel()
    auth = rng.choice(np.array(["9", "5"]), 3000)
    codes = uscc.build_np(auth, np.full(3000, "1"), np.full(3000, "110105"), org8)
    assert all(uscc.is_valid(c) and uscc.is_valid_org_code(c) for c in codes)
    assert {c[:2] for c in codes} == {"91", "51"}
    assert all(c[2:8] == "110105" for c in codes)
    # one changed character is caught
    broken = codes[0][:5] + ("1" if codes[0][5] != "1" else "2") + codes[0][6:]
    assert not uscc.is_valid(broken)


def test_traditional_forms_agree_with_opencc_and_homophones_share_the_reading():
    import opencc
    from pypinyin import lazy_pinyin

    cc = opencc.OpenCC("s2t")
    assert all(cc.convert(s) == t for s, t in TRADITIONAL.items())
    assert all(lazy_pinyin(a) == lazy_pinyin(b) for a, b in HOMOPHONES.items())
    t = tables()
    assert abs(t.surname_p.sum() - 1) < 1e-9 and len(SURNAMES) >= 100
    # every character can be written in a GBK file
    for text in [*TRADITIONAL.values(), *HOMOPHONES.values(), *MINORITY_NAMES, *t.given]:
        text.encode("gbk")


def test_id_dirt_changes_exactly_the_rows_it_logs():
    rng = np.random.default_rng(3)
    n = 20_000
    ids = build_np(
        np.full(n, 110105), np.full(n, 19800101) + rng.integers(0, 28, n), rng.integers(0, 999, n)
    )
    log = DirtLog(n)
    cfg = DirtConfig(id_typo=0.05, id_transpose=0.05, id_spaces=0.05, id_parent_for_child=0.0)
    out = id_numbers(
        rng,
        ids,
        np.full(n, "resident_id"),
        cfg,
        log,
        child=np.zeros(n, bool),
        parent_ids=ids,
        other_ids=ids[::-1],
        born_19xx=np.ones(n, bool),
    )
    codes = log.codes().to_pylist()
    changed = out != ids
    assert changed.tolist() == [bool(c) for c in codes]
    for value, c in zip(out, codes, strict=True):
        if c == ["id_number:typo"] or c == ["id_number:transpose"]:
            assert len(value) == 18 and not is_valid_check(value)
        if c == ["id_number:spaces"]:
            assert is_valid_check(value.replace(" ", "").replace("-", ""))
    assert 0.04 < sum(c == ["id_number:typo"] for c in codes) / n < 0.06


def test_dirt_log_take_follows_duplicated_rows():
    log = DirtLog(4)
    log.add("a:x", np.array([1, 3]))
    log.add("b:y", np.array([True, False, False, True]))
    out = log.take(np.array([0, 1, 1, 2, 3]))
    assert out.codes().to_pylist() == [["b:y"], ["a:x"], ["a:x"], [], ["a:x", "b:y"]]
    assert out.irreparable().tolist() == [False] * 5


def test_date_and_time_formats():
    y, m, d = np.array([2022]), np.array([9]), np.array([9])
    assert format_dates(y, m, d, "slash")[0] == "2022/9/9"
    assert format_dates(y, m, d, "compact")[0] == "20220909"
    assert format_dates(y, m, d, "cn")[0] == "2022年9月9日"
    s = np.array([1_662_681_600 + 8 * 3600])  # 2022-09-09 08:00:00 as naive seconds
    assert format_times(s, "iso")[0] == "2022-09-09 08:00:00"
    assert format_times(s - 8 * 3600, "z")[0] == "2022-09-09T00:00:00Z"
    assert format_times(s, "excel")[0] == "44813.33333"


@pytest.mark.parametrize("fmt", ["jsonl", "xlsx", "csv", "tsv"])
def test_writers_round_trip_awkward_values(fmt: str):
    import openpyxl
    import pandas as pd

    values = ['王"小"明', None, "a\\b", "<&>", "阿依古丽·买买提"]
    table = pa.table({"name": values, "id": ["1", "2", "3", "4", "5"]})
    style = Style(fmt, "gbk" if fmt == "tsv" else "utf-8", "gz" if fmt == "jsonl" else None)
    data = compress(serialize(table, style, "x"), style, "x")
    if fmt == "jsonl":
        import gzip

        rows = [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
        got = [r["name"] for r in rows]
    elif fmt == "xlsx":
        ws = openpyxl.load_workbook(io.BytesIO(data)).active
        got = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
        got = [None if v in (None, "") else v for v in got]
    else:
        sep = "\t" if fmt == "tsv" else ","
        text = data.decode(style.encoding)
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str)
        got = [None if isinstance(v, float) else v for v in df["name"]]
    assert got == values


def test_same_bytes_for_zip_and_gzip():
    table = pa.table({"a": ["1", "2"]})
    for compression in ("gz", "zip"):
        style = Style("csv", compress=compression)
        one = compress(serialize(table, style, "a.csv"), style, "a.csv")
        two = compress(serialize(table, style, "a.csv"), style, "a.csv")
        assert one == two
