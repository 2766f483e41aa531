"""Explanations of links from crosswalk evidence."""

from __future__ import annotations

import json

from zhongtai.match.explain import explanation_from_row, format_explanation


def test_scored_link_lists_every_field_with_weight_and_total():
    ev = {
        "fields": {
            "name": {"level": "same_pinyin", "similarity": 0.95, "weight": 4.2},
            "id_number": {"level": None, "similarity": None, "weight": 0.0},
        },
        "rule": "scored",
        "model_version": "v/em",
        "prior_bits": -1.2,
        "total_bits": 3.0,
        "probability": 0.89,
        "margin_bits": 5.0,
        "candidate": "I:abc",
    }
    row = {
        "feed": "nucleic_acid",
        "source_system": "city",
        "source_record_id": "S1",
        "person_key": "P1",
        "grade": "possible",
        "score": 0.89,
        "evidence": json.dumps(ev),
    }
    x = explanation_from_row(row, {"name_masked": "张*"})
    assert [f.field for f in x.fields] == ["name", "id_number"]
    assert x.fields[0].weight == 4.2 and x.total_bits == 3.0
    text = format_explanation(x)
    assert "same_pinyin" in text and "not compared" in text and "3.000" in text
    assert "张*" in text


def test_malformed_evidence_is_tolerated():
    row = {
        "feed": "appeals",
        "source_system": "health_code_service",
        "source_record_id": "A1",
        "person_key": "R1",
        "grade": "new",
        "score": 0.0,
        "evidence": "not json",
    }
    x = explanation_from_row(row)
    assert x.rule == "unknown" and x.fields == []
