"""Typing of delivered values by the contract (no engines)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from zhongtai.contracts.model import load_contract
from zhongtai.ingest.values import as_text, type_column, type_date, type_integer, type_timestamp

UTC = dt.UTC
TZ = "Asia/Shanghai"


def test_dates_in_every_delivered_form() -> None:
    a = pa.array(
        [
            "2022-09-09",
            "2022/9/9",
            "20220909",
            "2022年9月9日",
            "44813",
            "２０２２－０９－０９",
            "2022-02-30",
            "2022-13-01",
            "garbage",
            "",
            None,
        ]
    )
    t = type_date(a, TZ)
    d = dt.date(2022, 9, 9)
    assert t.values.to_pylist() == [d, d, d, d, d, d, None, None, None, None, None]
    assert t.failed.tolist() == [False] * 6 + [True, True, True, False, False]
    assert t.reason == "bad_date"


def test_timestamps_naive_are_shanghai_and_zones_are_honoured() -> None:
    a = pa.array(
        [
            "2022-09-09 08:00:00",
            "2022-09-09T08:00:00Z",
            "2022-09-09T08:00:00+08:00",
            "2022年9月9日 8时30分",
            "44813.5",
            "2022-09-09T23:30:00.123-0130",
            "2022-02-29 10:00",
        ]
    )
    got = type_timestamp(a, TZ).values.to_pylist()
    assert got == [
        dt.datetime(2022, 9, 9, 0, 0, tzinfo=UTC),
        dt.datetime(2022, 9, 9, 8, 0, tzinfo=UTC),
        dt.datetime(2022, 9, 9, 0, 0, tzinfo=UTC),
        dt.datetime(2022, 9, 9, 0, 30, tzinfo=UTC),
        dt.datetime(2022, 9, 9, 4, 0, tzinfo=UTC),
        dt.datetime(2022, 9, 10, 1, 0, 0, 123000, tzinfo=UTC),
        None,
    ]


def test_shanghai_daylight_saving_of_1988_is_applied_to_naive_times() -> None:
    # China observed DST 1986-1991: 1988-07-01 12:00 local was UTC+9
    got = type_timestamp(pa.array(["1988-07-01 12:00"]), TZ).values.to_pylist()
    assert got == [dt.datetime(1988, 7, 1, 3, 0, tzinfo=UTC)]


def test_integral_floats_keep_their_digits_as_text() -> None:
    got = as_text(pa.array([110105199001011234.0, 3.5, None, 13800138000.0])).to_pylist()
    # a float64 cannot hold 18 digits: what the file holds is kept, nothing more is invented
    assert got == [str(int(110105199001011234.0)), "3.5", None, "13800138000"]


def test_integers() -> None:
    t = type_integer(pa.array(["5", "5.0", " 12 ", "１０", "x", None, "5.5"]))
    assert t.values.to_pylist() == [5, 5, 12, 10, None, None, None]
    assert t.failed.tolist() == [False, False, False, False, True, False, True]


def test_enum_synonyms_map_to_canonical_values() -> None:
    col = load_contract("nucleic_acid").column("result")
    t = type_column(pa.array(["阴性", "阳", "NEG", "待定", "unknown", None]), col, TZ)
    assert t.values.to_pylist() == ["negative", "positive", "negative", "pending", None, None]
    assert t.failed.tolist() == [False, False, False, False, True, False]
    assert t.reason == "not_allowed"
