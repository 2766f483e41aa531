"""Pairwise and B-cubed linkage metrics on hand-counted examples."""

from __future__ import annotations

import pytest

from zhongtai.match.evaluate import evaluate_links


def test_perfect_and_split_and_merge():
    truth = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P3"}
    perfect = evaluate_links(
        [("a", "k1", ""), ("b", "k1", ""), ("c", "k1", ""), ("d", "k2", ""), ("e", "k3", "")], truth
    )
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    assert perfect.bcubed_f1 == 1.0
    # P1 split into {a,b} and {c}: 1 of 3 true pairs found, no false pair
    split = evaluate_links(
        [("a", "k1", ""), ("b", "k1", ""), ("c", "k9", ""), ("d", "k2", ""), ("e", "k3", "")], truth
    )
    assert split.correct_pairs == 1 and split.true_pairs == 3 and split.precision == 1.0
    assert split.recall == pytest.approx(1 / 3)
    # d and e wrongly merged: one false pair
    merged = evaluate_links(
        [("a", "k1", ""), ("b", "k1", ""), ("c", "k1", ""), ("d", "k2", ""), ("e", "k2", "")], truth
    )
    assert merged.predicted_pairs == 4 and merged.precision == pytest.approx(3 / 4)
    assert merged.bcubed_precision == pytest.approx((3 * 1 + 2 * 0.5) / 5)
    assert merged.recall == 1.0


def test_records_without_truth_are_counted_not_scored():
    q = evaluate_links([("a", "k1", ""), ("zz", "k1", "")], {"a": "P1"})
    assert q.records == 1 and q.unmatched_truth == 1
