"""The residue's link decisions: best person, margin guard, name guard, star clusters."""

from __future__ import annotations

import pandas as pd

from zhongtai.match.decide import DECISION_COLUMNS, DecideRules, decide

RULES = DecideRules(certain=0.95, possible=0.6, min_margin_bits=3.0)


def _pairs(rows):
    """Rows of (l_ref, r_ref, bits, probability, usable)."""
    return pd.DataFrame(rows, columns=["l_ref", "r_ref", "bits", "probability", "usable"])


def _by_ref(out):
    return {r.cand_ref: r for r in out.itertuples(index=False)}


def test_best_person_is_certain_when_it_clears_the_runner_up():
    out = decide(
        _pairs(
            [
                ("R:a", "I:p1", 20.0, 0.999, True),
                ("R:a", "I:p2", 12.0, 0.97, True),
                ("R:b", "I:p1", 20.0, 0.999, True),
                ("R:b", "I:p2", 19.0, 0.998, True),
            ]
        ),
        pd.Series(["R:a", "R:b"]),
        RULES,
    )
    assert list(out.columns) == list(DECISION_COLUMNS)
    d = _by_ref(out)
    assert (d["R:a"].cid, d["R:a"].grade, d["R:a"].margin) == ("I:p1", "certain", 8.0)
    # a runner-up within 3 bits: linked only provisionally, for a grid worker to verify
    assert (d["R:b"].cid, d["R:b"].grade) == ("I:p1", "possible")
    assert (d["R:b"].ev_l, d["R:b"].ev_r, d["R:b"].rule) == ("R:b", "I:p1", "scored")


def test_ties_go_to_the_smaller_reference_and_lone_best_has_no_margin():
    out = decide(
        _pairs(
            [
                ("R:a", "I:p2", 15.0, 0.99, True),
                ("R:a", "I:p1", 15.0, 0.99, True),
                ("R:c", "I:p3", 9.0, 0.97, True),
            ]
        ),
        pd.Series(["R:a", "R:c"]),
        RULES,
    )
    d = _by_ref(out)
    assert d["R:a"].cid == "I:p1" and d["R:a"].grade == "possible"  # margin 0
    assert d["R:c"].grade == "certain" and pd.isna(d["R:c"].margin)


def test_an_unusable_pair_never_links_nor_clusters():
    pairs = _pairs([("R:a", "I:p1", 30.0, 0.9999, False), ("R:a", "R:b", 30.0, 0.9999, False)])
    d = _by_ref(decide(pairs, pd.Series(["R:a", "R:b"]), RULES))
    assert (d["R:a"].cid, d["R:a"].grade, d["R:a"].rule) == (
        "R:a",
        "new",
        "no_candidate_above_threshold",
    )
    assert d["R:b"].cid == "R:b"


def test_other_prefixes_for_other_libraries():
    pairs = _pairs([("G:a", "S:x", 0.99, 0.99, True), ("G:b", "G:c", 0.99, 0.99, True)])
    out = decide(pairs, pd.Series(["G:a", "G:b", "G:c"]), RULES, "S:", "G:")
    d = _by_ref(out)
    assert (d["G:a"].cid, d["G:a"].grade) == ("S:x", "certain")
    assert d["G:b"].cid == "G:b" and d["G:c"].cid == "G:b"


def test_below_possible_is_a_new_person_with_score_zero():
    out = decide(_pairs([("R:a", "I:p1", 1.0, 0.3, True)]), pd.Series(["R:a"]), RULES)
    d = _by_ref(out)
    assert (d["R:a"].cid, d["R:a"].grade, d["R:a"].score) == ("R:a", "new", 0.0)
    assert pd.isna(d["R:a"].ev_l)


def test_unlinked_records_form_stars_and_never_chain():
    # a-b and b-c match certain, a-c do not: b joins a's star; c's centre would be b, which
    # is itself drawn to a, so c keeps to its own star (no chain a-b-c)
    pairs = _pairs(
        [
            ("R:a", "R:b", 14.0, 0.99, True),
            ("R:b", "R:c", 14.0, 0.99, True),
            ("R:d", "R:e", 2.0, 0.8, True),  # not certain: no cluster
            ("R:x", "I:p1", 25.0, 0.999, True),
            ("R:x", "R:y", 25.0, 0.999, True),  # x is linked to a person: not a centre for y
        ]
    )
    out = decide(pairs, pd.Series(["R:a", "R:b", "R:c", "R:d", "R:e", "R:x", "R:y"]), RULES)
    d = _by_ref(out)
    assert len(out) == 7
    assert d["R:a"].cid == "R:a" and d["R:b"].cid == "R:a"
    assert d["R:b"].rule == "new_with_residue" and d["R:b"].score == 0.99
    # the evidence pair is the scored pair as it was scored (a, b), not as it was walked
    assert (d["R:b"].ev_l, d["R:b"].ev_r) == ("R:a", "R:b")
    assert d["R:c"].cid == "R:c" and d["R:c"].rule == "no_candidate_above_threshold"
    assert d["R:d"].cid == "R:d" and d["R:e"].cid == "R:e"
    assert d["R:x"].cid == "I:p1" and d["R:y"].cid == "R:y"
    assert {d[f"R:{r}"].grade for r in "abcdey"} == {"new"}


def test_no_pairs_every_record_is_its_own_person():
    out = decide(_pairs([]), pd.Series(["R:a", "R:b"]), RULES)
    assert sorted(out["cid"]) == ["R:a", "R:b"] and set(out["grade"]) == {"new"}
