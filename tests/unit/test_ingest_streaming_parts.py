"""The parts of streaming ingestion, without a lake: row fingerprints, line numbering,
read-ahead, and typing by distinct value."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from zhongtai.contracts.model import load_contract
from zhongtai.ingest.dedup import RowSeen, row_fingerprints
from zhongtai.ingest.readers import BadLine, Chunk, _Numberer, prefetched
from zhongtai.ingest.values import type_column

pytestmark = pytest.mark.unit


def cols(*columns: list[str | None]) -> list[pa.Array]:
    return [pa.array(c, pa.string()) for c in columns]


def test_row_seen_keeps_first_occurrences_across_chunks() -> None:
    seen = RowSeen()
    first = seen.keep(cols(["a", "b", "a", "c"], ["1", "2", "1", None]), 4)
    assert first.tolist() == [True, True, False, True]
    second = seen.keep(cols(["c", "a", "d", "d"], [None, "1", "4", "4"]), 4)
    assert second.tolist() == [False, False, True, False]
    assert len(seen) == 4
    assert seen.keep(cols([], []), 0).tolist() == []


def test_fingerprints_tell_null_empty_and_shifted_values_apart() -> None:
    rows = cols(
        ["ab", "a", "a", "a", "a", "a"],
        ["", "b", None, "", "b|", "b"],
        [None, None, None, None, None, "x"],
    )
    hi, lo = row_fingerprints(rows, 6)
    pairs = set(zip(hi.tolist(), lo.tolist(), strict=True))
    assert len(pairs) == 6
    again = row_fingerprints(rows, 6)
    assert hi.tolist() == again[0].tolist() and lo.tolist() == again[1].tolist()


def test_numberer_skips_bad_lines_and_hands_them_over_in_order() -> None:
    num = _Numberer()
    num.pending += [BadLine(2, "wrong_field_count", "x"), BadLine(6, "undecodable", "y")]
    first, bad = num.take(3)
    assert first.tolist() == [1, 3, 4]
    assert [b.line_number for b in bad] == [2]
    second, bad = num.take(2)
    assert second.tolist() == [5, 7]
    assert [b.line_number for b in bad] == [6]
    num.pending.append(BadLine(8, "wrong_field_count", "z"))
    assert [b.line_number for b in num.rest()] == [8]


def _chunks(n: int, fail_at: int | None = None):
    for i in range(n):
        if i == fail_at:
            raise ValueError("broken at chunk")
        yield Chunk(pa.table({"i": [i]}), np.array([i + 1]))


def test_prefetched_keeps_order_and_raises_reader_errors() -> None:
    got = [c.table.column("i")[0].as_py() for c in prefetched(_chunks(20))]
    assert got == list(range(20))
    seen = []
    with pytest.raises(ValueError, match="broken at chunk"):
        for c in prefetched(_chunks(5, fail_at=3)):
            seen.append(c.line_numbers[0])
    assert seen == [1, 2, 3]
    stream = prefetched(_chunks(50))
    assert next(stream).line_numbers.tolist() == [1]
    stream.close()  # an abandoned stream stops its reader thread


def test_typing_by_distinct_value_matches_each_value() -> None:
    contract = load_contract("nucleic_acid")
    sampled = next(c for c in contract.columns if c.name == "sampled_at")
    result = next(c for c in contract.columns if c.name == "result")
    pattern = ["2022/9/9 8:00", "2022-02-30 08:00", None, "garbage", "20220909"]
    a = pa.array(pattern * 2000, pa.string())
    typed = type_column(a, sampled, "Asia/Shanghai")
    utc = dt.UTC
    assert typed.values.to_pylist()[:5] == [
        dt.datetime(2022, 9, 9, 0, 0, tzinfo=utc),
        None,
        None,
        None,
        dt.datetime(2022, 9, 8, 16, 0, tzinfo=utc),
    ]
    assert typed.values.to_pylist()[-5:] == typed.values.to_pylist()[:5]
    assert np.flatnonzero(typed.failed[:10]).tolist() == [1, 3, 6, 8]
    assert int(typed.failed.sum()) == 4000
    assert typed.text.to_pylist()[:5] == pattern
    enum = type_column(pa.array(["阴性", "阳性", "x", None] * 1500), result, "Asia/Shanghai")
    assert enum.values.to_pylist()[:4] == ["negative", "positive", None, None]
    assert enum.failed[:4].tolist() == [False, False, True, False]
