"""Fellegi–Sunter weights: m and u per comparison level, learned by EM, persisted as JSON.

A candidate pair is a vector of levels, one per field (``-1`` = not comparable, no
weight). Under conditional independence the log-likelihood ratio of a pair is the sum
of ``log2(m/u)`` over its comparable fields, plus the prior log-odds. ``u`` is best
estimated on random pairs (almost all non-matches); ``m`` and the prior by EM on the
candidate pairs, starting from the configured values. The model is saved as a versioned
JSON document so that every decision can be explained with the weights it used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zhongtai.errors import ZhongtaiError
from zhongtai.match.config import MatchingConfig

if TYPE_CHECKING:
    import pyarrow as pa

Pattern = tuple[int, ...]


@dataclass
class FSModel:
    """A Fellegi–Sunter model: per field, m and u for each level, and the prior."""

    fields: tuple[str, ...]
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float
    version: str = "config"
    trained: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: MatchingConfig) -> FSModel:
        """The starting model of ``config/matching.yaml``."""
        names = tuple(cfg.fields)
        return cls(
            fields=names,
            m={f: list(cfg.fields[f].m) for f in names},
            u={f: list(cfg.fields[f].u) for f in names},
            prior=cfg.prior,
            version=f"{cfg.version}/config",
        )

    def weight(self, fname: str, level: int) -> float:
        """``log2(m/u)`` of one level; 0 for a field that is not comparable (``level < 0``)."""
        if level < 0:
            return 0.0
        return math.log2(self.m[fname][level] / self.u[fname][level])

    def prior_bits(self) -> float:
        """The prior log-odds of a match, in bits."""
        return math.log2(self.prior / (1 - self.prior))

    def score(self, levels: Sequence[int]) -> float:
        """Total weight (bits) of a pair: prior log-odds plus the field weights."""
        return self.prior_bits() + sum(
            self.weight(f, lv) for f, lv in zip(self.fields, levels, strict=True)
        )

    @staticmethod
    def probability(score_bits: float) -> float:
        """Match probability of a total weight."""
        return 1.0 / (1.0 + 2.0 ** (-score_bits))

    def weight_table(self) -> dict[str, list[float]]:
        """Per field, the weight of each level (for vectorised scoring)."""
        return {f: [self.weight(f, i) for i in range(len(self.m[f]))] for f in self.fields}

    def to_json(self) -> str:
        """Serialise (versioned) for the lake."""
        return json.dumps(
            {
                "kind": "zhongtai.person_match_model",
                "version": self.version,
                "fields": list(self.fields),
                "m": self.m,
                "u": self.u,
                "prior": self.prior,
                "trained": self.trained,
            },
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> FSModel:
        """Read a model written by :meth:`to_json`."""
        try:
            d = json.loads(text)
            return cls(
                tuple(d["fields"]),
                d["m"],
                d["u"],
                float(d["prior"]),
                d["version"],
                d.get("trained", {}),
            )
        except (KeyError, ValueError, TypeError) as e:
            raise ZhongtaiError(f"match model JSON is malformed ({e}); re-run matching") from None


def level_frequencies(
    model: FSModel,
    patterns: Iterable[tuple[Pattern, int]],
    floor: float,
    fallback: dict[str, list[float]],
    min_pairs: int = 50,
) -> dict[str, list[float]]:
    """Per field, how often each level occurs among ``patterns`` (kept within ``floor``).

    A field observed in fewer than ``min_pairs`` pairs keeps its ``fallback`` values.
    """
    out: dict[str, list[float]] = {}
    counts = {f: [0.0] * len(fallback[f]) for f in model.fields}
    for pattern, n in patterns:
        for f, lv in zip(model.fields, pattern, strict=True):
            if lv >= 0:
                counts[f][lv] += n
    for f in model.fields:
        total = sum(counts[f])
        if total < min_pairs:
            out[f] = list(fallback[f])
            continue
        probs = [max(floor, c / total) for c in counts[f]]
        s = sum(probs)
        out[f] = [p / s for p in probs]
    return out


def estimate_u(
    model: FSModel, patterns: Iterable[tuple[Pattern, int]], floor: float
) -> dict[str, list[float]]:
    """u probabilities from the level counts of random (non-matching) pairs.

    A level never seen among random pairs gets ``floor``; an unobserved field keeps
    the model's value.
    """
    return level_frequencies(model, patterns, floor, model.u)


def estimate_m(
    model: FSModel, patterns: Iterable[tuple[Pattern, int]], floor: float
) -> dict[str, list[float]]:
    """m probabilities from the level counts of labelled matching pairs.

    The person linker labels pairs for free: two records that carry the same valid ID and
    agree on the name are the same person. Learning m from them needs no EM, and so cannot
    take "same household" for "same person" the way EM can on blocks full of families.
    """
    return level_frequencies(model, patterns, floor, model.m)


def train_em(
    model: FSModel,
    patterns: Sequence[tuple[Pattern, int]],
    *,
    max_iterations: int = 50,
    tolerance: float = 1e-5,
    floor: float = 1e-4,
    fix_u: bool = True,
    learn: Sequence[str] | None = None,
    learn_prior: bool = True,
) -> FSModel:
    """Expectation–maximisation of m (and the prior; u too unless ``fix_u``) on level patterns.

    Args:
        model: the starting model (configured values, u from random pairs).
        patterns: distinct level vectors with their counts among the candidate pairs.
        max_iterations: iteration cap.
        tolerance: stop when no parameter moves more than this.
        floor: probabilities are kept in [floor, 1 - floor].
        fix_u: keep u as given (estimated on random pairs), learn m and the prior only.
        learn: the fields whose m is learned (default all); the others keep theirs.
            Fields that blocking makes agree (a shared phone, a shared address) are
            better held fixed: within a block they agree for whole households.
        learn_prior: learn the prior too (else keep it).

    Returns:
        A new model; ``trained`` records the iterations, pairs and convergence.
    """
    fields = model.fields
    m = {f: list(v) for f, v in model.m.items()}
    u = {f: list(v) for f, v in model.u.items()}
    prior = model.prior
    total = float(sum(n for _, n in patterns))
    iterations, delta = 0, math.inf
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported after the loop)
        m_acc = {f: [0.0] * len(m[f]) for f in fields}
        u_acc = {f: [0.0] * len(u[f]) for f in fields}
        match_mass = 0.0
        for pattern, n in patterns:
            lm, lu = math.log(prior), math.log(1 - prior)
            for f, lv in zip(fields, pattern, strict=True):
                if lv >= 0:
                    lm += math.log(m[f][lv])
                    lu += math.log(u[f][lv])
            p = 1.0 / (1.0 + math.exp(lu - lm))
            match_mass += n * p
            for f, lv in zip(fields, pattern, strict=True):
                if lv >= 0:
                    m_acc[f][lv] += n * p
                    u_acc[f][lv] += n * (1 - p)
        delta = 0.0
        new_prior = (
            min(1 - floor, max(floor, match_mass / total)) if total and learn_prior else prior
        )
        delta = max(delta, abs(new_prior - prior))
        prior = new_prior
        for f in fields:
            frozen = learn is not None and f not in learn
            for acc, target, fixed in ((m_acc, m, frozen), (u_acc, u, fix_u or frozen)):
                if fixed:
                    continue
                s = sum(acc[f])
                if s <= 0:
                    continue
                probs = [min(1 - floor, max(floor, x / s)) for x in acc[f]]
                norm = sum(probs)
                probs = [x / norm for x in probs]
                delta = max(delta, max(abs(a - b) for a, b in zip(probs, target[f], strict=True)))
                target[f][:] = probs
        if delta < tolerance:
            break
    return FSModel(
        fields,
        m,
        u,
        prior,
        model.version.replace("/config", "") + "/em",
        {
            "iterations": iterations,
            "pairs": int(total),
            "converged": delta < tolerance,
            "fix_u": fix_u,
        },
    )


def score_levels(
    model: FSModel,
    levels: dict[str, list[int]],
    sims: dict[str, list[float | None]],
    level_names: dict[str, tuple[str, ...]] | None = None,
) -> tuple[list[float], list[float], list[str]]:
    """Score candidate pairs held column-wise: total bits, probability and fields evidence.

    Returns:
        ``(bits, probability, fields_json)`` lists; ``fields_json`` is, per pair, a JSON
        object ``{field: {level, similarity, weight}}``.
    """
    table = model.weight_table()
    prior = model.prior_bits()
    n = len(next(iter(levels.values()))) if levels else 0
    bits_out: list[float] = []
    prob_out: list[float] = []
    ev_out: list[str] = []
    for i in range(n):
        total = prior
        ev: dict[str, Any] = {}
        for f in model.fields:
            lv = levels[f][i]
            w = table[f][lv] if lv is not None and lv >= 0 else 0.0
            total += w
            names = (level_names or {}).get(f)
            name = (
                None
                if lv is None or lv < 0
                else (names[lv] if names and lv < len(names) else f"level{lv}")
            )
            ev[f] = {"level": name, "similarity": sims[f][i], "weight": round(w, 4)}
        bits_out.append(round(total, 4))
        prob_out.append(round(FSModel.probability(total), 6))
        ev_out.append(json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
    return bits_out, prob_out, ev_out


def score_batch(
    model: FSModel, batch: pa.RecordBatch, level_names: dict[str, tuple[str, ...]] | None = None
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """:func:`score_levels` over an Arrow batch of ``<field>_level`` and ``<field>_sim``.

    The same values, text for text (the tests hold the two to each other), from array
    operations: a pair's total is a sum of per-level weights, and its evidence is per-level
    JSON fragments with the similarity between them. Python only formats and rounds the
    distinct totals and similarities.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    table = model.weight_table()
    n = batch.num_rows
    total = np.full(n, model.prior_bits())
    parts: list[Any] = []
    for k, f in enumerate(model.fields):
        lv = np.asarray(
            batch.column(f"{f}_level").fill_null(-1).to_numpy(zero_copy_only=False), np.int64
        )
        weights = [*table[f], 0.0]  # index -1: not comparable, no weight
        total += np.asarray(weights)[lv]
        names = (level_names or {}).get(f)
        heads, tails = [], []
        for i, w in enumerate(weights):
            last = i == len(weights) - 1
            name = None if last else (names[i] if names and i < len(names) else f"level{i}")
            lead = "{" if k == 0 else ","
            heads.append(f'{lead}{json.dumps(f)}:{{"level":{_dumps(name)},"similarity":')
            tails.append(f',"weight":{_dumps(round(w, 4))}}}')
        at = pa.array(np.where(lv < 0, len(weights) - 1, lv))
        sim = _formatted(batch.column(f"{f}_sim"))
        parts += [pa.array(heads).take(at), sim, pa.array(tails).take(at)]
    parts.append(pa.array(["}"]).take(pa.array(np.zeros(n, dtype=np.int64))))
    evidence = pc.binary_join_element_wise(*parts, "")
    values, inverse = np.unique(total, return_inverse=True)
    inverse = inverse.reshape(-1)
    bits = np.array([round(float(t), 4) for t in values])[inverse]
    prob = np.array([round(FSModel.probability(float(t)), 6) for t in values])[inverse]
    return pa.array(bits, pa.float64()), pa.array(prob, pa.float64()), evidence


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def _formatted(sims: pa.Array) -> pa.Array:
    """Each similarity as JSON text (``null`` when missing), formatted once per value."""
    import numpy as np
    import pyarrow as pa

    x = np.asarray(sims.fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
    values, inverse = np.unique(x, return_inverse=True)
    text = ["null" if np.isnan(v) else _dumps(float(v)) for v in values]
    return pa.array(text, pa.string()).take(pa.array(inverse.reshape(-1), pa.int64()))


def score_arrow_batches(
    model: FSModel, level_names: dict[str, tuple[str, ...]] | None = None
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` body that appends ``bits``, ``probability`` and ``fields_json``
    to batches holding ``<field>_level`` and ``<field>_sim`` columns."""

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for b in batches:
            bits, prob, ev = score_batch(model, b, level_names)
            yield pa.RecordBatch.from_arrays(
                [*b.columns, bits, prob, ev],
                names=[*b.schema.names, "bits", "probability", "fields_json"],
            )

    return score
