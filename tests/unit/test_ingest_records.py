"""Quarantine's raw_record: the delivered row as the JSON text json.dumps gives."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from zhongtai.ingest.records import json_records

TRICKY = [
    "张三",
    'say "hi"',
    "back\\slash",
    "line\nbreak\r\n",
    "tab\there",
    "bell\x07 and nul\x00",
    "form\x0cfeed\x08",
    "",
    None,
    "emoji 😀 and U+2028 \u2028",
]

pytestmark = pytest.mark.unit


def test_text_rows_are_exactly_what_json_dumps_gives() -> None:
    t = pa.table({"姓名": TRICKY, 'odd "key"': list(reversed(TRICKY))})
    got = json_records(t).to_pylist()
    assert got == [
        json.dumps({"姓名": a, 'odd "key"': b}, ensure_ascii=False)
        for a, b in zip(TRICKY, reversed(TRICKY), strict=True)
    ]
    assert json.loads(got[5]) == {"姓名": "bell\x07 and nul\x00", 'odd "key"': "tab\there"}
    assert got[8] == '{"姓名": null, "odd \\"key\\"": "say \\"hi\\""}'


def test_typed_and_empty_tables() -> None:
    t = pa.table({"n": [1, None], "at": [dt.datetime(2026, 11, 1, 8, 0), None]})
    assert json_records(t).to_pylist() == [
        '{"n": 1, "at": "2026-11-01 08:00:00"}',
        '{"n": null, "at": null}',
    ]
    assert json_records(pa.table({"x": pa.array([], pa.string())})).to_pylist() == []
    three = pa.table({"_": [None] * 3}).drop_columns(["_"])
    assert json_records(three).to_pylist() == ["{}"] * 3
