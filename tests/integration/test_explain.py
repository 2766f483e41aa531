"""``zt explain``: a person's code history with rules, evidence and source records.

Built once on DuckDB from the 11-person, 3-day lake of ``test_marts`` (whose expected codes
are worked out by hand there); every assertion reads what explain_person produced.
"""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from tests.integration import test_marts as day3
from zhongtai.cli import command_explain
from zhongtai.errors import ZhongtaiError
from zhongtai.warehouse import build_marts, load_warehouse
from zhongtai.warehouse.explain import explain_person

pytestmark = pytest.mark.integration

D1, D2, D3 = day3.D1, day3.D2, day3.D3


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("explain")
    settings = day3._settings(root)
    day3.build_lake(settings)
    load_warehouse(settings, D3, "run-1")
    report = build_marts(settings, D3, "run-1")
    assert report.success, report.errors
    return settings


def _sources(event) -> list[tuple]:
    return [
        (s.feed, s.source_system, s.source_record_id, s.result, s.known_date, s.match_grade)
        for s in event.sources
    ]


def test_red_then_cleared_with_the_samples_behind_each_change(built):
    ex = explain_person(built, "KP01")
    assert (ex.code, ex.rule_id, ex.rule_version, ex.as_of_date) == ("green", "R1_CLEAR", "1", D3)
    assert [(e.from_code, e.to_code, e.rule_id, e.rule_version) for e in ex.events] == [
        ("green", "red", "R1", "1"),
        ("red", "green", "R1_CLEAR", "1"),
    ]
    assert _sources(ex.events[0]) == [("nucleic_acid", "city", "S01a", "positive", D1, "certain")]
    assert _sources(ex.events[1]) == [
        ("nucleic_acid", "city", "S01b", "negative", D2, "certain"),
        ("nucleic_acid", "city", "S01c", "negative", D3, "certain"),
    ]
    assert ex.events[1].sources[1].times["sampled_at"] == day3.at(D3, 9)
    assert ex.events[0].rule_description  # the rule's text from code_rules/default.yaml


def test_lookup_by_pseudonym_shows_the_appeal_and_its_versions(built):
    ex = explain_person(built, day3._pseudo("P04"))
    assert ex.person_key == "KP04"
    assert [(e.to_code, e.rule_id, e.sample_ids, e.appeal_id) for e in ex.events] == [
        ("yellow", "Y2", ("S04b",), None),
        ("green", "Y_CLEAR_APPEAL", (), "A04"),
    ]
    assert _sources(ex.events[0]) == [("nucleic_acid", "city", "S04b", "suspect", D2, "certain")]
    # the appeal arrived pending on D2 and was approved on D3: both deliveries are shown
    assert _sources(ex.events[1]) == [
        ("appeals", "appeals", "A04", "pending", D2, "certain"),
        ("appeals", "appeals", "A04", "approved", D3, "certain"),
    ]


def test_an_earlier_date_leaves_later_events_out(built):
    ex = explain_person(built, "KP04", dt.date(2026, 11, 2))
    assert (ex.code, ex.rule_id, ex.as_of_date, ex.marts_date) == ("yellow", "Y2", D2, D3)
    assert len(ex.events) == 1
    with pytest.raises(ZhongtaiError, match="built up to 2026-11-03"):
        explain_person(built, "KP04", dt.date(2026, 11, 4))


def test_missed_round_evidence_is_the_round_and_tasks_are_listed(built):
    ex = explain_person(built, "KP09")
    assert (ex.code, ex.rule_id) == ("yellow", "Y1")
    (event,) = ex.events
    assert event.round_id == "R2026-01"
    assert _sources(event) == [("testing_rounds", None, "R2026-01", "全员核酸第一轮", D1, None)]
    assert [
        (t.task_kind, t.round_id, t.grid_id, t.opened_date, t.closed_date) for t in ex.tasks
    ] == [("missed_round", "R2026-01", "G2", D1, None)]


def test_non_resident_has_no_code_but_its_task(built):
    ex = explain_person(built, "KP07")
    assert (ex.is_resident, ex.code, ex.events) == (False, None, ())
    assert [t.task_kind for t in ex.tasks] == ["not_in_library"]


def test_raw_id_number_is_pseudonymised_and_never_printed(built, monkeypatch, capsys):
    raw = day3.PII["P02"][0]
    assert explain_person(built, raw).person_key == "KP02"
    # the delivered form with separators and a lower-case x is normalised first
    spaced = f"{raw[:6]} {raw[6:14]} {raw[14:]}".lower()
    assert explain_person(built, spaced).person_key == "KP02"
    for name, value in (
        ("ZT_LAKE", built.lake),
        ("ZT_WAREHOUSE", built.warehouse),
        ("ZT_STATE", built.state_dir),
        ("ZT_PSEUDONYM_KEY", day3.PSEUDONYM_KEY),
        ("COLUMNS", "200"),
    ):
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    command_explain.add_arguments(parser)
    assert command_explain.run(parser.parse_args([raw])) == 0
    out = capsys.readouterr().out
    assert raw not in out and raw[-4:] in out  # the masked number ends like the raw one
    assert "KP02" in out and "Y_CLEAR_TEST" in out and "R2026-01" in out and "S02" in out
    assert "2026-11-02 15:00" in out  # times in Asia/Shanghai


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("KP99", "no person with this person_key"),
        ("0" * 64, "no person with this id_pseudonym"),
        ("110105196001010000", "no person with this ID number|valid resident_id"),
        ("11010519600101123", "neither an id_pseudonym"),
        ("", "say whom to explain"),
    ],
)
def test_unknown_person_is_a_one_line_error_without_the_value(built, who, message):
    with pytest.raises(ZhongtaiError, match=message) as err:
        explain_person(built, who)
    text = str(err.value)
    assert "\n" not in text
    assert not who or who not in text
