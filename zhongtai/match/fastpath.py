"""The exact-ID fast path of the person linker, one partition of ID-shuffled records at a time.

Most person-bearing records carry a valid ID, and all the records of one ID sit in one
partition once the records are shuffled by its pseudonym. What the linker needs from them
is a handful of per-ID results: the identity the ID holds (the name most often seen with
it), which records disagree with that identity (the residue, scored later), and, over the
records that agree, the survivorship picks of the golden record, the library person's
comparison fields and sets, and the key-map fields. In Spark SQL these are a dozen
``min_by`` aggregations over nested structs, which have no compiled form and fall back to
sorting the wide rows; here they are a few vectorised sorts (NumPy) per partition, in a
``mapInArrow`` task that reads its partition's files and writes its ID rows itself.

The job computes every survivorship order as columns when it stages the records (so the
rules live in one place, the job); :func:`fast_path_table` only ranks, picks and
gathers. Ties end on the record reference, as in the job, so every pick is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import Levenshtein

POPULATION = "population"
_LOW = np.iinfo(np.int64).min  # a null order key sorts first, as in Spark's struct order
_HIGH = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Pick:
    """A golden-record pick per ID: its record first in the order of ``order`` (then the
    reference), output as ``_pick_<name>`` = struct(o: the order with the reference,
    _has: whether the record has the group's value (``order[0]`` is 0), _src: its
    reference, and ``columns``).
    """

    name: str
    order: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class FastPathSpec:
    """What to compute per ID (the input columns are the job's)."""

    max_pinyin_edits: int
    # the library person's comparison identity: the first record by these orders
    head_order: tuple[str, ...]
    picks: tuple[Pick, ...]
    # output name -> input column: the distinct non-null values, sorted, joined by "|"
    joined_sets: tuple[tuple[str, str], ...]
    # output name -> input columns (coalesced): the first non-null value by reference
    firsts: tuple[tuple[str, tuple[str, ...]], ...]


class _Partition:
    """One partition's records: contiguous key columns, and lazily gathered others."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.n = table.num_rows
        self._arrays: dict[str, pa.Array] = {}
        self._ints: dict[tuple[str, int], np.ndarray] = {}
        self._pop: np.ndarray | None = None

    def array(self, name: str) -> pa.Array:
        if name not in self._arrays:
            self._arrays[name] = self.table[name].combine_chunks()
        return self._arrays[name]

    def ints(self, name: str, null: int = _LOW) -> np.ndarray:
        """An integer-like column (ints, booleans, dates, timestamps) as int64.

        Converted once: the order keys shared by several picks are read by each.
        """
        if (name, null) not in self._ints:
            col = self.table[name]
            if pa.types.is_date32(col.type):
                col = pc.cast(col, pa.int32())
            self._ints[name, null] = np.asarray(
                pc.fill_null(pc.cast(col, pa.int64()), null).to_numpy()
            )
        return self._ints[name, null]

    def is_population(self) -> np.ndarray:
        """Which records come from the population feed."""
        if self._pop is None:
            self._pop = _bool(pc.equal(self.array("feed"), POPULATION))
        return self._pop

    def take(self, name: str, rows: np.ndarray) -> pa.Array:
        return self.table[name].take(pa.array(rows)).combine_chunks()


def _codes(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dense codes of ``arr`` in the sorted order of its values (null: -1), and the values."""
    enc = pc.dictionary_encode(arr)
    order = pc.sort_indices(enc.dictionary).to_numpy()
    idx = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    if len(order) == 0:
        return np.full(len(idx), -1, dtype=np.int64), enc.dictionary
    rank = _inverse(order)
    return np.where(idx >= 0, rank[np.maximum(idx, 0)], -1), enc.dictionary.take(pa.array(order))


def _inverse(order: np.ndarray) -> np.ndarray:
    """The rank of each position in a sorting permutation (``order[rank[i]] == i``)."""
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank


def _firsts(keys: np.ndarray) -> np.ndarray:
    """Positions where a sorted key array starts a new run."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _bool(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def flag_records(
    p: _Partition, id_code: np.ndarray, rank: np.ndarray, max_pinyin_edits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which records agree with the identity their ID holds: (fast, id_conflict) masks.

    The identity of an ID is the name (pinyin, else hanzi) most often seen with it,
    population records first, then the most records, then the first reference. A record
    whose name is more than ``max_pinyin_edits`` edits from it, and whose hanzi differ
    from the identity's, is in conflict: the ID is someone else's.
    """
    has_id = _bool(p.array("has_id")) & (id_code >= 0)
    nk_code, nk_values = _codes(pc.coalesce(p.array("name_pinyin"), p.array("name_norm")))
    is_pop = p.is_population()
    voters = np.flatnonzero(has_id & (nk_code >= 0))
    consistent = np.ones(p.n, dtype=bool)
    if len(voters):
        n_nk = int(nk_code.max()) + 1
        # votes: one run per (ID, name), its records by reference
        order = voters[np.lexsort((rank[voters], id_code[voters] * n_nk + nk_code[voters]))]
        starts = _firsts(id_code[order] * n_nk + nk_code[order])
        counts = np.diff(np.r_[starts, len(order)])
        pops = np.add.reduceat(is_pop[order].astype(np.int64), starts)
        first_row = order[starts]
        vote_id = id_code[first_row]
        # the identity of each ID: most population records, then most records, then first
        best = np.lexsort((rank[first_row], -counts, -pops, vote_id))
        win = best[_firsts(vote_id[best])]
        owner_nk = np.full(int(id_code.max()) + 1, -1, dtype=np.int64)
        owner_row = np.full(int(id_code.max()) + 1, -1, dtype=np.int64)
        owner_nk[vote_id[win]] = nk_code[first_row[win]]
        owner_row[vote_id[win]] = first_row[win]
        # records whose name key differs from their ID's identity
        cand = voters[owner_nk[id_code[voters]] != nk_code[voters]]
        if len(cand):
            names = p.array("name_norm")
            same_hanzi = _bool(
                pc.equal(names.take(pa.array(cand)), names.take(pa.array(owner_row[id_code[cand]])))
            )
            nks = nk_values.to_pylist()
            far = np.fromiter(
                (
                    Levenshtein.distance(nks[a], nks[b], score_cutoff=max_pinyin_edits)
                    > max_pinyin_edits
                    for a, b in zip(nk_code[cand], owner_nk[id_code[cand]], strict=True)
                ),
                dtype=bool,
                count=len(cand),
            )
            consistent[cand[~same_hanzi & far]] = False
    return has_id & consistent, has_id & ~consistent


def identities(
    p: _Partition,
    id_code: np.ndarray,
    id_values: pa.Array,
    by_rank: np.ndarray,
    fast: np.ndarray,
    spec: FastPathSpec,
    schema: pa.Schema,
) -> pa.Table:
    """One row per ID over its fast records: the picks, sets, firsts and counts.

    ``by_rank`` lists the partition's rows in reference order; ``schema`` is the output's.
    """
    member = np.where(fast, id_code, -1)
    # the fast rows by ID, then reference: every pick is a stable sort of this order
    rows = by_rank[np.argsort(member[by_rank], kind="stable")]
    rows = rows[member[rows] >= 0]
    code = id_code[rows]
    starts = _firsts(code)
    codes = code[starts]
    cols: dict[str, pa.Array] = {"id_pseudonym": id_values.take(pa.array(codes))}

    def first_by(order: tuple[str, ...]) -> np.ndarray:
        keys = [p.ints(c)[rows] for c in reversed(order)]
        o = np.lexsort((*keys, code))  # stable: the reference breaks the remaining ties
        return rows[o][_firsts(code[o])]

    head = first_by(spec.head_order)
    h_type = schema.field("_h").type
    birth = pc.coalesce(p.take("birth_date_from_id", head), p.take("birth_date", head))
    gender = pc.coalesce(p.take("gender_from_id", head), p.take("gender", head))
    resident = pc.equal(
        pc.coalesce(p.take("id_type", head), pa.scalar("resident_id")), "resident_id"
    )
    digits = pc.if_else(resident.fill_null(False), p.take("id_number_norm", head), None)
    h_children = {
        "name_norm": p.take("name_norm", head),
        "name_pinyin": p.take("name_pinyin", head),
        "birth_date": birth,
        "gender": gender,
        "id_digits": digits,
    }
    cols["_h"] = _struct(h_type, h_children)
    for pk in spec.picks:
        win = first_by(pk.order)
        out = f"_pick_{pk.name}"
        t = schema.field(out).type
        o_type = t.field("o").type
        keys = [p.take(c, win) for c in pk.order] + [p.take("rec_ref", win)]
        o = _struct(o_type, {o_type.field(i).name: k for i, k in enumerate(keys)})
        children = {
            "o": o,
            "_has": pc.equal(keys[0], 0),
            "_src": keys[-1],
            **{c: p.take(c, win) for c in pk.columns},
        }
        cols[out] = _struct(t, children)
    n_codes = int(id_code.max()) + 1
    for out, c in spec.joined_sets:
        cols[out] = pc.binary_join(_distinct_lists(p.array(c), id_code, fast, codes, n_codes), "|")
    systems = pc.binary_join_element_wise(
        p.array("feed"), p.array("source_system"), ":", null_handling="skip"
    )
    cols["_systems"] = _distinct_lists(systems, id_code, fast, codes, n_codes)
    for out, srcs in spec.firsts:
        v = pc.coalesce(*[p.array(c) for c in srcs]) if len(srcs) > 1 else p.array(srcs[0])
        nonnull = rows[_bool(pc.is_valid(v))[rows]]
        first = nonnull[_firsts(id_code[nonnull])]
        at = np.full(n_codes, -1, dtype=np.int64)
        at[id_code[first]] = first
        idx = at[codes]
        cols[out] = v.take(pa.array(idx, mask=idx < 0))
    is_pop = p.is_population()[rows]
    cols["_has_pop"] = pa.array(np.maximum.reduceat(is_pop.astype(np.int32), starts), pa.int32())
    days_type = p.table["business_date"].type
    cols["first_seen_date"] = _days(
        np.minimum.reduceat(p.ints("business_date", _HIGH)[rows], starts), days_type
    )
    cols["last_seen_date"] = _days(
        np.maximum.reduceat(p.ints("business_date", _LOW)[rows], starts), days_type
    )
    vcode, vdict = _codes(p.array("pseudonym_key_version"))
    best = np.maximum.reduceat(vcode[rows], starts)
    cols["pseudonym_key_version"] = vdict.take(pa.array(best, mask=best < 0))
    cols["records"] = pa.array(np.diff(np.r_[starts, len(rows)]), pa.int64())
    return pa.table(cols)


def _struct(t: pa.StructType, children: dict[str, pa.Array]) -> pa.StructArray:
    """A struct array of type ``t`` from its children, by name (cast to the field types)."""
    fields = [t.field(i) for i in range(t.num_fields)]
    arrays = [children[f.name].cast(f.type) for f in fields]
    return pa.StructArray.from_arrays(arrays, fields=fields)


def _days(days: np.ndarray, typ: pa.DataType) -> pa.Array:
    valid = (days != _HIGH) & (days != _LOW)
    return pc.cast(pa.array(days.astype(np.int32), pa.int32(), mask=~valid), typ)


def _distinct_lists(
    values: pa.Array, id_code: np.ndarray, member: np.ndarray, codes: np.ndarray, n_codes: int
) -> pa.Array:
    """Per ID (``codes``, ascending): the sorted distinct non-null values of its member rows."""
    vcode, vdict = _codes(values)
    keep = member & (vcode >= 0)
    nv = max(len(vdict), 1)
    pairs = np.unique(id_code[keep] * nv + vcode[keep])
    counts = np.bincount(pairs // nv, minlength=n_codes)
    offsets = np.r_[0, np.cumsum(counts[codes])].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), vdict.take(pa.array(pairs % nv)))


def fast_path_table(
    spec: FastPathSpec, schema: pa.Schema, table: pa.Table, carry: tuple[str, ...] = ("rec_ref",)
) -> tuple[pa.Table, pa.Table | None]:
    """One partition's fast path: (residue, ID rows).

    The residue holds each record that is not on the fast path, its ``carry`` columns and
    whether its ID is in conflict with its holder (``id_conflict``). The ID rows, of
    ``schema``, are one per ID (:func:`identities`); None when no record is on the fast
    path.
    """
    p = _Partition(table)
    id_code, id_values = _codes(p.array("id_pseudonym"))
    by_rank = pc.sort_indices(p.array("rec_ref")).to_numpy()
    rank = _inverse(by_rank)
    fast, conflict = flag_records(p, id_code, rank, spec.max_pinyin_edits)
    rest = np.flatnonzero(~fast)
    residue = table.select(list(carry)).take(pa.array(rest)).combine_chunks()
    residue = residue.append_column("id_conflict", pa.array(conflict[rest]))
    if not fast.any():
        return residue, None
    ids = identities(p, id_code, id_values, by_rank, fast, spec, schema)
    return residue, _conform(ids, schema)


PARTITION_COUNTS = pa.schema([("part", pa.int32()), ("ids", pa.int64()), ("residue", pa.int64())])


def fast_path_files(
    spec: FastPathSpec,
    schema: pa.Schema,
    partitions: list[list[str]],
    columns: list[str],
    carry: tuple[str, ...],
    out: str,
) -> Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function for ``mapInArrow`` over partition numbers.

    Each task reads the ``columns`` of its partitions' Parquet files itself, runs
    :func:`fast_path_table` on them and writes the ID rows to ``out/ids/part-<i>.parquet``
    and the residue (``carry`` columns) to ``out/residue/part-<i>.parquet``: neither the
    records nor the ID rows pass through the JVM. It yields one row of counts per
    partition (:data:`PARTITION_COUNTS`).
    """

    def write(table: pa.Table, folder: str, i: int) -> None:
        import os

        import pyarrow.parquet as pq

        # written whole, then renamed: a file in the folder is always complete
        final = os.path.join(out, folder, f"part-{i:05d}.parquet")
        pq.write_table(table, final + ".tmp", row_group_size=100_000)
        os.replace(final + ".tmp", final)

    def go(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        for batch in batches:
            for i in batch.column(0).to_pylist():
                if not partitions[i]:
                    continue
                table = pq.read_table(partitions[i], columns=columns)
                residue, ids = fast_path_table(spec, schema, table, carry)
                write(residue, "residue", i)
                if ids is not None:
                    write(ids, "ids", i)
                n_ids = 0 if ids is None else ids.num_rows
                counts = [[i], [n_ids], [residue.num_rows]]
                yield from pa.table(counts, schema=PARTITION_COUNTS).to_batches()

    return go


def _conform(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """``t`` with the columns of ``schema`` (missing ones null), in its order and types."""
    cols = [
        t[f.name].cast(f.type) if f.name in t.column_names else pa.nulls(t.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(cols, schema=schema)
