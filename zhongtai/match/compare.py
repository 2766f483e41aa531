"""Field comparators for person linking: Chinese names, resident IDs, dates, phones, addresses.

Each comparator takes two normalised values (the clean zone's forms) and returns a
:class:`Comparison`: the level index (0 = best agreement, last = disagreement; the
levels are those of ``config/matching.yaml``) and a similarity in [0, 1]. ``None``
means "not comparable" (a value is missing): the field then carries no weight.
Multi-valued sides (a person seen with several phones) are ``|``-joined; the best
agreement counts. Everything here is plain Python over rapidfuzz, testable without Spark,
and :func:`compare_batch` applies it column-wise to an Arrow batch of candidate pairs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import OSA, Indel, JaroWinkler, Levenshtein

MULTI_SEP = "|"


@dataclass(frozen=True)
class Comparison:
    """The outcome of one field comparison."""

    level: int
    similarity: float


def _items(v: Any) -> list[str]:
    if v is None:
        return []
    s = str(v)
    return [x for x in s.split(MULTI_SEP) if x] if s else []


def _is_han(s: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in s)


def compare_name(
    name_a: str | None, pinyin_a: str | None, name_b: str | None, pinyin_b: str | None
) -> Comparison | None:
    """Levels: exact hanzi, same pinyin (homophone, pinyin-only), similar, different."""
    if not (name_a or pinyin_a) or not (name_b or pinyin_b):
        return None
    if name_a and name_b and name_a == name_b:
        return Comparison(0, 1.0)
    py = JaroWinkler.normalized_similarity(pinyin_a, pinyin_b) if pinyin_a and pinyin_b else 0.0
    han = (
        Indel.normalized_similarity(name_a, name_b)
        if name_a and name_b and _is_han(name_a) and _is_han(name_b)
        else 0.0
    )
    sim = max(py, han)
    if pinyin_a and pinyin_a == pinyin_b:
        return Comparison(1, max(sim, 0.95))
    if py >= 0.92 or (han >= 0.66 and py >= 0.8):
        return Comparison(2, sim)
    return Comparison(3, sim)


def compare_id(a: str | None, b: str | None) -> Comparison | None:
    """Levels: exact, one edit (one digit or one adjacent swap), near (Excel ``000``
    damage or two edits), different."""
    if not a or not b:
        return None
    if a == b:
        return Comparison(0, 1.0)
    sim = Levenshtein.normalized_similarity(a, b)
    if len(a) == len(b) and OSA.distance(a, b) == 1:
        return Comparison(1, sim)
    if len(a) == len(b) == 18 and (
        (a.endswith("000") and a[:15] == b[:15]) or (b.endswith("000") and a[:15] == b[:15])
    ):
        return Comparison(2, sim)
    if OSA.distance(a, b) == 2:
        return Comparison(2, sim)
    return Comparison(3, sim)


def _as_date(v: Any) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def compare_birth_date(a: Any, b: Any) -> Comparison | None:
    """Levels: exact, one part differs or day and month swapped, different."""
    da, db = _as_date(a), _as_date(b)
    if da is None or db is None:
        return None
    if da == db:
        return Comparison(0, 1.0)
    same = (da.year == db.year) + (da.month == db.month) + (da.day == db.day)
    swapped = da.year == db.year and da.month == db.day and da.day == db.month
    if same == 2 or swapped:
        return Comparison(1, 2 / 3)
    return Comparison(2, same / 3)


def compare_gender(a: str | None, b: str | None) -> Comparison | None:
    """Levels: same, different."""
    if not a or not b:
        return None
    return Comparison(0, 1.0) if a == b else Comparison(1, 0.0)


def compare_phone(a: str | None, b: str | None) -> Comparison | None:
    """Levels: exact, one edit, different (best over the values of each side)."""
    xs, ys = _items(a), _items(b)
    if not xs or not ys:
        return None
    best = Comparison(2, 0.0)
    for x in xs:
        for y in ys:
            if x == y:
                return Comparison(0, 1.0)
            sim = Levenshtein.normalized_similarity(x, y)
            if len(x) == len(y) and OSA.distance(x, y) == 1:
                if best.level > 1 or sim > best.similarity:
                    best = Comparison(1, sim)
            elif best.level == 2 and sim > best.similarity:
                best = Comparison(2, sim)
    return best


def compare_address(
    addr_a: str | None, comm_a: str | None, addr_b: str | None, comm_b: str | None
) -> Comparison | None:
    """Levels: same standard address, same community, different."""
    aa, ab = _items(addr_a), _items(addr_b)
    ca, cb = _items(comm_a), _items(comm_b)
    if aa and ab and set(aa) & set(ab):
        return Comparison(0, 1.0)
    if ca and cb and set(ca) & set(cb):
        return Comparison(1, 0.5)
    if (aa and ab) or (ca and cb):
        return Comparison(2, 0.0)
    return None


# (field, comparator, record-side columns, person-side columns)
COMPARATORS: list[
    tuple[str, Callable[..., Comparison | None], tuple[str, ...], tuple[str, ...]]
] = [
    ("name", compare_name, ("name_norm", "name_pinyin"), ("name_norm", "name_pinyin")),
    ("id_number", compare_id, ("id_digits",), ("id_digits",)),
    ("birth_date", compare_birth_date, ("birth_date",), ("birth_date",)),
    ("gender", compare_gender, ("gender",), ("gender",)),
    ("phone", compare_phone, ("phone_norm",), ("phone_norm",)),
    (
        "address",
        compare_address,
        ("address_id", "community_code"),
        ("address_id", "community_code"),
    ),
]
FIELD_NAMES = tuple(c[0] for c in COMPARATORS)
PAIR_INPUT_COLUMNS = tuple(
    dict.fromkeys(
        [f"l_{c}" for _, _, cols, _ in COMPARATORS for c in cols]
        + [f"r_{c}" for _, _, _, cols in COMPARATORS for c in cols]
    )
)


def compare_record(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Comparison | None]:
    """Compare one record (``left``) with one person or record (``right``), field by field."""
    out: dict[str, Comparison | None] = {}
    for name, fn, lcols, rcols in COMPARATORS:
        # comparator signatures take the record's fields, then the other side's
        out[name] = fn(*[left.get(c) for c in lcols], *[right.get(c) for c in rcols])
    return out


def compare_columns(cols: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Compare candidate pairs held column-wise (``l_<col>`` and ``r_<col>`` lists).

    Returns, per field, ``<field>_level`` (int, -1 when not comparable) and
    ``<field>_sim`` (float or None) lists of the same length.
    """
    n = len(next(iter(cols.values()))) if cols else 0
    out: dict[str, list[Any]] = {}
    for name, fn, lcols, rcols in COMPARATORS:
        lv = [cols[f"l_{c}"] for c in lcols]
        rv = [cols[f"r_{c}"] for c in rcols]
        levels: list[int] = []
        sims: list[float | None] = []
        for i in range(n):
            c = fn(*[v[i] for v in lv], *[v[i] for v in rv])
            levels.append(-1 if c is None else c.level)
            sims.append(None if c is None else round(c.similarity, 4))
        out[f"{name}_level"] = levels
        out[f"{name}_sim"] = sims
    return out


def _present(a: pa.Array) -> np.ndarray:
    """Which values are there (not null, not empty): the comparators' truthiness."""
    return _mask(pc.greater(pc.binary_length(a), 0))


def _mask(a: Any) -> np.ndarray:
    return np.asarray(a.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _equal(a: pa.Array, b: pa.Array) -> np.ndarray:
    return _mask(pc.equal(a, b))


def _pairwise(scorer: Any, a: pa.Array, b: pa.Array, rows: np.ndarray, dtype: Any) -> np.ndarray:
    """``scorer(a[i], b[i])`` for the selected rows, in rapidfuzz's C++ loop."""
    from rapidfuzz.process import cpdist

    if not rows.any():
        return np.zeros(0, dtype=dtype)
    sel = pa.array(rows)
    x, y = a.filter(sel).to_pylist(), b.filter(sel).to_pylist()
    return np.asarray(cpdist(x, y, scorer=scorer, dtype=dtype, workers=1))


def _rounded(x: np.ndarray) -> np.ndarray:
    """``round(v, 4)`` of each value, exactly as Python rounds (once per distinct value)."""
    if len(x) == 0:
        return x
    values, inverse = np.unique(x, return_inverse=True)
    return np.array([round(float(v), 4) for v in values])[inverse.reshape(-1)]


def _name_columns(ln: pa.Array, lp: pa.Array, rn: pa.Array, rp: pa.Array) -> tuple[Any, Any]:
    """:func:`compare_name` over arrays."""
    pln, plp, prn, prp = _present(ln), _present(lp), _present(rn), _present(rp)
    level = np.full(len(ln), -1, dtype=np.int32)
    sim = np.zeros(len(ln))
    comparable = (pln | plp) & (prn | prp)
    exact = comparable & pln & prn & _equal(ln, rn)
    rest = comparable & ~exact
    py = np.zeros(len(ln))
    both_py = rest & plp & prp
    py[both_py] = _pairwise(JaroWinkler.normalized_similarity, lp, rp, both_py, np.float64)
    han_re = "[\u3400-\u9fff\uf900-\ufaff]"
    han_rows = (
        rest
        & pln
        & prn
        & _mask(pc.match_substring_regex(ln, han_re))
        & _mask(pc.match_substring_regex(rn, han_re))
    )
    han = np.zeros(len(ln))
    han[han_rows] = _pairwise(Indel.normalized_similarity, ln, rn, han_rows, np.float64)
    best = np.maximum(py, han)
    same_py = rest & plp & _equal(lp, rp)
    similar = rest & ~same_py & ((py >= 0.92) | ((han >= 0.66) & (py >= 0.8)))
    level[rest] = 3
    level[similar] = 2
    level[same_py] = 1
    level[exact] = 0
    sim[rest] = best[rest]
    sim[same_py] = np.maximum(best[same_py], 0.95)
    sim[exact] = 1.0
    return level, sim


def _id_columns(a: pa.Array, b: pa.Array) -> tuple[Any, Any]:
    """:func:`compare_id` over arrays."""
    level = np.full(len(a), -1, dtype=np.int32)
    sim = np.zeros(len(a))
    both = _present(a) & _present(b)
    exact = both & _equal(a, b)
    rest = both & ~exact
    sim[rest] = _pairwise(Levenshtein.normalized_similarity, a, b, rest, np.float64)
    osa = np.full(len(a), -1, dtype=np.int64)
    osa[rest] = _pairwise(OSA.distance, a, b, rest, np.int64)
    la = np.asarray(pc.utf8_length(a).fill_null(-1).to_numpy(zero_copy_only=False))
    lb = np.asarray(pc.utf8_length(b).fill_null(-1).to_numpy(zero_copy_only=False))
    one_edit = rest & (la == lb) & (osa == 1)
    head = _equal(pc.utf8_slice_codeunits(a, 0, 15), pc.utf8_slice_codeunits(b, 0, 15))
    zeros = _mask(pc.ends_with(a, "000")) | _mask(pc.ends_with(b, "000"))
    near = rest & ~one_edit & (((la == 18) & (lb == 18) & zeros & head) | (osa == 2))
    level[rest] = 3
    level[near] = 2
    level[one_edit] = 1
    level[exact] = 0
    sim[exact] = 1.0
    return level, sim


def _date_parts(a: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = pc.strptime(pc.utf8_slice_codeunits(a, 0, 10), "%Y-%m-%d", "s", error_is_null=True)
    ok = _mask(pc.is_valid(d))

    def part(x: pa.Array) -> np.ndarray:
        return np.asarray(x.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)

    return ok, part(pc.year(d)), part(pc.month(d)), part(pc.day(d))


def _birth_date_columns(a: pa.Array, b: pa.Array) -> tuple[Any, Any]:
    """:func:`compare_birth_date` over ISO date strings."""
    oa, ya, ma, da = _date_parts(a)
    ob, yb, mb, db = _date_parts(b)
    both = oa & ob
    same = (ya == yb).astype(int) + (ma == mb) + (da == db)
    swapped = (ya == yb) & (ma == db) & (da == mb)
    level = np.where(both, np.where(same == 3, 0, np.where((same == 2) | swapped, 1, 2)), -1)
    sim = np.where(level == 0, 1.0, np.where(level == 1, 2 / 3, same / 3))
    return level.astype(np.int32), sim


def _gender_columns(a: pa.Array, b: pa.Array) -> tuple[Any, Any]:
    """:func:`compare_gender` over arrays."""
    both = _present(a) & _present(b)
    same = _equal(a, b)
    level = np.where(both, np.where(same, 0, 1), -1).astype(np.int32)
    return level, np.where(same, 1.0, 0.0)


def _multi(*arrays: pa.Array) -> np.ndarray:
    """Rows where any of ``arrays`` holds several values (the per-row comparators decide)."""
    out = np.zeros(len(arrays[0]), dtype=bool)
    for a in arrays:
        out |= _mask(pc.match_substring(a, MULTI_SEP))
    return out


def _phone_columns(a: pa.Array, b: pa.Array) -> tuple[Any, Any]:
    """:func:`compare_phone` over arrays (single values here, several by the comparator)."""
    level = np.full(len(a), -1, dtype=np.int32)
    sim = np.zeros(len(a))
    multi = _multi(a, b)
    both = ~multi & _present(a) & _present(b)
    exact = both & _equal(a, b)
    rest = both & ~exact
    sim[rest] = _pairwise(Levenshtein.normalized_similarity, a, b, rest, np.float64)
    osa = np.full(len(a), -1, dtype=np.int64)
    osa[rest] = _pairwise(OSA.distance, a, b, rest, np.int64)
    same_len = _equal(pc.utf8_length(a), pc.utf8_length(b))
    level[rest] = np.where(same_len & (osa == 1), 1, 2)[rest]
    level[exact] = 0
    sim[exact] = 1.0
    _by_row(compare_phone, (a, b), multi, level, sim)
    return level, sim


def _address_columns(aa: pa.Array, ca: pa.Array, ab: pa.Array, cb: pa.Array) -> tuple[Any, Any]:
    """:func:`compare_address` over arrays (single values here, several by the comparator)."""
    multi = _multi(aa, ca, ab, cb)
    addr = _present(aa) & _present(ab)
    comm = _present(ca) & _present(cb)
    same_addr = addr & _equal(aa, ab)
    same_comm = comm & _equal(ca, cb)
    level = np.where(same_addr, 0, np.where(same_comm, 1, np.where(addr | comm, 2, -1))).astype(
        np.int32
    )
    sim = np.where(level == 0, 1.0, np.where(level == 1, 0.5, 0.0))
    level[multi] = -1
    _by_row(compare_address, (aa, ca, ab, cb), multi, level, sim)
    return level, sim


def _by_row(
    fn: Callable[..., Comparison | None],
    arrays: tuple[pa.Array, ...],
    rows: np.ndarray,
    level: np.ndarray,
    sim: np.ndarray,
) -> None:
    """Fill ``level`` and ``sim`` at ``rows`` with the per-row comparator ``fn``."""
    idx = np.flatnonzero(rows)
    if not len(idx):
        return
    sel = pa.array(idx)
    cols = [a.take(sel).to_pylist() for a in arrays]
    for i, args in zip(idx, zip(*cols, strict=True), strict=True):
        c = fn(*args)
        level[i], sim[i] = (-1, 0.0) if c is None else (c.level, c.similarity)


# field -> the vectorised comparator, over (record columns..., other side's columns...)
_COLUMNAR: dict[str, Callable[..., tuple[Any, Any]]] = {
    "name": _name_columns,
    "id_number": _id_columns,
    "birth_date": _birth_date_columns,
    "gender": _gender_columns,
    "phone": _phone_columns,
    "address": _address_columns,
}


def compare_arrays(cols: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """:func:`compare_columns` over Arrow string arrays, vectorised.

    The same levels and similarities as the per-pair comparators (the tests hold the two
    to each other), computed with array operations and rapidfuzz's pairwise C++ loop
    (``cpdist``); only rows with multi-valued phones or addresses go through the per-pair
    comparator.
    """
    out: dict[str, pa.Array] = {}
    for name, _, lcols, rcols in COMPARATORS:
        args = [
            cols[f"{side}_{c}"].cast(pa.string())
            for side, cs in (("l", lcols), ("r", rcols))
            for c in cs
        ]
        level, sim = _COLUMNAR[name](*args)
        out[f"{name}_level"] = pa.array(level, pa.int32())
        out[f"{name}_sim"] = pa.array(_rounded(np.asarray(sim, dtype=np.float64)), mask=level < 0)
    return out


def compare_arrow_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: ``l_ref, r_ref, l_<col>..., r_<col>...`` in, levels and
    similarities (``<field>_level``, ``<field>_sim``) out."""
    for batch in batches:
        cols = {name: batch.column(name) for name in batch.schema.names}
        out = compare_arrays(cols)
        names = ["l_ref", "r_ref"] + [f"{f}_{k}" for f in FIELD_NAMES for k in ("level", "sim")]
        arrays = [batch.column("l_ref"), batch.column("r_ref")] + [out[n] for n in names[2:]]
        yield pa.RecordBatch.from_arrays(arrays, names=names)
