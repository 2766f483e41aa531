"""Fellegi–Sunter model: weights, EM on known mixtures, persistence."""

from __future__ import annotations

import random

import pytest

from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.match.config import load_matching_config, parse_matching_config
from zhongtai.match.weights import FSModel, estimate_m, estimate_u, score_levels, train_em


def _mixture(n_match: int, n_non: int, seed: int = 3) -> list[tuple[tuple[int, ...], int]]:
    """Level patterns drawn from known m and u (6 fields of the configured shape)."""
    rng = random.Random(seed)
    m = {
        0: [0.9, 0.07, 0.02, 0.01],
        1: [0.85, 0.1, 0.04, 0.01],
        2: [0.9, 0.07, 0.03],
        3: [0.97, 0.03],
        4: [0.7, 0.05, 0.25],
        5: [0.6, 0.2, 0.2],
    }
    u = {
        0: [0.01, 0.02, 0.07, 0.9],
        1: [0.001, 0.004, 0.02, 0.975],
        2: [0.01, 0.05, 0.94],
        3: [0.5, 0.5],
        4: [0.05, 0.01, 0.94],
        5: [0.05, 0.2, 0.75],
    }
    counts: dict[tuple[int, ...], int] = {}
    for probs, n in ((m, n_match), (u, n_non)):
        for _ in range(n):
            p = tuple(rng.choices(range(len(probs[f])), probs[f])[0] for f in range(6))
            counts[p] = counts.get(p, 0) + 1
    return list(counts.items())


def test_em_recovers_the_mixture():
    cfg = load_matching_config()
    start = FSModel.from_config(cfg)
    trained = train_em(start, _mixture(3000, 7000), fix_u=False, max_iterations=200)
    assert trained.prior == pytest.approx(0.3, abs=0.03)
    assert trained.m["name"][0] == pytest.approx(0.9, abs=0.03)
    assert trained.u["name"][3] == pytest.approx(0.9, abs=0.03)
    assert trained.trained["pairs"] == 10000
    # exact agreement on every field is overwhelming evidence, disagreement everywhere is not
    assert trained.probability(trained.score((0, 0, 0, 0, 0, 0))) > 0.999
    assert trained.probability(trained.score((3, 3, 2, 1, 2, 2))) < 0.001


def test_weights_scoring_and_json_round_trip():
    model = FSModel.from_config(load_matching_config())
    assert model.weight("name", -1) == 0.0
    bits, prob, ev = score_levels(
        model, {f: [0] for f in model.fields}, {f: [1.0] for f in model.fields}
    )
    assert bits[0] == pytest.approx(model.score((0,) * 6), abs=1e-3)
    assert prob[0] > 0.99 and '"name"' in ev[0]
    back = FSModel.from_json(model.to_json())
    assert back.m == model.m and back.version == model.version
    with pytest.raises(ZhongtaiError):
        FSModel.from_json("{}")


def test_u_from_random_pairs_and_bad_config():
    model = FSModel.from_config(load_matching_config())
    u = estimate_u(model, [((3, 3, 2, 0, 2, 2), 900), ((2, 3, 2, 1, 2, 1), 100)], 1e-4)
    assert u["name"][3] == pytest.approx(0.9, abs=1e-3)
    assert u["name"][0] == pytest.approx(1e-4, rel=0.01)
    with pytest.raises(ConfigError, match="missing key .name."):
        parse_matching_config({"model": {"fields": {}}, "blocking": {"rules": []}})


def test_thresholds_are_checked():
    import yaml

    from zhongtai.match.config import DEFAULT_PATH

    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["thresholds"]["possible"] = 0.999
    with pytest.raises(ConfigError, match="possible <= certain"):
        parse_matching_config(raw)


def test_m_from_labelled_pairs_ignores_fields_not_compared():
    """Labelled pairs carry no ID comparison (-1): id_number keeps its configured m."""
    model = FSModel.from_config(load_matching_config())
    # 80 % same name, 15 % same pinyin, 5 % similar; birth date delivered by half of them
    pats = [((0, -1, 0, 0, 0, -1), 80), ((1, -1, -1, 0, 2, -1), 15), ((2, -1, 1, 0, 0, -1), 5)]
    m = estimate_m(model, pats, 1e-4)
    assert m["name"][0] == pytest.approx(0.8, abs=1e-3)
    assert m["name"][1] == pytest.approx(0.15, abs=1e-3)
    assert m["name"][3] == pytest.approx(1e-4, rel=0.01)  # never seen: the floor
    assert m["birth_date"][0] == pytest.approx(80 / 85, abs=1e-3)
    assert m["id_number"] == model.m["id_number"]
    # too few observations keep the configured value
    assert estimate_m(model, [((0, -1, 0, 0, 0, -1), 10)], 1e-4)["name"] == model.m["name"]


def test_learned_field_lists_are_checked():
    import yaml

    from zhongtai.match.config import DEFAULT_PATH

    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["model"]["m_from_id_pairs"] = ["name", "phone"]
    assert parse_matching_config(raw).m_from_id_pairs == ("name", "phone")
    raw["model"]["m_from_id_pairs"] = ["name", "shoe_size"]
    with pytest.raises(ConfigError, match="unknown fields .'shoe_size'."):
        parse_matching_config(raw)


def test_vectorised_scores_equal_the_per_pair_scores():
    import random

    import pyarrow as pa

    from zhongtai.match.weights import score_batch

    cfg = load_matching_config()
    model = FSModel.from_config(cfg)
    model.m["name"] = [0.7, 0.15, 0.1, 0.05]  # weights that are not round numbers
    names = {f: spec.levels for f, spec in cfg.fields.items()}
    rnd = random.Random(5)
    n = 2000
    levels = {f: [rnd.randint(-1, len(model.m[f]) - 1) for _ in range(n)] for f in model.fields}
    sims = {
        f: [
            None if lv < 0 else rnd.choice([1.0, 0.6667, 0.0, 0.95, round(rnd.random(), 4)])
            for lv in levels[f]
        ]
        for f in model.fields
    }
    bits, prob, ev = score_levels(model, levels, sims, names)
    cols = {}
    for f in model.fields:
        cols[f"{f}_level"] = pa.array(levels[f], pa.int32())
        cols[f"{f}_sim"] = pa.array(sims[f], pa.float64())
    v_bits, v_prob, v_ev = score_batch(model, pa.RecordBatch.from_pydict(cols), names)
    assert v_bits.to_pylist() == bits
    assert v_prob.to_pylist() == prob
    assert v_ev.to_pylist() == ev
    # an empty batch scores to empty columns
    empty = pa.RecordBatch.from_pydict({k: v.slice(0, 0) for k, v in cols.items()})
    assert all(len(a) == 0 for a in score_batch(model, empty, names))
