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
from typing import TYPE_CHECKING, Any

from rapidfuzz.distance import OSA, Indel, JaroWinkler, Levenshtein

if TYPE_CHECKING:
    import pyarrow as pa

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


def compare_arrow_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: ``l_ref, r_ref, l_<col>..., r_<col>...`` in, levels and
    similarities (``<field>_level``, ``<field>_sim``) out."""
    import pyarrow as pa

    for batch in batches:
        cols = {name: batch.column(name).to_pylist() for name in batch.schema.names}
        out = compare_columns(cols)
        arrays = [batch.column("l_ref"), batch.column("r_ref")]
        names = ["l_ref", "r_ref"]
        for f in FIELD_NAMES:
            arrays += [
                pa.array(out[f"{f}_level"], pa.int32()),
                pa.array(out[f"{f}_sim"], pa.float64()),
            ]
            names += [f"{f}_level", f"{f}_sim"]
        yield pa.RecordBatch.from_arrays(arrays, names=names)
