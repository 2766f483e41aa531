"""Spark job: link every clean legal_entity record to an entity of the entity library (法人库).

extract   — clean partitions <= D of legal_entity (the latest version of each source record);
            the previous day's key map (``master/entity_pii``) and crosswalk; the address
            crosswalk of D (registered/business address keys), when published.
transform — 0. prepare: name core / kind / branch, the compact credit code and its valid
               neighbours, the legal representative's pinyin, addresses resolved against the
               gazetteer (one Arrow-batched pass of zhongtai.match.entities);
            1. fast path: records with a valid credit code join the entity of that code, no
               pairwise scoring, unless their name disagrees with the name the code holds;
            2. residue (no valid code, or such a conflict): blocking keys against the library
               entities and the other residue records; rapidfuzz comparisons in an
               Arrow-batched UDF; Fellegi–Sunter weights (u on random library pairs);
               grades certain / possible / new; guards (kinds and branches must agree, a
               record links to one entity and never through a chain, entities of two valid
               codes never merge);
            3. stable keys from the previous day (merges and splits logged with a reason);
            4. golden records by source trust, then recency, with each field's source.
load      — done by zhongtai.match.entities (publish per business date).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from zhongtai.match.entities import (
    CMP_COLUMNS,
    FIELDS,
    MULTI_SEP,
    PREPARED_FIELDS,
    EntityMatchingConfig,
)
from zhongtai.match.weights import FSModel

FEED = "legal_entity"
# the columns of the clean zone the job reads (docs/ZONES.md), with their Spark types
RECORD_COLUMNS: dict[str, str] = {
    "source_system": "string",
    "source_record_id": "string",
    "uscc": "string",
    "uscc_norm": "string",
    "uscc_valid": "boolean",
    "uscc_status": "string",
    "entity_name": "string",
    "entity_name_norm": "string",
    "legal_representative_norm": "string",
    "legal_representative_masked": "string",
    "contact_phone_norm": "string",
    "contact_phone_pseudonym": "string",
    "contact_phone_masked": "string",
    "registered_address": "string",
    "business_address": "string",
    "entity_type": "string",
    "industry_code": "string",
    "status": "string",
    "established_date": "date",
    "updated_at": "timestamp",
    "pseudonym_key_version": "string",
    "business_date": "date",
    "_ingested_at": "timestamp",
    "_line_number": "bigint",
}
DEFAULT_TRUST = {"market_regulation": 1, "tax": 2, "civil_affairs": 3, "grid": 4}


@dataclass(frozen=True)
class EntityOutputs:
    """The tables the job publishes, and the model it used."""

    entities: DataFrame
    crosswalk: DataFrame
    entity_pii: DataFrame
    key_log: DataFrame
    model: FSModel


# ---------------------------------------------------------------- extract
def _col_or_null(df: DataFrame, name: str) -> Column:
    return F.col(name) if name in df.columns else F.lit(None)


def extract_records(spark: SparkSession, files: list[str]) -> DataFrame:
    """The clean legal_entity records, in the shape the job reads."""
    df = spark.read.parquet(*files)
    return df.select(*[_col_or_null(df, c).cast(t).alias(c) for c, t in RECORD_COLUMNS.items()])


def extract_address_keys(spark: SparkSession, files: list[str]) -> DataFrame | None:
    """(source_system, source_record_id, reg_address_key, biz_address_key) of the address
    crosswalk's legal_entity rows, or None when the address master is not published."""
    if not files:
        return None
    xw = spark.read.parquet(*files).where(F.col("feed") == FEED)

    def role(r: str) -> Column:
        return F.max(F.when(F.col("address_role") == r, F.col("address_key")))

    return xw.groupBy(
        F.col("source_system").cast("string").alias("source_system"),
        F.col("source_record_id").cast("string").alias("source_record_id"),
    ).agg(
        role("registered").alias("registered_address_key"),
        role("business").alias("business_address_key"),
    )


# ---------------------------------------------------------------- 0. prepare
def transform_latest_version(records: DataFrame) -> DataFrame:
    """Keep the latest version of each source record (a change supersedes the original)."""
    w = Window.partitionBy("source_system", "source_record_id").orderBy(
        F.col("business_date").desc(),
        F.col("_ingested_at").desc_nulls_last(),
        F.col("_line_number").desc_nulls_last(),
    )
    return records.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")


def _trust_expr(trust: dict[str, int]) -> Column:
    expr: Column = F.lit(99)
    for k, v in trust.items():
        expr = F.when(F.col("source_system") == k, F.lit(v)).otherwise(expr)
    return expr


def transform_prepare(
    records: DataFrame, gazetteer: Any, regions: frozenset[str], trust: dict[str, int]
) -> DataFrame:
    """Reference, trust and the matching fields of every record (Arrow-batched)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_type

    from zhongtai.match.entities import prepare_arrow_batches

    spark = records.sparkSession
    bc = spark.sparkContext.broadcast((gazetteer, regions))
    in_schema = pa.schema(
        [pa.field(f.name, to_arrow_type(f.dataType, timezone="UTC")) for f in records.schema]
    )
    out_schema = pa.schema(list(in_schema) + [pa.field(f, pa.string()) for f, _ in PREPARED_FIELDS])

    def run(batches):  # type: ignore[no-untyped-def]
        g, r = bc.value
        yield from prepare_arrow_batches(g, r)(batches)

    prepared = records.mapInArrow(run, from_arrow_schema(out_schema))
    return prepared.withColumn(
        "rec_ref", F.concat_ws(":", F.lit(FEED), "source_system", "source_record_id")
    ).withColumn("_trust", _trust_expr(trust))


def _recent_order() -> list[Column]:
    return [
        F.col("_trust").asc(),
        F.col("updated_at").desc_nulls_last(),
        F.col("business_date").desc(),
        F.col("_ingested_at").desc_nulls_last(),
        F.col("rec_ref").asc(),
    ]


# ---------------------------------------------------------------- 1. fast path
def transform_fast_path(records: DataFrame, min_ratio: float) -> DataFrame:
    """Mark each valid-code record consistent (``fast``) or in conflict with its code's name.

    The name a code holds is that of its most trusted, most recent record. A record whose
    core is neither equal, contained nor similar, or that is a branch where the holder is
    not (or the reverse), is a conflict: the code is another entity's.
    """
    from zhongtai.match.entities import consistency_arrow_batches

    valid = records.where(F.col("uscc_valid") & F.col("uscc_norm").isNotNull())
    w = Window.partitionBy("uscc_norm").orderBy(*_recent_order())
    owners = (
        valid.withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .select(
            "uscc_norm",
            F.col("name_core").alias("owner_core"),
            F.col("name_branch").alias("owner_branch"),
        )
    )
    pairs = valid.join(owners, "uscc_norm").select(
        "rec_ref", "name_core", "name_branch", "owner_core", "owner_branch"
    )
    schema = T.StructType(
        [T.StructField("rec_ref", T.StringType()), T.StructField("consistent", T.BooleanType())]
    )
    verdict = pairs.mapInArrow(consistency_arrow_batches(min_ratio), schema)
    out = records.join(verdict, "rec_ref", "left")
    has_code = F.coalesce(F.col("uscc_valid"), F.lit(False)) & F.col("uscc_norm").isNotNull()
    return (
        out.withColumn("fast", has_code & F.coalesce("consistent", F.lit(False)))
        .withColumn("uscc_conflict", has_code & ~F.coalesce("consistent", F.lit(False)))
        .drop("consistent")
    )


def _joined_set(*cols: str) -> Column:
    vals = F.flatten(F.collect_list(F.array(*[F.col(c) for c in cols])))
    return F.concat_ws(
        MULTI_SEP, F.array_sort(F.array_distinct(F.filter(vals, lambda x: x.isNotNull())))
    )


def _record_sets() -> dict[str, Column]:
    """The multi-valued comparison fields of one record."""
    return {
        "rep_norm": F.col("legal_representative_norm"),
        "phone_norm": F.col("contact_phone_norm"),
        "address_ids": F.concat_ws(MULTI_SEP, "reg_address_id", "biz_address_id"),
        "communities": F.concat_ws(MULTI_SEP, "reg_community", "biz_community"),
        "address_texts": F.concat_ws(MULTI_SEP, "reg_address_text", "biz_address_text"),
    }


def transform_library(records: DataFrame) -> DataFrame:
    """Library entities: one per valid code, with the comparison fields of its records."""
    fast = records.where("fast")
    w = Window.partitionBy("uscc_norm").orderBy(*_recent_order())
    head = (
        fast.withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .select(
            "uscc_norm",
            "name_core",
            "name_kind",
            "name_branch",
            "established_date",
            "industry_code",
        )
    )
    sets = fast.groupBy("uscc_norm").agg(
        _joined_set("legal_representative_norm").alias("rep_norm"),
        _joined_set("rep_pinyin").alias("rep_pinyin"),
        _joined_set("contact_phone_norm").alias("phone_norm"),
        _joined_set("reg_address_id", "biz_address_id").alias("address_ids"),
        _joined_set("reg_community", "biz_community").alias("communities"),
        _joined_set("reg_address_text", "biz_address_text").alias("address_texts"),
    )
    return (
        head.join(sets, "uscc_norm")
        .withColumn("uscc_code", F.col("uscc_norm"))
        .withColumn("uscc_near", F.lit(None).cast("string"))
        .withColumn("cand_ref", F.concat(F.lit("U:"), "uscc_norm"))
    )


# ---------------------------------------------------------------- 2. residue
def transform_residue(records: DataFrame) -> DataFrame:
    """Records to score: no valid code, or a code in conflict with its holder's name.

    A conflicting record's code is not its own: it is left out of its comparisons.
    """
    res = records.where(~F.col("fast"))
    sets = _record_sets()
    return res.select(
        "rec_ref",
        "uscc_conflict",
        "name_core",
        "name_kind",
        "name_branch",
        F.when(~F.col("uscc_conflict"), F.col("uscc_code")).alias("uscc_code"),
        F.when(~F.col("uscc_conflict"), F.col("uscc_near")).alias("uscc_near"),
        F.col("legal_representative_norm").alias("rep_norm"),
        "rep_pinyin",
        *[sets[c].alias(c) for c in ("phone_norm", "address_ids", "communities", "address_texts")],
        "established_date",
        "industry_code",
    ).withColumn("cand_ref", F.concat(F.lit("R:"), "rec_ref"))


def _multi(c: str) -> Column:
    return F.filter(F.split(F.coalesce(F.col(c), F.lit("")), r"\|"), lambda x: x != "")


def blocking_keys(df: DataFrame, rules: tuple[str, ...]) -> DataFrame:
    """(cand_ref, bkey) rows: one per blocking rule value of each record or entity."""
    keys: list[Column] = []
    core = F.col("name_core")
    prefix = F.substring(core, 1, 2)
    for rule in rules:
        if rule == "uscc_near":
            codes = F.array_union(_multi("uscc_near"), _multi("uscc_code"))
            keys.append(F.transform(codes, lambda x: F.concat(F.lit("u="), x)))
        elif rule == "name_core":
            keys.append(F.when(core.isNotNull(), F.array(F.concat(F.lit("c="), core))))
        elif rule == "name_prefix_community":
            keys.append(
                F.when(
                    core.isNotNull(),
                    F.transform(
                        _multi("communities"),
                        lambda x: F.concat(F.lit("pc="), prefix, F.lit("|"), x),
                    ),
                )
            )
        elif rule == "phone_name_prefix":
            keys.append(
                F.when(
                    core.isNotNull(),
                    F.transform(
                        _multi("phone_norm"),
                        lambda x: F.concat(F.lit("pp="), x, F.lit("|"), prefix),
                    ),
                )
            )
    arr = F.array_distinct(
        F.flatten(F.array(*[F.coalesce(k, F.array().cast("array<string>")) for k in keys]))
    )
    return df.select("cand_ref", F.explode(arr).alias("bkey"))


def _cmp_select(df: DataFrame) -> DataFrame:
    return df.select("cand_ref", *[F.col(c).cast("string").alias(c) for c in CMP_COLUMNS])


def transform_candidates(
    residue: DataFrame, library: DataFrame, cfg: EntityMatchingConfig
) -> DataFrame:
    """Candidate pairs (l = residue record, r = library entity or another residue record)."""
    rkeys = blocking_keys(residue, cfg.blocking_rules).distinct().localCheckpoint()
    wanted = rkeys.select("bkey").distinct()
    lkeys = blocking_keys(library, cfg.blocking_rules).join(wanted, "bkey", "left_semi")
    sizes = lkeys.groupBy("bkey").count().where(F.col("count") <= cfg.max_block_size)
    lkeys = lkeys.join(sizes.select("bkey"), "bkey", "left_semi")
    to_library = (
        rkeys.alias("a")
        .join(lkeys.alias("b"), "bkey")
        .select(F.col("a.cand_ref").alias("l_ref"), F.col("b.cand_ref").alias("r_ref"))
    )
    rsizes = rkeys.groupBy("bkey").count().where(F.col("count") <= cfg.max_block_size)
    rk = rkeys.join(rsizes.select("bkey"), "bkey", "left_semi")
    to_record = (
        rk.alias("a")
        .join(rk.alias("b"), "bkey")
        .where(F.col("a.cand_ref") < F.col("b.cand_ref"))
        .select(F.col("a.cand_ref").alias("l_ref"), F.col("b.cand_ref").alias("r_ref"))
    )
    pairs = to_library.unionByName(to_record).distinct()
    sides = _cmp_select(library).unionByName(_cmp_select(residue))
    left = _cmp_select(residue).select(
        F.col("cand_ref").alias("l_ref"), *[F.col(c).alias(f"l_{c}") for c in CMP_COLUMNS]
    )
    right = sides.select(
        F.col("cand_ref").alias("r_ref"), *[F.col(c).alias(f"r_{c}") for c in CMP_COLUMNS]
    )
    return pairs.join(left, "l_ref").join(right, "r_ref")


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
    + [T.StructField("kind_ok", T.BooleanType())]
)


def transform_compare(pairs: DataFrame) -> DataFrame:
    """Field comparisons of every candidate pair (rapidfuzz in an Arrow-batched UDF)."""
    from zhongtai.match.entities import compare_entity_arrow_batches

    cols = ["l_ref", "r_ref"] + [f"{s}_{c}" for s in ("l", "r") for c in CMP_COLUMNS]
    return pairs.select(*cols).mapInArrow(compare_entity_arrow_batches, COMPARED_SCHEMA)


def random_pair_patterns(
    library: DataFrame, n: int = 20000, seed: int = 7
) -> list[tuple[tuple[int, ...], int]]:
    """Level vectors of random library pairs (to estimate u; almost all are non-matches)."""
    from collections import Counter

    from zhongtai.match.entities import compare_entity_columns

    total = library.count()
    if total < 20:
        return []
    frac = min(1.0, 2.0 * n / total)
    rows = library.sample(fraction=frac, seed=seed).select(*CMP_COLUMNS).limit(2 * n).collect()
    half = len(rows) // 2
    cols: dict[str, list[Any]] = {}
    for c in CMP_COLUMNS:
        cols[f"l_{c}"] = [None if r[c] is None else str(r[c]) for r in rows[:half]]
        cols[f"r_{c}"] = [None if r[c] is None else str(r[c]) for r in rows[half : 2 * half]]
    out = compare_entity_columns(cols)
    return list(Counter(zip(*[out[f"{f}_level"] for f in FIELDS], strict=True)).items())


def train_model(library: DataFrame, cfg: EntityMatchingConfig) -> FSModel:
    """The configured model, with u re-estimated on random library pairs where configured."""
    from zhongtai.match.entities import model_from_config
    from zhongtai.match.weights import estimate_u

    model = model_from_config(cfg)
    rnd = random_pair_patterns(library)
    if rnd:
        learned = estimate_u(model, rnd, 1e-4)
        model.u = {f: learned[f] if f in cfg.u_from_random else model.u[f] for f in model.u}
        model.version = model.version.replace("/config", "/u-random")
        model.trained["random_pairs"] = sum(n for _, n in rnd)
    return model


def transform_score(compared: DataFrame, model: FSModel, cfg: EntityMatchingConfig) -> DataFrame:
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
    scored: DataFrame, residue: DataFrame, cfg: EntityMatchingConfig, model: FSModel
) -> DataFrame:
    """One decision per residue record: (rec_ref, cid, grade, score, evidence).

    Guards: never a link between names whose cores are "different" or whose kinds or
    branches contradict each other (a 分公司 is not its parent); the best library entity
    must beat the runner-up by ``min_margin_bits`` to be certain; residue records that link
    to no entity form new entities with the records they match ``certain`` directly (a star
    around the smallest reference, so no chain of weak links merges strangers).
    """
    from zhongtai.match.decide import DecideRules, decide_scored, fs_evidence

    different = len(cfg.fields["name"].levels) - 1
    d = decide_scored(
        scored,
        residue.select(F.col("cand_ref").alias("ref")),
        DecideRules(cfg.certain, cfg.possible, cfg.min_margin_bits),
        (F.col("name_level") != different) & F.col("kind_ok"),
        "U:",
        "R:",
        carry=("fields_json",),
    )
    evidence = fs_evidence(model, "new_entity_with_residue")
    return d.select(
        F.expr("substring(cand_ref, 3)").alias("rec_ref"),
        "cid",
        "grade",
        "score",
        evidence.alias("evidence"),
    )


# ---------------------------------------------------------------- 3. stable keys
def _derived_key(cid: Column) -> Column:
    """A deterministic key for a cluster never seen before: from its code, else its record."""
    seed = F.when(
        cid.startswith("U:"), F.concat(F.lit("entity|uscc|"), F.expr("substring(cid, 3)"))
    )
    seed = seed.otherwise(F.concat(F.lit("entity|record|"), F.expr("substring(cid, 3)")))
    return F.concat(F.lit("E"), F.substring(F.sha2(seed, 256), 1, 16))


def transform_stable_keys(
    assigned: DataFrame,
    previous_pii: DataFrame | None,
    previous_xw: DataFrame | None,
    business_date: Any,
) -> tuple[DataFrame, DataFrame]:
    """entity_key per cluster, reusing yesterday's keys; the merge/split log.

    A cluster claims the key that yesterday's key map gave its code and the keys that
    yesterday's crosswalk gave its records; it keeps the claim of its code first, else its
    most common claim. When two clusters claim one key, the one holding it by code (else
    the larger share) keeps it and the other gets a new key (a split); a cluster that
    gathered the records of several keys keeps one and retires the others into it (a merge).
    """
    spark = assigned.sparkSession
    claims = spark.createDataFrame([], "cid string, prev_key string, by_code int, n long")
    if previous_pii is not None and "uscc" in previous_pii.columns:
        claims = claims.unionByName(
            previous_pii.where(F.col("uscc").isNotNull())
            .select(
                F.concat(F.lit("U:"), "uscc").alias("cid"),
                F.col("entity_key").alias("prev_key"),
                F.lit(1).alias("by_code"),
                F.lit(0).cast("long").alias("n"),
            )
            .join(assigned.select("cid").distinct(), "cid", "left_semi")
        )
    if previous_xw is not None:
        px = previous_xw.select(
            F.concat_ws(":", "feed", "source_system", "source_record_id").alias("rec_ref"),
            F.col("entity_key").alias("prev_key"),
        )
        claims = claims.unionByName(
            assigned.join(px, "rec_ref")
            .groupBy("cid", "prev_key")
            .agg(F.count("*").alias("n"))
            .select("cid", "prev_key", F.lit(0).alias("by_code"), "n")
        )
    claims = claims.groupBy("cid", "prev_key").agg(
        F.max("by_code").alias("by_code"), F.sum("n").alias("n")
    )
    wc = Window.partitionBy("cid").orderBy(
        F.col("by_code").desc(), F.col("n").desc(), F.col("prev_key")
    )
    choice = claims.withColumn("_r", F.row_number().over(wc)).where("_r = 1")
    wk = Window.partitionBy("prev_key").orderBy(
        F.col("by_code").desc(), F.col("n").desc(), F.col("cid")
    )
    choice = choice.withColumn("_k", F.row_number().over(wk))
    kept = choice.where("_k = 1").select("cid", F.col("prev_key").alias("_kept"))
    clusters = assigned.groupBy("cid").agg(F.count("*").alias("records"))
    keyed = clusters.join(kept, "cid", "left").withColumn(
        "entity_key", F.coalesce("_kept", _derived_key(F.col("cid")))
    )
    bd = F.lit(business_date).cast("date")
    splits = (
        choice.where("_k > 1")
        .join(keyed.select("cid", "entity_key"), "cid")
        .select(
            bd.alias("business_date"),
            F.lit("split").alias("event"),
            F.col("prev_key").alias("from_key"),
            F.col("entity_key").alias("to_key"),
            F.lit(
                "records of the key now form another entity (the key stays with its credit "
                "code or the larger share)"
            ).alias("reason"),
            F.col("n").alias("records"),
        )
    )
    merges = (
        claims.join(keyed.select("cid", "entity_key"), "cid")
        .where(F.col("prev_key") != F.col("entity_key"))
        .join(choice.where("_k > 1").select("cid", "prev_key"), ["cid", "prev_key"], "left_anti")
        .select(
            bd.alias("business_date"),
            F.lit("merge").alias("event"),
            F.col("prev_key").alias("from_key"),
            F.col("entity_key").alias("to_key"),
            F.when(
                F.col("by_code") == 1,
                F.lit("the credit code of the retired key now links to this entity"),
            )
            .otherwise(F.lit("records of the retired key now link to this entity"))
            .alias("reason"),
            F.col("n").alias("records"),
        )
    )
    new = keyed.where(F.col("_kept").isNull()).select(
        bd.alias("business_date"),
        F.lit("new").alias("event"),
        F.lit(None).cast("string").alias("from_key"),
        F.col("entity_key").alias("to_key"),
        F.lit("no earlier key for these records").alias("reason"),
        F.col("records"),
    )
    log = splits.unionByName(merges).unionByName(new)
    return assigned.join(keyed.select("cid", "entity_key"), "cid"), log


# ---------------------------------------------------------------- 4. outputs
def transform_crosswalk(linked: DataFrame) -> DataFrame:
    """The crosswalk: every source record with its entity and the grade of the link."""
    return linked.select(
        F.lit(FEED).alias("feed"),
        "source_system",
        "source_record_id",
        "entity_key",
        "grade",
        F.col("score").cast("double"),
        "evidence",
        "business_date",
    )


# golden field -> the record columns picked together (the first decides whether a record has it)
GOLDEN_FIELDS: dict[str, tuple[str, ...]] = {
    "entity_name": ("entity_name_norm",),
    "entity_type": ("entity_type",),
    "industry_code": ("industry_code",),
    "status": ("status",),
    "established_date": ("established_date",),
    "legal_representative": ("legal_representative_masked",),
    "contact_phone": ("contact_phone_pseudonym", "contact_phone_masked"),
    "registered_address_key": ("registered_address_key",),
    "business_address_key": ("business_address_key",),
}


def transform_golden(linked: DataFrame) -> DataFrame:
    """Golden records: per field, the value of the most trusted record that has one
    (market_regulation > tax > civil_affairs > grid), then the most recent; the field's
    source record is kept in ``field_sources``."""
    order = F.struct(
        F.col("_trust"),
        -F.coalesce(F.unix_micros("updated_at"), F.lit(0)),
        -F.unix_date("business_date"),
        -F.coalesce(F.unix_micros("_ingested_at"), F.lit(0)),
        F.col("rec_ref"),
    )
    aggs: list[Column] = []
    for name, cols in GOLDEN_FIELDS.items():
        has = F.col(cols[0]).isNotNull()
        pick = F.struct(*[F.col(c).alias(c) for c in cols], F.col("rec_ref").alias("_src"))
        aggs.append(F.min_by(F.when(has, pick), F.when(has, order)).alias(f"_g_{name}"))
    aggs += [
        F.max(F.when(F.col("fast"), F.col("uscc_norm"))).alias("uscc"),
        F.concat_ws(
            ";", F.sort_array(F.collect_set(F.concat_ws(":", F.lit(FEED), "source_system")))
        ).alias("source_systems"),
        F.count("*").cast("long").alias("records"),
        F.min("business_date").alias("first_seen_date"),
        F.max("business_date").alias("last_seen_date"),
    ]
    g = linked.groupBy("entity_key").agg(*aggs)
    sources = F.to_json(F.struct(*[F.col(f"_g_{n}._src").alias(n) for n in GOLDEN_FIELDS]))
    return g.select(
        "entity_key",
        "uscc",
        F.col("_g_entity_name.entity_name_norm").alias("entity_name"),
        F.col("_g_entity_type.entity_type").alias("entity_type"),
        F.col("_g_industry_code.industry_code").alias("industry_code"),
        F.col("_g_status.status").alias("status"),
        F.col("_g_established_date.established_date").alias("established_date"),
        F.col("_g_legal_representative.legal_representative_masked").alias(
            "legal_representative_masked"
        ),
        F.col("_g_contact_phone.contact_phone_pseudonym").alias("contact_phone_pseudonym"),
        F.col("_g_contact_phone.contact_phone_masked").alias("contact_phone_masked"),
        F.col("_g_registered_address_key.registered_address_key").alias("registered_address_key"),
        F.col("_g_business_address_key.business_address_key").alias("business_address_key"),
        "source_systems",
        "records",
        "first_seen_date",
        "last_seen_date",
        sources.alias("field_sources"),
    )


def transform_entity_pii(linked: DataFrame) -> DataFrame:
    """Restricted matching internals: the key map from credit code to entity, with the
    normalised name parts, representative, phone and registered address."""
    order = F.struct(F.col("_trust"), F.col("rec_ref"))

    def first(c: str) -> Column:
        return F.min_by(F.when(F.col(c).isNotNull(), F.col(c)), F.when(F.col(c).isNotNull(), order))

    return linked.groupBy("entity_key").agg(
        F.max(F.when(F.col("fast"), F.col("uscc_norm"))).alias("uscc"),
        first("name_core").alias("name_core"),
        first("name_kind").alias("name_kind"),
        first("name_branch").alias("name_branch"),
        first("legal_representative_norm").alias("legal_representative_norm"),
        first("contact_phone_norm").alias("contact_phone_norm"),
        first("reg_address_text").alias("registered_address_norm"),
    )


FAST_EVIDENCE = json.dumps(
    {
        "rule": "exact_valid_uscc",
        "fields": {"uscc": {"level": "exact", "similarity": 1.0, "weight": None}},
        "total_bits": None,
        "probability": 1.0,
    }
)


def transform(
    records: DataFrame,
    cfg: EntityMatchingConfig,
    business_date: Any,
    *,
    gazetteer: Any = None,
    regions: frozenset[str] = frozenset(),
    previous_pii: DataFrame | None = None,
    previous_xw: DataFrame | None = None,
    address_keys: DataFrame | None = None,
) -> EntityOutputs:
    """All transformations, from clean records to the master tables."""
    trust = cfg.source_trust or DEFAULT_TRUST
    recs = (
        records.transform(transform_latest_version)
        .transform(lambda d: transform_prepare(d, gazetteer, regions, trust))
        .localCheckpoint()
    )
    recs = transform_fast_path(recs, cfg.name_consistent_min_ratio).localCheckpoint()
    library = transform_library(recs).localCheckpoint()
    residue = transform_residue(recs).localCheckpoint()
    compared = transform_compare(transform_candidates(residue, library, cfg)).localCheckpoint()
    model = train_model(library, cfg)
    scored = transform_score(compared, model, cfg).localCheckpoint()
    decided = transform_decide(scored, residue, cfg, model)
    fast = recs.where("fast").select(
        "rec_ref",
        F.concat(F.lit("U:"), "uscc_norm").alias("cid"),
        F.lit("certain").alias("grade"),
        F.lit(1.0).alias("score"),
        F.lit(FAST_EVIDENCE).alias("evidence"),
    )
    assigned = fast.unionByName(decided).localCheckpoint()
    keyed, log = transform_stable_keys(assigned, previous_pii, previous_xw, business_date)
    if address_keys is None:
        recs = recs.withColumn("registered_address_key", F.lit(None).cast("string")).withColumn(
            "business_address_key", F.lit(None).cast("string")
        )
    else:
        recs = recs.join(address_keys, ["source_system", "source_record_id"], "left")
    linked = recs.join(keyed.localCheckpoint(), "rec_ref").localCheckpoint()
    return EntityOutputs(
        entities=transform_golden(linked),
        crosswalk=transform_crosswalk(linked),
        entity_pii=transform_entity_pii(linked),
        key_log=log,
        model=model,
    )


def main(
    spark: SparkSession,
    files: list[str],
    business_date: Any,
    cfg: EntityMatchingConfig,
    *,
    gazetteer: Any = None,
    regions: frozenset[str] = frozenset(),
    previous_pii_files: list[str] | None = None,
    previous_xw_files: list[str] | None = None,
    address_xw_files: list[str] | None = None,
) -> EntityOutputs:
    """Wire extract and transform; the caller (zhongtai.match.entities) loads the outputs."""
    records = extract_records(spark, files).where(F.col("business_date") <= F.lit(business_date))
    prev_pii = spark.read.parquet(*previous_pii_files) if previous_pii_files else None
    prev_xw = spark.read.parquet(*previous_xw_files) if previous_xw_files else None
    return transform(
        records,
        cfg,
        business_date,
        gazetteer=gazetteer,
        regions=regions,
        previous_pii=prev_pii,
        previous_xw=prev_xw,
        address_keys=extract_address_keys(spark, address_xw_files or []),
    )
