"""Spark job: link every person-bearing clean record to a person of the person library.

extract   — clean partitions <= D of population, nucleic_acid, vaccination and appeals
            (the latest version of each source record); the previous day's key map
            (``master/person_pii``) and crosswalk.
transform — 1. fast path: records with a usable ID join their person through the keyed
               pseudonym, no pairwise scoring, unless their name disagrees with the identity
               that ID holds (a parent's ID used for a child, someone else's number);
               one pass per partition of the records staged by ID
               (zhongtai.match.fastpath) flags them and aggregates each ID, and writes
               the ID rows and the residue records to files;
            2. residue (no usable ID, or such a conflict): blocking keys against the library
               persons and the other residue records; rapidfuzz comparisons in an
               Arrow-batched UDF; Fellegi–Sunter weights (u on random pairs, m by EM);
               grades certain / possible / new; guards (a record links to one person, never
               through a chain; ID persons never merge with each other);
            3. stable keys from the previous day (merges and splits logged with a reason);
            4. golden records by configurable survivorship, with each field's source,
               the crosswalk and the key map: assembled by DuckDB in the driver from the
               staged records, the fast path's files and Spark's keys and links.
load      — done by zhongtai.match.persons (publish per business date).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from zhongtai.match.config import MatchingConfig
from zhongtai.match.weights import FSModel

log = logging.getLogger("zhongtai.match.persons")

# feed -> (source system column, source record id column)
PERSON_FEEDS: dict[str, tuple[str | None, str]] = {
    "population": ("source_system", "source_record_id"),
    "nucleic_acid": ("source_platform", "sample_id"),
    "vaccination": ("source_system", "record_id"),
    "appeals": (None, "appeal_id"),
}
APPEALS_SOURCE = "health_code_service"

# the columns of the clean zone the job reads (docs/ZONES.md), with their Spark types
RECORD_COLUMNS: dict[str, str] = {
    "id_type": "string",
    "id_number": "string",
    "id_valid": "boolean",
    "id_pseudonym": "string",
    "id_masked": "string",
    "name_masked": "string",
    "phone_pseudonym": "string",
    "phone_masked": "string",
    "gender_from_id": "string",
    "gender": "string",
    "birth_date_from_id": "date",
    "birth_date": "date",
    "residence_status": "string",
    "record_status": "string",
    "community_code": "string",
    "address_community_code": "string",
    "grid_id": "string",
    "address_id": "string",
    "updated_at": "timestamp",
    "pseudonym_key_version": "string",
    "id_number_norm": "string",
    "name_norm": "string",
    "name_pinyin": "string",
    "phone_norm": "string",
    "business_date": "date",
    "_ingested_at": "timestamp",
    "_line_number": "bigint",
    "_source_file": "string",
}
# the comparison inputs of both sides of a candidate pair (see zhongtai.match.compare)
CMP_COLUMNS = (
    "name_norm",
    "name_pinyin",
    "id_digits",
    "birth_date",
    "gender",
    "phone_norm",
    "address_id",
    "community_code",
)
FIELDS = ("name", "id_number", "birth_date", "gender", "phone", "address")
MULTI_SEP = "|"


@dataclass(frozen=True)
class MatchOutputs:
    """The tables the job publishes, and the model it used: the master tables as local
    folders of Parquet files (:func:`assemble`), the key log as a Spark frame."""

    persons: Path
    crosswalk: Path
    person_pii: Path
    key_log: DataFrame
    model: FSModel


# ---------------------------------------------------------------- extract and prepare
# The records are read, reduced to their latest versions, prepared and partitioned by ID by
# DuckDB in the driver, into one folder of Parquet files per partition: the fast path's
# Python workers read their partition from those files, so the wide records never cross
# from the JVM to Python (that crossing, not the fast path itself, took most of its time),
# and Spark reads only the columns each later step needs.
RECORD_KEY = ["feed", "source_system", "source_record_id"]
# the order of a source record's versions, latest first (the file breaks exact ties)
VERSION_ORDER = ("business_date", "_ingested_at", "_line_number", "_source_file")
# the clean columns no later step reads (the raw number lives on only as raw_digits)
SPENT = (
    "id_number",
    "id_valid",
    "community_code",
    "address_community_code",
    "_line_number",
    "_source_file",
)
_SQL_TYPES = {
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "bigint": "BIGINT",
}


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _same_sql(left: str, right: str, cols: list[str] | tuple[str, ...]) -> str:
    """``left`` and ``right`` agree on ``cols``, nulls equal (as Spark's ``eqNullSafe``)."""
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in cols)


def _sql_col(name: str, cast: str, have: set[str]) -> str:
    """A column of the files cast as the job reads it, or a typed null where no file has it."""
    return f'CAST("{name}" AS {cast})' if name in have else f"CAST(NULL AS {cast})"


def _records_sql(paths: dict[str, list[str]], business_date: Any) -> str | None:
    """One query over the clean files of every person-bearing feed, in one shape."""
    import pyarrow.parquet as pq

    selects = []
    for feed, files in paths.items():
        if not files:
            continue
        have = set().union(*(pq.read_schema(f).names for f in files))
        src_col, rec_col = PERSON_FEEDS[feed]
        source = _sql_col(src_col, "VARCHAR", have) if src_col else _sql_str(APPEALS_SOURCE)
        cols = [
            f"{_sql_str(feed)} AS feed",
            f"{source} AS source_system",
            f"{_sql_col(rec_col, 'VARCHAR', have)} AS source_record_id",
            *[f'{_sql_col(c, _SQL_TYPES[t], have)} AS "{c}"' for c, t in RECORD_COLUMNS.items()],
        ]
        listed = ", ".join(_sql_str(f) for f in files)
        selects.append(
            f"SELECT {', '.join(cols)} FROM read_parquet([{listed}], union_by_name = true)"
        )
    if not selects:
        return None
    return (
        f"SELECT * FROM ({' UNION ALL '.join(selects)}) "
        f"WHERE business_date <= DATE {_sql_str(str(business_date))}"
    )


def _prepared_sql() -> list[str]:
    """Record reference, usable-ID flag, the digits of a damaged ID, one community column.

    Only a record without a usable ID compares its raw digits (residue comparisons).
    """
    digits = "regexp_replace(upper(coalesce(id_number, '')), '[^0-9X]', '', 'g')"
    has_id = "(id_pseudonym IS NOT NULL AND coalesce(id_valid, true))"
    resident = "coalesce(id_type, 'resident_id') = 'resident_id'"
    return [
        "concat_ws(':', feed, source_system, source_record_id) AS rec_ref",
        f"{has_id} AS has_id",
        f"CASE WHEN NOT {has_id} AND {resident} THEN (CASE WHEN length({digits}) = 18 AND "
        f"regexp_full_match({digits}, '[0-9]{{17}}[0-9X]') THEN {digits} END) END AS raw_digits",
        "coalesce(address_community_code, community_code) AS community_any",
    ]


def _duckdb(spill: Path, **config: Any) -> Any:
    """The driver's DuckDB connection for the job's file work: two threads, 4 GB, spilling
    to ``spill``, times in UTC (as Spark's session)."""
    import duckdb

    con = duckdb.connect(
        config={"threads": 2, "memory_limit": "4GB", "temp_directory": str(spill), **config}
    )
    con.execute("SET TimeZone = 'UTC'")
    return con


def stage_records(
    paths: dict[str, list[str]],
    business_date: Any,
    cfg: MatchingConfig,
    parts: int,
    out: Path,
) -> list[list[str]]:
    """The latest version of every record up to ``business_date``, prepared, in ``parts``
    partitions by ID pseudonym (one folder of Parquet files each, under ``out``).

    A correction supersedes the original (later business date, then later ingestion, then
    later line, then file): the few keys sent more than once are ranked apart and the
    records are filtered through the winners, never sorted as a whole. Every record also
    carries the fast path's survivorship order columns (``_o_...``, :func:`_fast_path_order_sql`).
    Records without an ID are spread by their reference. Returns the files of each
    partition (an empty list for an empty one); no files at all when there is no record.
    """
    records = _records_sql(paths, business_date)
    if records is None:
        return []
    key = ", ".join(RECORD_KEY)
    rkey = ", ".join("r." + c for c in RECORD_KEY)
    rversion = ", ".join("r." + c for c in VERSION_ORDER)
    latest_first = ", ".join(f"r.{c} DESC NULLS LAST" for c in VERSION_ORDER)
    kept = [c for c in RECORD_COLUMNS if c not in SPENT]
    con = _duckdb(out / "_spill")
    try:
        con.execute(f"CREATE TEMP VIEW r AS {records}")
        # the winning version of each key sent more than once
        con.execute(
            f"CREATE TEMP TABLE w AS SELECT {rkey}, {rversion} FROM r JOIN "
            f"(SELECT {key} FROM r GROUP BY ALL HAVING count(*) > 1) d "
            f"ON {_same_sql('r', 'd', RECORD_KEY)} "
            f"QUALIFY row_number() OVER (PARTITION BY {rkey} ORDER BY {latest_first}) = 1"
        )
        if con.sql("SELECT count(*) FROM w").fetchall()[0][0] == 0:
            source = "SELECT * FROM r"
        else:
            source = (
                f"SELECT r.* FROM r LEFT JOIN w ON {_same_sql('r', 'w', RECORD_KEY)} "
                f"WHERE w.feed IS NULL OR ({_same_sql('r', 'w', VERSION_ORDER)})"
            )
        order = [f"{sql} AS {name}" for name, sql in _fast_path_order_sql(cfg).items()]
        con.execute(
            f"COPY (SELECT {', '.join(['feed', 'source_system', 'source_record_id', *kept])}, "
            f"{', '.join(_prepared_sql())}, {', '.join(order)}, "
            f"hash(coalesce(id_pseudonym, rec_ref)) % {parts} AS _part "
            f"FROM ({source})) TO {_sql_str(str(out / 'records'))} "
            "(FORMAT parquet, PARTITION_BY (_part), ROW_GROUP_SIZE 100000)"
        )
    finally:
        con.close()
    found = {
        i: sorted(str(f) for f in (out / "records" / f"_part={i}").glob("*.parquet"))
        for i in range(parts)
    }
    return [found[i] for i in range(parts)] if any(found.values()) else []


# ---------------------------------------------------------------- 1. fast path
# the library person's sets of values (all distinct values of its ID's fast records)
SET_COLUMNS = (
    ("phone_norm", "phone_norm"),
    ("address_id", "address_id"),
    ("community_code", "community_any"),
)


def _fast_path_spec(cfg: MatchingConfig) -> tuple[Any, dict[str, str]]:
    """The per-ID computation of the fast path, and the order columns it reads (as SQL).

    Every order is computed when the records are staged, as named columns (``_o_...``),
    from the same rules as the residue's survivorship (:func:`_order_key_kinds`); the
    partition function only ranks.
    """
    from zhongtai.match.fastpath import FastPathSpec, Pick

    order = {
        "_o_head_0": "CAST(feed <> 'population' AS INTEGER)",
        "_o_head_1": "CAST(name_norm IS NULL AS INTEGER)",
    }
    picks = []
    for g, cols in GOLDEN_COLUMNS.items():
        rule = cfg.survivorship.get(g, _DEFAULT_SURVIVORSHIP[g])
        keys = _order_keys_sql(rule, _FAST_MISSING_SQL[g], g, cfg.source_trust)
        order.update(keys)
        picks.append(Pick(g, tuple(n for n, _ in keys), cols))
    spec = FastPathSpec(
        max_pinyin_edits=cfg.name_consistent_max_edits,
        head_order=("_o_head_0", "_o_head_1"),
        picks=tuple(picks),
        joined_sets=SET_COLUMNS,
        firsts=tuple(
            (f"_pii_{name}", src if isinstance(src, tuple) else (src,))
            for name, src in PII_FIELDS.items()
        ),
    )
    return spec, order


def _fast_path_order_sql(cfg: MatchingConfig) -> dict[str, str]:
    return _fast_path_spec(cfg)[1]


def read_staged(spark: SparkSession, partitions: list[list[str]]) -> DataFrame:
    """The staged records (:func:`stage_records`) as Spark reads them, order columns included."""
    return spark.read.parquet(*[f for p in partitions for f in p])


def ids_schema(staged: DataFrame, cfg: MatchingConfig) -> T.StructType:
    """The fast path's ID rows (:func:`zhongtai.match.fastpath.identities`) as Spark reads
    them: the library person (``_h`` and the value sets), the partial golden record (the
    ``_pick_<group>`` structs, counts and dates) and the key-map fields (``_pii_<field>``).
    ``staged`` gives the types of the columns they carry."""
    spec, _ = _fast_path_spec(cfg)
    types = {f.name: f.dataType for f in staged.schema.fields}

    def struct(fields: list[tuple[str, T.DataType]]) -> T.StructType:
        return T.StructType([T.StructField(n, t) for n, t in fields])

    head = struct(
        [
            ("name_norm", T.StringType()),
            ("name_pinyin", T.StringType()),
            ("birth_date", T.DateType()),
            ("gender", T.StringType()),
            ("id_digits", T.StringType()),
        ]
    )
    fields = [("id_pseudonym", T.StringType()), ("_h", head)]
    fields += [(out, T.StringType()) for out, _ in spec.joined_sets]
    for p in spec.picks:
        keys = [(f"k{i}", types[c]) for i, c in enumerate(p.order)]
        keys.append((f"k{len(p.order)}", T.StringType()))
        pick = [("o", struct(keys)), ("_has", T.BooleanType()), ("_src", T.StringType())]
        fields.append((f"_pick_{p.name}", struct(pick + [(c, types[c]) for c in p.columns])))
    fields += [
        ("_has_pop", T.IntegerType()),
        ("_systems", T.ArrayType(T.StringType())),
        ("first_seen_date", T.DateType()),
        ("last_seen_date", T.DateType()),
        ("pseudonym_key_version", T.StringType()),
        ("records", T.LongType()),
    ]
    fields += [(out, types[src[0]]) for out, src in spec.firsts]
    return struct(fields)


# the columns of a residue record that the residue's comparisons read (transform_residue)
RESIDUE_COLUMNS = (
    "rec_ref",
    "id_pseudonym",
    "id_type",
    "id_number_norm",
    "raw_digits",
    "name_norm",
    "name_pinyin",
    "birth_date",
    "birth_date_from_id",
    "gender",
    "gender_from_id",
    "phone_norm",
    "address_id",
    "community_any",
)


def transform_fast_path(
    staged: DataFrame, partitions: list[list[str]], cfg: MatchingConfig, out: Path
) -> DataFrame:
    """The fast path of every ID, one task per partition of the staged records (``staged``
    gives their columns' types; the tasks read ``partitions``' files themselves).

    One pass per partition (:mod:`zhongtai.match.fastpath`) finds the identity each ID
    holds, flags the records that disagree with it, and aggregates the records that agree
    into one row per ID (:func:`ids_schema`). The task writes the ID rows to ``out/ids``
    and the records off the fast path (:data:`RESIDUE_COLUMNS` and ``id_conflict``) to
    ``out/residue``; it returns its counts (part, ids, residue).
    """
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    from zhongtai.match.fastpath import PARTITION_COUNTS, fast_path_files

    spec, _ = _fast_path_spec(cfg)
    # only what the partition function reads (times only as order keys)
    skip = ("source_record_id", "updated_at", "_ingested_at", "_part")
    columns = [c for c in staged.columns if c not in skip]
    arrow_schema = to_arrow_schema(ids_schema(staged, cfg), timezone="UTC")
    run = fast_path_files(spec, arrow_schema, partitions, columns, RESIDUE_COLUMNS, str(out))
    spark = staged.sparkSession
    n = len(partitions)
    return spark.range(n, numPartitions=n).mapInArrow(run, from_arrow_schema(PARTITION_COUNTS))


def read_fast_path(spark: SparkSession, folder: Path, schema: T.StructType) -> DataFrame:
    """The ID rows or the residue records the fast path wrote to ``folder`` (possibly none)."""
    files = sorted(str(f) for f in folder.glob("*.parquet"))
    if not files:
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).parquet(*files)


def residue_schema(staged: DataFrame) -> T.StructType:
    """The residue records the fast path writes: :data:`RESIDUE_COLUMNS`, ``id_conflict``."""
    types = {f.name: f.dataType for f in staged.schema.fields}
    return T.StructType(
        [T.StructField(c, types[c]) for c in RESIDUE_COLUMNS]
        + [T.StructField("id_conflict", T.BooleanType())]
    )


def transform_fast_flags(base: DataFrame, markers: DataFrame, rows: int) -> DataFrame:
    """The records with ``fast`` and ``id_conflict``: off the fast path are the ``markers``
    (``rec_ref``, ``id_conflict``: the fast path's residue, ``rows`` of them)."""
    m = markers.select(
        "rec_ref", F.col("id_conflict").alias("_m_conflict"), F.lit(True).alias("_m")
    )
    return (
        base.join(_small(m, rows), "rec_ref", "left")
        .withColumn("fast", F.col("has_id") & F.col("_m").isNull())
        .withColumn("id_conflict", F.coalesce("_m_conflict", F.lit(False)))
        .drop("_m", "_m_conflict")
    )


# the restricted key map's identity fields (master/person_pii), first non-null of each
PII_FIELDS: dict[str, str | tuple[str, str]] = {
    "id_number_norm": "id_number_norm",
    "name_norm": "name_norm",
    "name_pinyin": "name_pinyin",
    "birth_date": ("birth_date_from_id", "birth_date"),
    "gender": ("gender_from_id", "gender"),
    "phone_pseudonym": "phone_pseudonym",
    "phone_norm": "phone_norm",
    "address_id": "address_id",
}


def transform_library(identities: DataFrame) -> DataFrame:
    """Library persons: one per usable ID, with the comparison fields of its own records."""
    return identities.select(
        "id_pseudonym",
        *[F.col(f"_h.{c}").alias(c) for c in ("name_norm", "name_pinyin", "birth_date", "gender")],
        F.col("_h.id_digits").alias("id_digits"),
        "phone_norm",
        "address_id",
        "community_code",
    ).withColumn("cand_ref", F.concat(F.lit("I:"), "id_pseudonym"))


# ---------------------------------------------------------------- 2. residue
def transform_residue(records: DataFrame, library: DataFrame) -> DataFrame:
    """The comparison inputs of the records to score (``records``: the fast path's residue,
    :func:`residue_schema`): no usable ID, or an ID in conflict with its holder's identity.

    A conflicting record's ID, and the birth date and gender read from it, are not its own:
    they are left out of its comparisons. Its ID still says something: the holder's address
    and phones are those of the household (a parent's ID used for a child), used for
    blocking and compared as the record's address.
    """
    res = records
    # only the holders of IDs in conflict are fetched from the library, by a broadcast of
    # those IDs: the library is neither shuffled nor sorted for the residue's sake
    conflict_ids = res.where("id_conflict").select(F.col("id_pseudonym").alias("_hid")).distinct()
    holder = library.select(
        F.col("id_pseudonym").alias("_hid"),
        F.col("address_id").alias("_h_addr"),
        F.col("phone_norm").alias("_h_phone"),
        F.col("community_code").alias("_h_comm"),
    ).join(F.broadcast(conflict_ids), "_hid", "left_semi")
    res = res.join(holder, F.col("id_conflict") & (F.col("id_pseudonym") == F.col("_hid")), "left")
    own_id_digits = F.coalesce(
        F.when(
            F.coalesce("id_type", F.lit("resident_id")) == "resident_id", F.col("id_number_norm")
        ),
        F.col("raw_digits"),
    )
    raw_birth = F.try_to_date(F.substring("raw_digits", 7, 8), "yyyyMMdd")
    raw_gender = F.when(
        F.col("raw_digits").isNotNull(),
        F.when(F.substring("raw_digits", 17, 1).cast("int") % 2 == 1, "male").otherwise("female"),
    )
    conflict = F.col("id_conflict")
    return res.select(
        "rec_ref",
        "name_norm",
        "name_pinyin",
        "id_conflict",
        F.when(~conflict, own_id_digits).alias("id_digits"),
        F.when(conflict, F.col("birth_date"))
        .otherwise(F.coalesce("birth_date", "birth_date_from_id", raw_birth))
        .alias("birth_date"),
        F.when(conflict, F.col("gender"))
        .otherwise(F.coalesce("gender", "gender_from_id", raw_gender))
        .alias("gender"),
        F.concat_ws(MULTI_SEP, "phone_norm", "_h_phone").alias("phone_norm"),
        F.concat_ws(MULTI_SEP, "address_id", "_h_addr").alias("address_id"),
        F.concat_ws(MULTI_SEP, "community_any", "_h_comm").alias("community_code"),
    ).withColumn("cand_ref", F.concat(F.lit("R:"), "rec_ref"))


def _multi(c: str) -> Column:
    return F.filter(F.split(F.coalesce(F.col(c), F.lit("")), r"\|"), lambda x: x != "")


def _surname() -> Column:
    return F.when(F.col("name_norm").rlike("^[\u3400-\u9fff]"), F.substring("name_norm", 1, 1))


def _key_maker(tag: Column, other: Column) -> Any:
    def make(x: Column) -> Column:
        return F.concat(tag, x, F.lit("|"), other)

    return make


def blocking_keys(df: DataFrame, rules: tuple[tuple[str, ...], ...], side: str) -> DataFrame:
    """(cand_ref, bkey) rows: one per blocking rule value of each record or person.

    ``side`` is ``record`` (residue: ID neighbours of a damaged number) or ``person``
    (library: the exact number). ``bkey`` is the 64-bit hash of the key text: the keys of
    a million persons are then shuffled, joined and counted as longs, not as strings of
    twenty to forty characters. Two different keys with the same hash (for the ten million
    distinct keys of a large run, a chance of a few in a million) only add candidate pairs,
    which the comparisons then judge.
    """
    from zhongtai.match.blocking import excel_prefix, id_neighbours_arrow

    # Arrow-batched Python UDFs: whole batches cross to the Python worker, not pickled rows;
    # the neighbours of a whole batch are computed at once (NumPy)
    neighbours = F.arrow_udf(id_neighbours_arrow, T.ArrayType(T.StringType()))
    prefix = F.udf(excel_prefix, T.StringType(), useArrow=True)
    keys: list[Column] = []
    py, birth = F.col("name_pinyin"), F.col("birth_date").cast("string")
    for rule in rules:
        name = "+".join(rule)
        tag = F.lit(name + "=")
        if rule == ("id_near",):
            if side == "record":
                ids = F.array_union(neighbours("id_digits"), F.array(F.col("id_digits")))
                ex = prefix("id_digits")
                keys.append(F.transform(ids, lambda x: F.concat(F.lit("id="), x)))
                keys.append(F.when(ex.isNotNull(), F.array(F.concat(F.lit("id15="), ex))))
            else:
                keys.append(
                    F.when(
                        F.col("id_digits").isNotNull(),
                        F.array(
                            F.concat(F.lit("id="), "id_digits"),
                            F.concat(F.lit("id15="), F.substring("id_digits", 1, 15)),
                        ),
                    )
                )
        elif rule == ("name_pinyin", "birth_date"):
            keys.append(
                F.when(
                    py.isNotNull() & birth.isNotNull(),
                    F.array(F.concat(tag, py, F.lit("|"), birth)),
                )
            )
        elif rule in (
            ("phone", "surname"),
            ("phone", "name_pinyin"),
            ("household_phone", "name_pinyin"),
        ):
            other = _surname() if rule[1] == "surname" else py
            t = F.lit("phone+" + rule[1] + "=")
            keys.append(
                F.when(other.isNotNull(), F.transform(_multi("phone_norm"), _key_maker(t, other)))
            )
        elif rule in (("address_id", "name_pinyin"), ("household_address_id", "name_pinyin")):
            t = F.lit("address+name_pinyin=")
            keys.append(
                F.when(py.isNotNull(), F.transform(_multi("address_id"), _key_maker(t, py)))
            )
    arr = F.array_distinct(
        F.flatten(F.array(*[F.coalesce(k, F.array().cast("array<string>")) for k in keys]))
    )
    return df.select("cand_ref", F.explode(arr).alias("_key")).select(
        "cand_ref", F.xxhash64("_key").alias("bkey")
    )


# a side derived from the residue with at most this many rows is broadcast to the larger
# library side, which then is neither shuffled nor sorted
BROADCAST_ROWS = 2_000_000


def _small(df: DataFrame, rows: int) -> DataFrame:
    return F.broadcast(df) if rows <= BROADCAST_ROWS else df


def _pairs_within(refs: Column) -> Column:
    """Every pair (l_ref < r_ref) of the distinct references of a block (an array)."""
    a = F.array_sort(refs)
    return F.flatten(
        F.transform(
            a,
            lambda x, i: F.transform(
                F.slice(a, i + 2, F.size(a)),  # past the end: an empty slice
                lambda y: F.struct(x.alias("l_ref"), y.alias("r_ref")),
            ),
        )
    )


def transform_candidates(residue: DataFrame, library: DataFrame, cfg: MatchingConfig) -> DataFrame:
    """Candidate pairs (l = residue record, r = library person or another residue record).

    The residue is small next to the library: its keys are broadcast to find the library
    persons that share one, and the library's comparison fields are fetched only for the
    persons that became candidates. Whatever is small enough is broadcast, so the library
    side is never shuffled or sorted; the residue's own blocks are formed by one
    aggregation of its keys.
    """
    rkeys = blocking_keys(residue, cfg.blocking_rules, "record").distinct().localCheckpoint()
    n_rkeys = rkeys.count()
    wanted = rkeys.select("bkey").distinct()
    pkeys = blocking_keys(library, cfg.blocking_rules, "person").join(
        _small(wanted, n_rkeys), "bkey", "left_semi"
    )
    # a key shared by more library persons than max_block_size is too weak to block on
    pkeys = (
        pkeys.withColumn("_n", F.count("*").over(Window.partitionBy("bkey")))
        .where(F.col("_n") <= cfg.max_block_size)
        .drop("_n")
        .localCheckpoint()
    )
    n_pkeys = pkeys.count()
    to_person = rkeys.join(_small(pkeys.withColumnRenamed("cand_ref", "r_ref"), n_pkeys), "bkey")
    to_person = to_person.select(F.col("cand_ref").alias("l_ref"), "r_ref")
    blocks = (
        rkeys.groupBy("bkey")
        .agg(F.collect_list("cand_ref").alias("_refs"))
        .where((F.size("_refs") > 1) & (F.size("_refs") <= cfg.max_block_size))
    )
    to_record = blocks.select(F.explode(_pairs_within(F.col("_refs"))).alias("_p")).select(
        "_p.l_ref", "_p.r_ref"
    )
    pairs = to_person.unionByName(to_record).distinct().localCheckpoint()
    n_pairs = pairs.count()
    persons = library.join(
        _small(pairs.select(F.col("r_ref").alias("cand_ref")).distinct(), n_pairs),
        "cand_ref",
        "left_semi",
    )
    sides = persons.select("cand_ref", *CMP_COLUMNS).unionByName(
        residue.select("cand_ref", *CMP_COLUMNS)
    )
    n_res = residue.count()
    log.info("person linking: %d candidate pairs of %d residue records", n_pairs, n_res)
    left = residue.select(
        F.col("cand_ref").alias("l_ref"), *[F.col(c).alias(f"l_{c}") for c in CMP_COLUMNS]
    )
    right = sides.select(
        F.col("cand_ref").alias("r_ref"), *[F.col(c).alias(f"r_{c}") for c in CMP_COLUMNS]
    )
    # the sides are at most the residue plus one person per pair: broadcast, the pairs stay
    return pairs.join(_small(left, n_res), "l_ref").join(_small(right, n_res + n_pairs), "r_ref")


COMPARED_SCHEMA = T.StructType(
    [T.StructField("l_ref", T.StringType()), T.StructField("r_ref", T.StringType())]
    + [
        f
        for name in FIELDS
        for f in (
            T.StructField(f"{name}_level", T.IntegerType()),
            T.StructField(f"{name}_sim", T.DoubleType()),
        )
    ]
)


def transform_compare(pairs: DataFrame) -> DataFrame:
    """Field comparisons of every candidate pair (rapidfuzz in an Arrow-batched UDF)."""
    cols = ["l_ref", "r_ref"] + [f"{s}_{c}" for s in ("l", "r") for c in CMP_COLUMNS]
    typed = pairs.select(*[F.col(c).cast("string") for c in cols])
    from zhongtai.match.compare import compare_arrow_batches

    return typed.mapInArrow(compare_arrow_batches, COMPARED_SCHEMA)


def level_patterns(compared: DataFrame) -> list[tuple[tuple[int, ...], int]]:
    """Distinct level vectors with their counts (the sufficient statistics of EM)."""
    rows = compared.groupBy(*[f"{f}_level" for f in FIELDS]).count().collect()
    return [(tuple(int(r[f"{f}_level"]) for f in FIELDS), int(r["count"])) for r in rows]


def random_pair_patterns(
    library: DataFrame, n: int = 20000, seed: int = 7, total: int | None = None
) -> list[tuple[tuple[int, ...], int]]:
    """Level vectors of random library pairs (to estimate u; almost all are non-matches)."""
    from collections import Counter

    from zhongtai.match.compare import compare_columns

    total = library.count() if total is None else total
    if total < 20:
        return []
    frac = min(1.0, 2.0 * n / total)
    rows = library.sample(fraction=frac, seed=seed).select(*CMP_COLUMNS).limit(2 * n).collect()
    half = len(rows) // 2
    cols: dict[str, list[Any]] = {}
    for c in CMP_COLUMNS:
        cols[f"l_{c}"] = [None if r[c] is None else str(r[c]) for r in rows[:half]]
        cols[f"r_{c}"] = [None if r[c] is None else str(r[c]) for r in rows[half : 2 * half]]
    out = compare_columns(cols)
    return list(Counter(zip(*[out[f"{f}_level"] for f in FIELDS], strict=True)).items())


def labelled_pair_patterns(
    recs: DataFrame, id_count: int, n: int = 20000
) -> list[tuple[tuple[int, ...], int]]:
    """Level vectors of record pairs that share a usable ID and its holder's name: matches.

    The fast path labels pairs for free. The ID is left out of their comparison (it agrees
    by construction), and so are the birth date and gender read from it: only the values
    the sending system delivered are compared.
    """
    from collections import Counter

    from zhongtai.match.compare import compare_columns

    if id_count < 20:
        return []
    share = min(1.0, 3.0 * n / id_count)
    inputs = F.struct(
        F.col("rec_ref"),
        *[
            F.col(c).cast("string").alias(c)
            for c in ("name_norm", "name_pinyin", "birth_date", "gender", "phone_norm")
        ],
        F.col("address_id").cast("string").alias("address_id"),
        F.col("community_any").cast("string").alias("community_code"),
    )
    bucket = (F.abs(F.xxhash64("id_pseudonym")) % 1_000_000) < int(share * 1_000_000)
    rows = (
        recs.where(F.col("fast") & bucket)
        .groupBy("id_pseudonym")
        .agg(F.slice(F.array_sort(F.collect_list(inputs)), 1, 2).alias("p"))
        .where(F.size("p") == 2)
        .select("p")
        .limit(n)
        .collect()
    )
    cols: dict[str, list[Any]] = {}
    for c in CMP_COLUMNS:
        for side, i in (("l", 0), ("r", 1)):
            cols[f"{side}_{c}"] = [None if c == "id_digits" else r["p"][i][c] for r in rows]
    out = compare_columns(cols)
    return list(Counter(zip(*[out[f"{f}_level"] for f in FIELDS], strict=True)).items())


def train_model(
    compared: DataFrame, library: DataFrame, recs: DataFrame, cfg: MatchingConfig
) -> FSModel:
    """u from random library pairs, m from labelled ID pairs, the rest by EM on candidates."""
    from zhongtai.match.weights import estimate_m, estimate_u, train_em

    model = FSModel.from_config(cfg)
    id_count = library.count()
    rnd = random_pair_patterns(library, total=id_count)
    if rnd:
        learned_u = estimate_u(model, rnd, cfg.em_floor)
        model.u = {f: learned_u[f] if f in cfg.u_from_random else model.u[f] for f in model.u}
        model.trained["random_pairs"] = sum(n for _, n in rnd)
    if cfg.m_from_id_pairs:
        labelled = labelled_pair_patterns(recs, id_count)
        if labelled:
            learned_m = estimate_m(model, labelled, cfg.em_floor)
            model.m = {f: learned_m[f] if f in cfg.m_from_id_pairs else model.m[f] for f in model.m}
            model.trained["labelled_pairs"] = sum(n for _, n in labelled)
    patterns = level_patterns(compared)
    pairs = sum(n for _, n in patterns)
    if cfg.em_enabled and pairs >= cfg.em_min_pairs:
        trained = train_em(
            model,
            patterns,
            max_iterations=cfg.em_max_iterations,
            tolerance=cfg.em_tolerance,
            floor=cfg.em_floor,
            learn=cfg.em_learn,
            learn_prior=cfg.em_learn_prior,
        )
        for k in ("random_pairs", "labelled_pairs"):
            if k in model.trained:
                trained.trained[k] = model.trained[k]
        return trained
    model.trained["pairs"] = pairs
    model.trained["em"] = "skipped: too few candidate pairs" if cfg.em_enabled else "disabled"
    return model


def transform_score(compared: DataFrame, model: FSModel, cfg: MatchingConfig) -> DataFrame:
    """Total weight (bits), match probability and per-field evidence (JSON) of every pair."""
    from zhongtai.match.weights import score_arrow_batches

    schema = T.StructType(
        list(compared.schema.fields)
        + [
            T.StructField("bits", T.DoubleType()),
            T.StructField("probability", T.DoubleType()),
            T.StructField("fields_json", T.StringType()),
        ]
    )
    level_names = {f: spec.levels for f, spec in cfg.fields.items()}
    return compared.mapInArrow(score_arrow_batches(model, level_names), schema)


def transform_decide(
    scored: DataFrame, residue: DataFrame, cfg: MatchingConfig, model: FSModel
) -> DataFrame:
    """One decision per residue record: (rec_ref, cid, grade, score, evidence).

    The decision itself (best person, margin guard, star clusters of the rest; see
    ``zhongtai.match.decide``) runs on the driver over the narrow scored pairs; Spark joins
    each decision back to the per-field evidence of the pair that made it.
    """
    from zhongtai.match.decide import DecideRules, decide_scored, fs_evidence

    # a record never links to a person whose name disagrees with its own: households share
    # phones and addresses, so those alone must not carry a link
    name_ok = F.col("name_level") != len(cfg.fields["name"].levels) - 1
    usable = name_ok | F.col("r_ref").startswith("R:") | ~F.lit(cfg.require_name)
    d = decide_scored(
        scored,
        residue.select(F.col("cand_ref").alias("ref")),
        DecideRules(cfg.certain, cfg.possible, cfg.min_margin_bits),
        usable,
        "I:",
        "R:",
        carry=("fields_json",),
    )
    evidence = fs_evidence(model, "new_person_with_residue")
    return d.select(
        F.expr("substring(cand_ref, 3)").alias("rec_ref"),
        "cid",
        "grade",
        "score",
        evidence.alias("evidence"),
    )


# ---------------------------------------------------------------- 3. stable keys
def _derived_key(cid: Column) -> Column:
    """A deterministic key for a cluster never seen before (``P``: from an ID, ``R``: a record)."""
    return F.when(
        cid.startswith("I:"),
        F.concat(
            F.lit("P"),
            F.substring(
                F.sha2(F.concat(F.lit("person|"), F.expr("substring(cid, 3)")), 256), 1, 16
            ),
        ),
    ).otherwise(
        F.concat(
            F.lit("R"),
            F.substring(
                F.sha2(F.concat(F.lit("record|"), F.expr("substring(cid, 3)")), 256), 1, 16
            ),
        )
    )


def transform_stable_keys(
    clusters: DataFrame,
    assigned: DataFrame,
    previous_pii: DataFrame | None,
    previous_xw: DataFrame | None,
    business_date: Any,
) -> tuple[DataFrame, DataFrame]:
    """person_key per cluster (``cid``), reusing yesterday's keys; the merge/split log.

    ``clusters`` holds each cluster's size (``cid``, ``records``); ``assigned`` maps every
    record to its cluster (``rec_ref``, ``cid``) and is read only when there is a previous
    crosswalk.

    A cluster claims the keys that yesterday's key map gave its ID and that yesterday's
    crosswalk gave its records. It keeps the claim of its ID first, else its most common
    claim. When two clusters claim the same key, the one holding it by ID (else the larger
    share) keeps it and the other gets a new key (a split); a cluster that gathered the
    records of several keys keeps one and the others are retired into it (a merge).
    """
    spark = assigned.sparkSession
    empty = spark.createDataFrame([], "cid string, prev_key string, by_id int, n long")
    claims = empty
    if previous_pii is not None and "id_pseudonym" in previous_pii.columns:
        claims = claims.unionByName(
            previous_pii.where(F.col("id_pseudonym").isNotNull())
            .select(
                F.concat(F.lit("I:"), "id_pseudonym").alias("cid"),
                F.col("person_key").alias("prev_key"),
                F.lit(1).alias("by_id"),
                F.lit(0).cast("long").alias("n"),
            )
            .join(clusters.select("cid"), "cid", "left_semi")
        )
    if previous_xw is not None:
        px = previous_xw.select(
            F.concat_ws(":", "feed", "source_system", "source_record_id").alias("rec_ref"),
            F.col("person_key").alias("prev_key"),
        )
        claims = claims.unionByName(
            assigned.join(px, "rec_ref")
            .groupBy("cid", "prev_key")
            .agg(F.count("*").alias("n"))
            .select("cid", "prev_key", F.lit(0).alias("by_id"), "n")
        )
    claims = (
        claims.groupBy("cid", "prev_key")
        .agg(F.max("by_id").alias("by_id"), F.sum("n").alias("n"))
        .localCheckpoint()
    )
    wc = Window.partitionBy("cid").orderBy(
        F.col("by_id").desc(), F.col("n").desc(), F.col("prev_key")
    )
    choice = claims.withColumn("_r", F.row_number().over(wc)).where("_r = 1")
    wk = Window.partitionBy("prev_key").orderBy(
        F.col("by_id").desc(), F.col("n").desc(), F.col("cid")
    )
    choice = choice.withColumn("_k", F.row_number().over(wk))
    kept = choice.where("_k = 1").select("cid", F.col("prev_key").alias("_kept"))
    # the key map and the log both read these: materialised once (the log is written last)
    choice = choice.localCheckpoint()
    keyed = (
        clusters.join(kept, "cid", "left")
        .withColumn("person_key", F.coalesce("_kept", _derived_key(F.col("cid"))))
        .localCheckpoint()
    )
    bd = F.lit(business_date).cast("date")
    splits = (
        choice.where("_k > 1")
        .join(keyed.select("cid", "person_key"), "cid")
        .select(
            bd.alias("business_date"),
            F.lit("split").alias("event"),
            F.col("prev_key").alias("from_key"),
            F.col("person_key").alias("to_key"),
            F.lit(
                "records of the key now form another person (the key stays with the larger "
                "share or the ID holder)"
            ).alias("reason"),
            F.col("n").alias("records"),
        )
    )
    merges = (
        claims.join(keyed.select("cid", "person_key"), "cid")
        .where(F.col("prev_key") != F.col("person_key"))
        .join(choice.where("_k > 1").select("cid", "prev_key"), ["cid", "prev_key"], "left_anti")
        .select(
            bd.alias("business_date"),
            F.lit("merge").alias("event"),
            F.col("prev_key").alias("from_key"),
            F.col("person_key").alias("to_key"),
            F.when(F.col("by_id") == 1, F.lit("the ID of the retired key now links to this person"))
            .otherwise(F.lit("records of the retired key now link to this person"))
            .alias("reason"),
            F.col("n").alias("records"),
        )
    )
    new = keyed.where(F.col("_kept").isNull()).select(
        bd.alias("business_date"),
        F.lit("new").alias("event"),
        F.lit(None).cast("string").alias("from_key"),
        F.col("person_key").alias("to_key"),
        F.lit("no earlier key for these records").alias("reason"),
        F.col("records"),
    )
    log = splits.unionByName(merges).unionByName(new)
    return keyed.select("cid", "person_key"), log


# ---------------------------------------------------------------- 4. outputs
# The master tables are assembled by DuckDB in the driver, from files: the staged records,
# the ID rows the fast path wrote, and what Spark decided (the key of every cluster and the
# link of every residue record). Most of their rows are the fast path's (5.7M crosswalk
# rows, 1M golden records at 1M persons): a few joins that DuckDB runs in seconds, without
# moving the wide rows through the JVM again.
def _trust_sql(trust: dict[str, int]) -> str:
    """A record's source trust: its ``feed:system`` key if configured, else its feed's, else 99.

    The longest key is tested first: it is built last, as the outermost condition.
    """
    full = "concat_ws(':', feed, source_system)"
    expr = "99"
    for k, v in sorted(trust.items(), key=lambda kv: len(kv[0])):
        cond = f"{full} = {_sql_str(k)}" if ":" in k else f"feed = {_sql_str(k)}"
        expr = f"CASE WHEN {cond} THEN {int(v)} ELSE {expr} END"
    return expr


_LAST = 1 << 62  # sorts after every real timestamp in an ascending key
# a record is more complete the more of these it has
COMPLETE_COLUMNS = ("name_norm", "phone_norm", "address_id", "birth_date", "gender")


def _order_key_kinds(rule: tuple[str, ...], group: str) -> list[tuple[str, str]]:
    """The named sort keys, ascending, of survivorship ``rule`` for field ``group``, each
    with its kind: ``missing`` (a record with the group's value comes first), then the
    rule's criteria. The record reference, which breaks the remaining ties, is not
    included. A key other than the first is the same for every group and has the same
    name in all.
    """
    keys = [(f"_o_{group}_missing", "missing")]
    for r in rule:
        if r == "trust":
            keys.append(("_o_trust", "trust"))
        elif r == "recent":
            keys += [
                ("_o_recent_updated", "updated"),
                ("_o_recent_date", "date"),
                ("_o_recent_ingested", "ingested"),
            ]
        elif r == "complete":
            keys.append(("_o_complete", "complete"))
    return keys


def _order_keys_sql(
    rule: tuple[str, ...], missing: str, group: str, trust: dict[str, int]
) -> list[tuple[str, str]]:
    """The sort keys of :func:`_order_key_kinds` in DuckDB's SQL; ``missing`` is the SQL
    condition that the group's value is null. No key is ever null: the latest update and
    ingestion come first, a record without one after every record with one."""
    complete = " + ".join(f"CAST({c} IS NOT NULL AS INTEGER)" for c in COMPLETE_COLUMNS)
    of = {
        "missing": f"CAST({missing} AS INTEGER)",
        "trust": _trust_sql(trust),
        "updated": f"coalesce(-epoch_us(updated_at), {_LAST})",
        "date": "CAST(-(business_date - DATE '1970-01-01') AS INTEGER)",
        "ingested": f"coalesce(-epoch_us(_ingested_at), {_LAST})",
        "complete": f"-({complete})",
    }
    return [(name, of[kind]) for name, kind in _order_key_kinds(rule, group)]


# field group -> the SQL condition that a record on the fast path (its ID not in conflict)
# lacks the group's value: the staged records' order columns
_FAST_MISSING_SQL = {
    "name": "name_masked IS NULL",
    "phone": "phone_pseudonym IS NULL",
    "id": "id_pseudonym IS NULL",
    "residence": "feed IS DISTINCT FROM 'population'",
    "demographics": "gender IS NULL AND birth_date IS NULL",
}
# the same for any record: the ID of a record in conflict with its holder is not its own
_MISSING_SQL = {**_FAST_MISSING_SQL, "id": "id_conflict OR id_pseudonym IS NULL"}


# field group -> the columns its pick supplies to the golden record
GOLDEN_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name_masked",),
    "phone": ("phone_pseudonym", "phone_masked"),
    "id": ("id_type", "id_pseudonym", "id_masked", "gender_from_id", "birth_date_from_id"),
    "residence": ("residence_status", "record_status", "community_any", "grid_id", "address_id"),
    "demographics": ("gender", "birth_date"),
}


_DEFAULT_SURVIVORSHIP = {
    "name": ("trust", "complete", "recent"),
    "phone": ("recent", "trust", "complete"),
    "id": ("trust", "recent"),
    "residence": ("trust", "recent"),
    "demographics": ("trust", "recent"),
}


def _picks_sql(cfg: MatchingConfig) -> list[str]:
    """Per field group, the survivorship pick over a person's residue records (table ``r``:
    the staged records with ``id_conflict``), as the fast path picks over an ID's records:
    ``min`` of a struct whose first field is the order (the group's order columns, then the
    reference, so it is unique), then whether the record has the group's value, the
    reference and the group's columns. The fast path's ``_pick_<group>`` has the same
    fields and types, so the two merge by ``least``.
    """
    out = []
    for g, cols in GOLDEN_COLUMNS.items():
        rule = cfg.survivorship.get(g, _DEFAULT_SURVIVORSHIP[g])
        missing = f"CAST(({_MISSING_SQL[g]}) AS INTEGER)"
        keys = [missing] + [name for name, _ in _order_key_kinds(rule, g)[1:]] + ["rec_ref"]
        order = ", ".join(f"k{i} := {k}" for i, k in enumerate(keys))
        fields = ", ".join(f"{c} := {c}" for c in cols)
        out.append(
            f"min(struct_pack(o := struct_pack({order}), _has := {missing} = 0, "
            f"_src := rec_ref, {fields})) AS _pick_{g}"
        )
    return out


def _golden_sql() -> list[str]:
    """The golden record's columns from the merged picks (table of person_key, the
    ``_pick_<group>`` structs and the merged counts): a pick supplies its values only when
    its record has the group's value; ``field_sources`` names that record per group."""

    def v(g: str, c: str) -> str:
        return f"CASE WHEN _pick_{g}._has THEN _pick_{g}.{c} END"

    has_pop = "(_has_pop = 1)"
    status = f"coalesce({v('residence', 'record_status')}, 'active')"
    sources = ", ".join(
        f"CASE WHEN _pick_{g}._has THEN '\"{g}\":' || CAST(to_json(_pick_{g}._src) AS VARCHAR) END"
        for g in GOLDEN_COLUMNS
    )
    return [
        "person_key",
        f"coalesce({v('id', 'id_type')}, 'resident_id') AS id_type",
        f"{v('id', 'id_pseudonym')} AS id_pseudonym",
        f"{v('id', 'id_masked')} AS id_masked",
        f"{v('name', 'name_masked')} AS name_masked",
        f"coalesce({v('id', 'gender_from_id')}, {v('demographics', 'gender')}) AS gender",
        f"CAST(year(coalesce({v('id', 'birth_date_from_id')}, "
        f"{v('demographics', 'birth_date')})) AS INTEGER) AS birth_year",
        f"{v('phone', 'phone_pseudonym')} AS phone_pseudonym",
        f"{v('phone', 'phone_masked')} AS phone_masked",
        f"CASE WHEN {has_pop} THEN {v('residence', 'residence_status')} END AS residence_status",
        f"CASE WHEN {has_pop} THEN {status} END AS record_status",
        f"{has_pop} AS has_population_record",
        f"({has_pop} AND {status} = 'active') AS is_resident",
        f"CASE WHEN {has_pop} THEN {v('residence', 'community_any')} END AS community_code",
        f"CASE WHEN {has_pop} THEN {v('residence', 'grid_id')} END AS grid_id",
        f"CASE WHEN {has_pop} THEN {v('residence', 'address_id')} END AS address_id",
        "array_to_string(list_sort(_systems), ';') AS source_systems",
        "first_seen_date",
        "last_seen_date",
        "pseudonym_key_version",
        "records",
        f"'{{' || concat_ws(',', {sources}) || '}}' AS field_sources",
    ]


FAST_EVIDENCE = json.dumps(
    {
        "rule": "exact_valid_id",
        "fields": {"id_pseudonym": {"level": "exact", "similarity": 1.0}},
        "total_bits": None,
        "probability": 1.0,
    }
)
CROSSWALK_COLUMNS = (
    "feed",
    "source_system",
    "source_record_id",
    "person_key",
    "grade",
    "score",
    "evidence",
    "business_date",
)
OUTPUTS = ("persons", "person_crosswalk", "person_pii")


def assemble(
    partitions: list[list[str]],
    ids: list[str],
    keys: Path,
    linked: Path,
    residue_records: int,
    cfg: MatchingConfig,
    out: Path,
) -> dict[str, Path]:
    """The master tables (persons, crosswalk, key map), one Parquet file each under ``out``.

    Inputs: the staged records (:func:`stage_records`), the fast path's ID rows (``ids``),
    the key of every cluster (``keys``: cid, person_key) and the decision of every residue
    record (``linked``: rec_ref, person_key, grade, score, evidence, id_conflict). The
    records that are not residue are the fast path's: they link through their ID's key.

    - persons: the ID rows' partial golden records, merged with the picks over the residue
      records that joined them; persons of residue records only from those picks.
    - crosswalk: every record once, with its person, grade, score and evidence.
    - key map: per usable ID its person and identity fields; per (pseudonym, person) of
      the residue records that carry their own number, the first value of each field by
      reference.

    Raises ZhongtaiError when a record would be left without a person (a broken input:
    every record must appear once in the crosswalk).
    """
    from zhongtai.errors import ZhongtaiError

    def files(fs: list[str] | Path) -> str:
        listed = [str(f) for f in fs] if isinstance(fs, list) else [str(fs / "*.parquet")]
        return f"read_parquet([{', '.join(_sql_str(f) for f in listed)}])"

    staged = [f for p in partitions for f in p]
    paths = {name: out / name for name in OUTPUTS}
    con = _duckdb(out / "_spill", preserve_insertion_order=False)
    try:
        con.execute(f"CREATE TEMP VIEW s AS SELECT * EXCLUDE (_part) FROM {files(staged)}")
        con.execute(
            "CREATE TEMP VIEW k AS SELECT substring(cid, 3) AS id_pseudonym, person_key "
            f"FROM {files(keys)} WHERE starts_with(cid, 'I:')"
        )
        if ids:
            con.execute(f"CREATE TEMP VIEW i AS SELECT * FROM {files(ids)}")
        # the residue records with their links
        started = time.perf_counter()
        con.execute(
            "CREATE TEMP TABLE r AS SELECT s.*, l.person_key, l.grade, l.score, l.evidence, "
            f"l.id_conflict FROM s JOIN {files(linked)} l USING (rec_ref)"
        )
        found = con.sql("SELECT count(*) FROM r").fetchall()[0][0]
        log.info("person linking: residue records joined in %.1f s", time.perf_counter() - started)
        if found != residue_records:
            raise ZhongtaiError(
                f"person linking: {residue_records} residue records were decided but "
                f"{found} of them were found among the staged records"
            )
        for p in paths.values():
            p.mkdir(parents=True, exist_ok=True)

        def copy(select: str, name: str) -> int:
            started = time.perf_counter()
            target = _sql_str(str(paths[name] / "part-00000.parquet"))
            rows = con.execute(
                f"COPY ({select}) TO {target} (FORMAT parquet, ROW_GROUP_SIZE 100000)"
            ).fetchall()
            log.info("person linking: %s written in %.1f s", name, time.perf_counter() - started)
            return int(rows[0][0])

        xw_cols = ", ".join(CROSSWALK_COLUMNS)
        fast = (
            "SELECT s.feed, s.source_system, s.source_record_id, k.person_key, "
            f"'certain' AS grade, CAST(1.0 AS DOUBLE) AS score, {_sql_str(FAST_EVIDENCE)} "
            "AS evidence, s.business_date FROM s ANTI JOIN r USING (rec_ref) "
            "JOIN k USING (id_pseudonym)"
        )
        written = copy(
            f"{fast} UNION ALL SELECT {xw_cols.replace('score', 'CAST(score AS DOUBLE) AS score')} "
            "FROM r",
            "person_crosswalk",
        )
        total = con.sql("SELECT count(*) FROM s").fetchall()[0][0]
        if written != total:
            raise ZhongtaiError(
                f"person linking: {total - written} of {total} records found no person "
                "(their ID has no key)"
            )
        partials = (
            f"SELECT person_key, {', '.join(_picks_sql(cfg))}, "
            "max(CAST(feed = 'population' AS INTEGER)) AS _has_pop, "
            "list(DISTINCT concat_ws(':', feed, source_system)) AS _systems, "
            "min(business_date) AS first_seen_date, max(business_date) AS last_seen_date, "
            "max(pseudonym_key_version) AS pseudonym_key_version, count(*) AS records "
            "FROM r GROUP BY person_key"
        )
        if ids:
            partial_cols = ", ".join(
                [
                    *[f"i._pick_{g}" for g in GOLDEN_COLUMNS],
                    *("_has_pop", "_systems", "first_seen_date", "last_seen_date"),
                    *("pseudonym_key_version", "records"),
                ]
            )
            merged = ", ".join(
                [
                    "coalesce(a.person_key, b.person_key) AS person_key",
                    *[
                        # least() of two structs is slow: only the persons of both sides
                        f"CASE WHEN b.person_key IS NULL THEN a._pick_{g} "
                        f"WHEN a.person_key IS NULL THEN b._pick_{g} "
                        f"ELSE least(a._pick_{g}, b._pick_{g}) END AS _pick_{g}"
                        for g in GOLDEN_COLUMNS
                    ],
                    "greatest(a._has_pop, b._has_pop) AS _has_pop",
                    "list_distinct(list_concat(a._systems, b._systems)) AS _systems",
                    "least(a.first_seen_date, b.first_seen_date) AS first_seen_date",
                    "greatest(a.last_seen_date, b.last_seen_date) AS last_seen_date",
                    "greatest(a.pseudonym_key_version, b.pseudonym_key_version) "
                    "AS pseudonym_key_version",
                    "coalesce(a.records, 0) + coalesce(b.records, 0) AS records",
                ]
            )
            golden_in = (
                f"SELECT {merged} FROM (SELECT k.person_key, {partial_cols} FROM i JOIN k "
                f"USING (id_pseudonym)) a FULL JOIN ({partials}) b ON a.person_key = b.person_key"
            )
        else:
            golden_in = partials
        copy(f"SELECT {', '.join(_golden_sql())} FROM ({golden_in})", "persons")
        pii_cols = ", ".join(PII_FIELDS)
        own = ", ".join(
            f"arg_min({_pii_source(src)}, rec_ref) AS {name}" for name, src in PII_FIELDS.items()
        )
        rest = (
            f"SELECT id_pseudonym, person_key, {own} FROM r WHERE NOT id_conflict "
            "GROUP BY id_pseudonym, person_key"
        )
        by_id = ", ".join(f"i._pii_{c} AS {c}" for c in PII_FIELDS)
        pii = (
            f"SELECT k.id_pseudonym, k.person_key, {by_id} FROM i JOIN k USING (id_pseudonym) "
            f"UNION ALL SELECT id_pseudonym, person_key, {pii_cols} FROM ({rest})"
            if ids
            else rest
        )
        copy(pii, "person_pii")
    finally:
        con.close()
    return paths


def _pii_source(src: str | tuple[str, ...]) -> str:
    return f"coalesce({', '.join(src)})" if isinstance(src, tuple) else src


class _Steps:
    """Materialise each step (a local checkpoint) and log how long it took."""

    def __init__(self) -> None:
        self.t = time.perf_counter()

    def done(self, name: str, df: DataFrame) -> DataFrame:
        out = df.localCheckpoint()
        now = time.perf_counter()
        log.info("person linking: %s in %.1f s", name, now - self.t)
        self.t = now
        return out

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        log.info("person linking: %s in %.1f s", name, now - self.t)
        self.t = now


@dataclass(frozen=True)
class Linked:
    """What Spark decided: the key of every cluster (``keys``: cid, person_key), the link of
    every residue record (``linked``: rec_ref, person_key, grade, score, evidence,
    id_conflict; ``residue_records`` of them), the key log and the model."""

    keys: DataFrame
    linked: DataFrame
    residue_records: int
    key_log: DataFrame
    model: FSModel


def transform(
    spark: SparkSession,
    partitions: list[list[str]],
    previous_pii: DataFrame | None,
    previous_xw: DataFrame | None,
    cfg: MatchingConfig,
    business_date: Any,
    out: Path,
) -> Linked:
    """From the staged records (:func:`stage_records`) to the decisions: the fast path (its
    ID rows and residue records written under ``out``), then the residue's blocking,
    comparisons, model and decisions, then the stable keys. :func:`assemble` makes the
    master tables of them.

    Only narrow or per-ID rows move in Spark: the library persons' comparison fields, the
    residue and its pairs, the keys. Local checkpoints cut the
    lineage so that the plans of the later steps stay small.
    """
    step = _Steps()
    staged = read_staged(spark, partitions)
    # the records as the later steps read them: without the fast path's order columns
    base = staged.drop("_part", *_fast_path_order_sql(cfg))
    counts = transform_fast_path(staged, partitions, cfg, out).collect()
    step.lap("fast path of the IDs")
    residue_recs = read_fast_path(spark, out / "residue", residue_schema(staged))
    n_markers = sum(r["residue"] for r in counts)
    recs = transform_fast_flags(base, residue_recs.select("rec_ref", "id_conflict"), n_markers)
    identities = read_fast_path(spark, out / "ids", ids_schema(staged, cfg))
    library = step.done("library", transform_library(identities))
    residue = step.done("residue", transform_residue(residue_recs, library))
    compared = step.done(
        "candidates compared", transform_compare(transform_candidates(residue, library, cfg))
    )
    model = train_model(compared, library, recs, cfg)
    step.lap("model trained")
    scored = step.done("scored", transform_score(compared, model, cfg))
    decided = step.done("decided", transform_decide(scored, residue, cfg, model))
    id_cid = F.concat(F.lit("I:"), "id_pseudonym").alias("cid")
    clusters = (
        identities.select(id_cid, F.col("records"))
        .unionByName(decided.select("cid", F.lit(1).cast("long").alias("records")))
        .groupBy("cid")
        .agg(F.sum("records").alias("records"))
    )
    assigned = (
        recs.where("fast").select("rec_ref", id_cid).unionByName(decided.select("rec_ref", "cid"))
    )
    keyed, log_df = transform_stable_keys(
        clusters, assigned, previous_pii, previous_xw, business_date
    )
    keyed = step.done("stable keys", keyed)
    n_decided = decided.count()
    decided_keys = keyed.join(
        _small(decided.select("cid").distinct(), n_decided), "cid", "left_semi"
    )
    linked = (
        decided.join(decided_keys, "cid")
        .join(residue.select("rec_ref", "id_conflict"), "rec_ref")
        .select("rec_ref", "person_key", "grade", "score", "evidence", "id_conflict")
    )
    return Linked(keyed, linked, n_decided, log_df, model)


def main(
    spark: SparkSession,
    paths: dict[str, list[str]],
    previous_pii_files: list[str],
    business_date: Any,
    cfg: MatchingConfig,
    previous_xw_files: list[str] | None,
    work: Path,
) -> MatchOutputs | None:
    """Wire extract and transform, and assemble the master tables (:func:`assemble`); the
    caller (zhongtai.match) publishes the outputs.

    ``work`` is a local folder for the staged records, the files Spark hands to the
    assembly and the master tables themselves: the caller removes it after publishing.
    """
    configured = int(spark.conf.get("spark.sql.shuffle.partitions") or 8)
    parts = id_partitions([f for files in paths.values() for f in files], configured)
    started = time.perf_counter()
    partitions = stage_records(paths, business_date, cfg, parts, work)
    if not partitions:
        return None
    log.info(
        "person linking: records staged (latest versions, by ID) in %.1f s",
        time.perf_counter() - started,
    )
    previous = spark.read.parquet(*previous_pii_files) if previous_pii_files else None
    prev_xw = spark.read.parquet(*previous_xw_files) if previous_xw_files else None
    fast = work / "fast"
    for folder in ("ids", "residue"):
        (fast / folder).mkdir(parents=True, exist_ok=True)
    done = transform(spark, partitions, previous, prev_xw, cfg, business_date, fast)
    started = time.perf_counter()
    done.keys.write.mode("overwrite").parquet(str(work / "keys"))
    done.linked.write.mode("overwrite").parquet(str(work / "linked"))
    log.info("person linking: keys and links written in %.1f s", time.perf_counter() - started)
    started = time.perf_counter()
    tables = assemble(
        partitions,
        sorted(str(f) for f in (fast / "ids").glob("*.parquet")),
        work / "keys",
        work / "linked",
        done.residue_records,
        cfg,
        work / "out",
    )
    log.info("person linking: master tables assembled in %.1f s", time.perf_counter() - started)
    return MatchOutputs(
        persons=tables["persons"],
        crosswalk=tables["person_crosswalk"],
        person_pii=tables["person_pii"],
        key_log=done.key_log,
        model=done.model,
    )


# the fast path holds one partition of records at a time in a Python worker (about half a
# kilobyte a record in Arrow): a partition by ID gets at most this many records
MAX_PARTITION_RECORDS = 1_000_000


def id_partitions(files: list[str], configured: int, most: int = MAX_PARTITION_RECORDS) -> int:
    """How many partitions to shuffle the records into by ID: the configured number, or
    more when the clean files (their Parquet footers' row counts) hold more than ``most``
    records a partition."""
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return max(configured, -(-rows // most))
