"""Diff computation, CSV neutralisation and byte-stable export files."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from zhongtai.export.diff import diff_states, export_day, neutralise_cell, to_csv_bytes
from zhongtai.lake import Lake


def test_diff_ops_and_sequence():
    before = {"a": '{"c":"yellow"}', "b": '{"c":"green"}'}
    after = {"a": '{"c":"green"}', "c": '{"c":"red"}'}
    d = diff_states(before, after, "2026-11-02", first_seq=11).to_pylist()
    assert [(r["key"], r["op"], r["change_seq"]) for r in d] == [
        ("a", "update", 11), ("b", "delete", 12), ("c", "insert", 13)]
    assert d[1]["after"] is None and d[2]["before"] is None


def test_formula_cells_are_neutralised():
    for bad in ("=1+1", "+86", "-3", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise_cell(bad).startswith("'")
    assert neutralise_cell("P1234") == "P1234"
    data = to_csv_bytes(pa.table({"k": ["=cmd|' /C calc'!A0"]}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"'=cmd" in data


def _states(rows):
    return {"person_codes": lambda: pa.Table.from_pylist(rows)}


def test_reexport_is_byte_identical_and_not_a_new_version(settings):
    lake = Lake(settings)
    day = dt.date(2026, 11, 1)
    rows = [{"person_key": "P1", "code": "yellow"}, {"person_key": "P2", "code": "green"}]
    r1 = export_day(settings, day, "run-a", _states(rows))
    files1 = {f.path: lake.read_bytes(f.path) for f in lake.list_files("exports/person_codes")}
    r2 = export_day(settings, day, "run-b", _states(rows))
    files2 = {f.path: lake.read_bytes(f.path) for f in lake.list_files("exports/person_codes")}
    assert r1.written and not r2.written
    assert files1 == files2
    assert lake.read_json("exports/person_codes/date=2026-11-01/manifest.json")["run_id"] == "run-a"


def test_replay_of_diffs_gives_the_last_state(settings):
    import json

    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(3)]
    states = [
        [{"person_key": "P1", "code": "green"}, {"person_key": "P2", "code": "yellow"}],
        [{"person_key": "P1", "code": "red"}, {"person_key": "P3", "code": "yellow"}],
        [{"person_key": "P1", "code": "green"}, {"person_key": "P3", "code": "yellow"},
         {"person_key": "P4", "code": "green"}],
    ]
    lake = Lake(settings)
    for d, rows in zip(days, states, strict=True):
        export_day(settings, d, f"run-{d}", _states(rows))
    replayed: dict[str, dict] = {}
    seqs = []
    for d in days:
        base = f"exports/person_codes/date={d}"
        manifest = lake.read_json(f"{base}/manifest.json")
        for line in lake.read_bytes(f"{base}/diff.jsonl").decode().splitlines():
            ch = json.loads(line)
            seqs.append(ch["change_seq"])
            if ch["op"] == "delete":
                replayed.pop(ch["key"])
            else:
                replayed[ch["key"]] = json.loads(ch["after"])
        first = manifest["first_change_seq"] or 1
        assert manifest["rows"] == manifest["last_change_seq"] - first + 1
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert sorted(replayed.values(), key=lambda r: r["person_key"]) == states[-1]


def test_changing_a_day_that_later_days_build_on_is_refused(settings):
    import pytest

    from zhongtai.errors import ZhongtaiError

    d1, d2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
    export_day(settings, d1, "r1", _states([{"person_key": "P1", "code": "green"}]))
    export_day(settings, d2, "r2", _states([{"person_key": "P1", "code": "yellow"}]))
    with pytest.raises(ZhongtaiError, match="later days"):
        export_day(settings, d1, "r3", _states([{"person_key": "P1", "code": "red"}]))
    # the same content again is fine (no new version)
    again = export_day(settings, d1, "r4", _states([{"person_key": "P1", "code": "green"}]))
    assert not again.written
