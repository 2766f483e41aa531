"""Spark job: link every address-bearing record to a master address of the address library.

extract   — the standard addresses (``addresses`` feed, clean else raw) and the clean
            population and legal_entity partitions <= D (the latest version of each source
            record), one row per record and address role; yesterday's ``master/address_pii``
            and crosswalk.
transform — 0. parse every text with the Gazetteer in an Arrow-batched UDF (the Gazetteer is
               broadcast as rows and built once per Python worker);
            1. exact resolution (standard rows themselves, cleaning's address_id, else the
               Gazetteer) links certain to the standard address, no pairwise scoring;
            2. residue: identical parts form one group; groups are blocked against the
               standard addresses and each other and compared with rapidfuzz (mapInArrow);
               the best standard candidate grades certain / possible; the other groups
               become new addresses, joined only through a direct certain comparison to the
               group at the centre of their star (never a chain of weak links);
            3. stable keys: a standard address's key derives from its id; a new address
               claims yesterday's key by its parts (address_pii) or its records (crosswalk);
               merges and splits logged with a reason;
            4. golden records (masked), crosswalk, restricted address_pii.
load      — done by zhongtai.match.addresses (publish per business date).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from zhongtai.errors import ZhongtaiError
from zhongtai.match.addresses import (
    ADDRESS_FEEDS,
    COMPARE_OUTPUT,
    PARSE_OUTPUT,
    PART_COLUMNS,
    AddressMatchingConfig,
    compare_arrow_batches,
    parse_arrow_batches,
)

STANDARD_SOURCE = "address_registry"
STD = "S:"  # cluster id of a standard address
NEW = "N:"  # cluster id of a new address (the group at the centre of its star)


@dataclass(frozen=True)
class AddressMatchOutputs:
    """The tables the job publishes."""

    addresses: DataFrame
    crosswalk: DataFrame
    address_pii: DataFrame
    key_log: DataFrame
    without_address: int


def _spark_type(t: str) -> T.DataType:
    return {
        "string": T.StringType(),
        "bool": T.BooleanType(),
        "double": T.DoubleType(),
        "list<string>": T.ArrayType(T.StringType()),
    }[t]


def _schema(fields: tuple[tuple[str, str], ...]) -> T.StructType:
    return T.StructType([T.StructField(n, _spark_type(t)) for n, t in fields])


# ---------------------------------------------------------------- extract
def _col(df: DataFrame, name: str, cast: str = "string") -> Column:
    return (F.col(name) if name in df.columns else F.lit(None)).cast(cast)


def _lineage(df: DataFrame) -> list[Column]:
    return [
        _col(df, "business_date", "date").alias("business_date"),
        _col(df, "_ingested_at", "timestamp").alias("_ingested_at"),
        _col(df, "_line_number", "bigint").alias("_line_number"),
        _col(df, "updated_at", "timestamp").alias("updated_at"),
    ]


def _none(*names: str) -> list[Column]:
    return [F.lit(None).cast("string").alias(n) for n in names]


def extract_records(spark: SparkSession, paths: dict[str, list[str]]) -> DataFrame | None:
    """One row per address-bearing record and role, in one shape."""
    frames = []
    std_cols = ("std_address_id", "std_building", "std_unit", "std_room", "std_community")
    for feed, files in paths.items():
        if not files:
            continue
        df = spark.read.parquet(*files)
        if feed == "addresses":
            frames.append(
                df.select(
                    F.lit(feed).alias("feed"),
                    F.coalesce(_col(df, "_source"), F.lit(STANDARD_SOURCE)).alias("source_system"),
                    _col(df, "address_id").alias("source_record_id"),
                    F.lit("standard").alias("address_role"),
                    _col(df, "full_address").alias("address_text"),
                    _col(df, "address_id").alias("known_address_id"),
                    _col(df, "address_id").alias("std_address_id"),
                    _col(df, "building").alias("std_building"),
                    _col(df, "unit").alias("std_unit"),
                    _col(df, "room").alias("std_room"),
                    _col(df, "community_code").alias("std_community"),
                    _col(df, "grid_id").alias("std_grid"),
                    *_lineage(df),
                )
            )
            continue
        for role, text_col in ADDRESS_FEEDS[feed]:
            known = _col(df, "address_id") if feed == "population" else F.lit(None)
            frames.append(
                df.select(
                    F.lit(feed).alias("feed"),
                    _col(df, "source_system").alias("source_system"),
                    _col(df, "source_record_id").alias("source_record_id"),
                    F.lit(role).alias("address_role"),
                    _col(df, text_col).alias("address_text"),
                    known.cast("string").alias("known_address_id"),
                    *_none(*std_cols, "std_grid"),
                    *_lineage(df),
                )
            )
    if not frames:
        return None
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


# ---------------------------------------------------------------- 0. prepare and parse
def transform_latest_version(records: DataFrame) -> DataFrame:
    """Keep the latest version of each source record and role (a correction supersedes)."""
    w = Window.partitionBy("feed", "source_system", "source_record_id", "address_role").orderBy(
        F.col("business_date").desc(),
        F.col("_ingested_at").desc_nulls_last(),
        F.col("_line_number").desc_nulls_last(),
    )
    return (
        records.withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .drop("_rn")
        .withColumn(
            "rec_ref",
            F.concat_ws(":", "feed", "source_system", "source_record_id", "address_role"),
        )
    )


def transform_has_address(records: DataFrame) -> DataFrame:
    """Address-bearing rows: a standard address, or a record whose text is not blank."""
    text = F.trim(F.coalesce(F.col("address_text"), F.lit("")))
    return records.where((F.col("address_role") == "standard") | (F.length(text) > 0))


def transform_parse(
    records: DataFrame, payload: dict[str, Any], cfg: AddressMatchingConfig
) -> DataFrame:
    """Parts of every text (Gazetteer resolution and blocking keys) in an Arrow-batched UDF."""
    from zhongtai.match.addresses import PARSE_INPUT

    spark = records.sparkSession
    bc = spark.sparkContext.broadcast(payload)
    fn = parse_arrow_batches(lambda: bc.value, ("gazetteer", uuid.uuid4().hex), cfg.blocking_rules)
    parsed = records.select(*PARSE_INPUT).mapInArrow(fn, _schema(PARSE_OUTPUT))
    return records.join(parsed, "rec_ref")


# ---------------------------------------------------------------- 1. exact resolution
def transform_resolved(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(decisions of exactly resolved records, residue).

    A record resolves when its address_id (its own for a standard row, cleaning's, else the
    Gazetteer's) is a standard address of the day.
    """
    standard_ids = parsed.where(F.col("address_role") == "standard").select(
        F.col("source_record_id").alias("resolved_id")
    )
    known = parsed.join(standard_ids.distinct(), "resolved_id", "left_semi")
    rule = F.when(F.col("via") == "standard", F.lit("standard_address")).otherwise(
        F.lit("exact_resolution")
    )
    decided = known.select(
        "rec_ref",
        F.concat(F.lit(STD), "resolved_id").alias("cid"),
        F.lit("certain").alias("grade"),
        F.lit(1.0).alias("score"),
        F.to_json(
            F.struct(
                rule.alias("rule"),
                F.col("via").alias("via"),
                F.col("resolved_id").alias("address_id"),
            )
        ).alias("evidence"),
    )
    residue = parsed.join(known.select("rec_ref"), "rec_ref", "left_anti")
    return decided, residue


# ---------------------------------------------------------------- 2. residue
def transform_groups(residue: DataFrame) -> DataFrame:
    """One group per identical set of parts (identical unresolved texts are one address)."""
    return (
        residue.groupBy("ident")
        .agg(
            F.min("rec_ref").alias("first_ref"),
            F.count("*").alias("group_records"),
            *[F.first(c, ignorenulls=True).alias(c) for c in PART_COLUMNS],
            F.first("bkeys").alias("bkeys"),
        )
        .withColumn("g_ref", F.concat(F.lit("G:"), "first_ref"))
    )


def _keys(df: DataFrame, ref: str) -> DataFrame:
    return df.select(F.col(ref).alias("ref"), F.explode("bkeys").alias("bkey"))


def transform_candidates(
    groups: DataFrame, standard: DataFrame, cfg: AddressMatchingConfig
) -> DataFrame:
    """Candidate pairs: (group, standard address) and (group, group) sharing a small block."""
    gkeys = _keys(groups, "g_ref").distinct()
    skeys = _keys(standard.withColumn("s_ref", F.concat(F.lit(STD), "resolved_id")), "s_ref")
    skeys = skeys.join(gkeys.select("bkey").distinct(), "bkey", "left_semi")
    small = skeys.groupBy("bkey").count().where(F.col("count") <= cfg.max_block_size)
    skeys = skeys.join(small.select("bkey"), "bkey", "left_semi")
    to_std = (
        gkeys.alias("a")
        .join(skeys.alias("b"), "bkey")
        .select(F.col("a.ref").alias("l_ref"), F.col("b.ref").alias("r_ref"))
    )
    gsmall = gkeys.groupBy("bkey").count().where(F.col("count") <= cfg.max_block_size)
    gk = gkeys.join(gsmall.select("bkey"), "bkey", "left_semi")
    to_group = (
        gk.alias("a")
        .join(gk.alias("b"), "bkey")
        .where(F.col("a.ref") < F.col("b.ref"))
        .select(F.col("a.ref").alias("l_ref"), F.col("b.ref").alias("r_ref"))
    )
    pairs = to_std.unionByName(to_group).distinct()
    sides = groups.select(F.col("g_ref").alias("ref"), *PART_COLUMNS).unionByName(
        standard.select(F.concat(F.lit(STD), "resolved_id").alias("ref"), *PART_COLUMNS)
    )
    left = groups.select(
        F.col("g_ref").alias("l_ref"), *[F.col(c).alias(f"l_{c}") for c in PART_COLUMNS]
    )
    right = sides.select(
        F.col("ref").alias("r_ref"), *[F.col(c).alias(f"r_{c}") for c in PART_COLUMNS]
    )
    return pairs.join(left, "l_ref").join(right, "r_ref")


def transform_compare(pairs: DataFrame, cfg: AddressMatchingConfig) -> DataFrame:
    """Scores of every candidate pair (rapidfuzz in an Arrow-batched UDF)."""
    cols = ["l_ref", "r_ref"] + [f"{s}_{c}" for s in ("l", "r") for c in PART_COLUMNS]
    return pairs.select(*cols).mapInArrow(compare_arrow_batches(cfg), _schema(COMPARE_OUTPUT))


def _pair_evidence(rule: str, cfg: AddressMatchingConfig, extra: dict[str, Column]) -> Column:
    return F.to_json(
        F.struct(
            F.lit(rule).alias("rule"),
            F.lit(cfg.version).alias("config_version"),
            F.struct(
                F.col("core_level").alias("level"), F.round("core_sim", 4).alias("similarity")
            ).alias("core"),
            F.struct(F.col("bur_level").alias("level")).alias("building_unit_room"),
            F.struct(F.col("division_level").alias("level")).alias("division"),
            F.round("score", 6).alias("score"),
            *[c.alias(k) for k, c in extra.items()],
        )
    )


def transform_decide(
    compared: DataFrame, groups: DataFrame, cfg: AddressMatchingConfig
) -> DataFrame:
    """One decision per group: (g_ref, cid, grade, score, evidence).

    A group links to its best standard candidate (certain only with a margin over the
    runner-up); groups left over are new addresses, star-clustered: a group joins the
    smallest group it compares certain with, unless that group itself joined another.
    """
    from zhongtai.match.decide import DecideRules, decide_scored

    pairs = compared.withColumn("bits", F.col("score")).withColumn("probability", F.col("score"))
    d = decide_scored(
        pairs,
        groups.select(F.col("g_ref").alias("ref")),
        DecideRules(cfg.certain, cfg.possible, cfg.min_margin),
        F.col("linkable"),
        STD,
        "G:",
        carry=("core_level", "core_sim", "bur_level", "division_level"),
    ).join(groups.select(F.col("g_ref").alias("cand_ref"), "group_records"), "cand_ref", "left")
    evidence = (
        F.when(
            F.col("rule") == "scored",
            _pair_evidence(
                "scored",
                cfg,
                {
                    "address_id": F.expr(f"substring(cid, {len(STD) + 1})"),
                    "margin": F.round("margin", 6),
                },
            ),
        )
        .when(
            F.col("rule") == "new_with_residue", _pair_evidence("new_address_with_residue", cfg, {})
        )
        .otherwise(
            F.to_json(
                F.struct(
                    F.lit("new_address").alias("rule"),
                    F.lit(cfg.version).alias("config_version"),
                    F.col("group_records").alias("same_text_records"),
                )
            )
        )
    )
    cid = F.when(F.col("grade") == "new", F.concat(F.lit(NEW), "cid")).otherwise(F.col("cid"))
    return d.select(
        F.col("cand_ref").alias("g_ref"),
        cid.alias("cid"),
        "grade",
        "score",
        evidence.alias("evidence"),
    )


# ---------------------------------------------------------------- 3. stable keys
def _sha_key(prefix: str, value: Column) -> Column:
    return F.concat(F.lit("A"), F.substring(F.sha2(F.concat(F.lit(prefix), value), 256), 1, 16))


def transform_stable_keys(
    assigned: DataFrame,
    previous_pii: DataFrame | None,
    previous_xw: DataFrame | None,
    business_date: Any,
) -> tuple[DataFrame, DataFrame]:
    """address_key per cluster, reusing yesterday's keys; the key log (new, merge, split).

    A standard address's key derives from its id (see
    :func:`zhongtai.match.addresses.standard_address_key`). A new address claims the keys
    yesterday's address_pii gave its parts and yesterday's crosswalk gave its records; it
    keeps the claim by parts first, else the largest. A key claimed by several new
    addresses stays with the one holding it by parts, else the larger share. A claim not
    kept is a merge when the old key is no longer used (the records now belong to another
    address, e.g. a new address added to the standard list) and a split otherwise.
    """
    spark = assigned.sparkSession
    bd = F.lit(business_date).cast("date")
    std_id = F.expr(f"substring(cid, {len(STD) + 1})")
    first_ref = assigned.groupBy("cid").agg(
        F.min("rec_ref").alias("_first"), F.count("*").alias("records")
    )
    clusters = first_ref.withColumn(
        "_derived",
        F.when(F.col("cid").startswith(STD), _sha_key("address|standard|", std_id)).otherwise(
            _sha_key("address|new|", F.col("_first"))
        ),
    )
    claims = spark.createDataFrame([], "cid string, prev_key string, by_parts int, n long")
    if previous_pii is not None:
        idents = assigned.where(F.col("cid").startswith(NEW)).select("cid", "ident").distinct()
        claims = claims.unionByName(
            previous_pii.where(F.col("address_id").isNull())
            .select("ident", F.col("address_key").alias("prev_key"))
            .join(idents, "ident")
            .select("cid", "prev_key", F.lit(1).alias("by_parts"), F.lit(0).cast("long").alias("n"))
        )
    if previous_xw is not None:
        px = previous_xw.select(
            F.concat_ws(":", "feed", "source_system", "source_record_id", "address_role").alias(
                "rec_ref"
            ),
            F.col("address_key").alias("prev_key"),
        )
        claims = claims.unionByName(
            assigned.join(px, "rec_ref")
            .groupBy("cid", "prev_key")
            .agg(F.count("*").alias("n"))
            .select("cid", "prev_key", F.lit(0).alias("by_parts"), "n")
        )
    claims = claims.groupBy("cid", "prev_key").agg(
        F.max("by_parts").alias("by_parts"), F.sum("n").alias("n")
    )
    new_claims = claims.where(F.col("cid").startswith(NEW))
    wc = Window.partitionBy("cid").orderBy(
        F.col("by_parts").desc(), F.col("n").desc(), F.col("prev_key")
    )
    choice = new_claims.withColumn("_r", F.row_number().over(wc)).where("_r = 1")
    wk = Window.partitionBy("prev_key").orderBy(
        F.col("by_parts").desc(), F.col("n").desc(), F.col("cid")
    )
    # a standard address's key is never taken over by a new address
    std_keys = clusters.where(F.col("cid").startswith(STD)).select(
        F.col("_derived").alias("prev_key")
    )
    kept = (
        choice.join(std_keys, "prev_key", "left_anti")
        .withColumn("_k", F.row_number().over(wk))
        .where("_k = 1")
        .select("cid", F.col("prev_key").alias("_kept"))
    )
    keyed = clusters.join(kept, "cid", "left").withColumn(
        "address_key", F.coalesce("_kept", "_derived")
    )
    in_use = keyed.select(F.col("address_key").alias("prev_key")).distinct()
    moved = claims.join(keyed.select("cid", "address_key"), "cid").where(
        F.col("prev_key") != F.col("address_key")
    )
    to_std = F.col("cid").startswith(STD)
    merges = moved.join(in_use, "prev_key", "left_anti").select(
        bd.alias("business_date"),
        F.lit("merge").alias("event"),
        F.col("prev_key").alias("from_key"),
        F.col("address_key").alias("to_key"),
        F.when(to_std, F.lit("the address is now in the standard list; its key retires into it"))
        .otherwise(F.lit("records of the retired key now link to this address"))
        .alias("reason"),
        F.col("n").alias("records"),
    )
    splits = moved.join(in_use, "prev_key", "left_semi").select(
        bd.alias("business_date"),
        F.lit("split").alias("event"),
        F.col("prev_key").alias("from_key"),
        F.col("address_key").alias("to_key"),
        F.when(to_std, F.lit("records of the key now resolve to a standard address"))
        .otherwise(
            F.lit("records of the key now form another address (the key stays with the parts)")
        )
        .alias("reason"),
        F.col("n").alias("records"),
    )
    known = in_use.limit(0)
    if previous_pii is not None:
        known = previous_pii.select(F.col("address_key").alias("prev_key")).distinct()
    new = keyed.join(
        known.withColumnRenamed("prev_key", "address_key"), "address_key", "left_anti"
    ).select(
        bd.alias("business_date"),
        F.lit("new").alias("event"),
        F.lit(None).cast("string").alias("from_key"),
        F.col("address_key").alias("to_key"),
        F.when(F.col("cid").startswith(STD), F.lit("standard address first seen"))
        .otherwise(F.lit("address not in the standard list, first seen"))
        .alias("reason"),
        F.col("records"),
    )
    log = merges.unionByName(splits).unionByName(new)
    return assigned.join(keyed.select("cid", "address_key"), "cid"), log


# ---------------------------------------------------------------- 4. outputs
def transform_crosswalk(linked: DataFrame) -> DataFrame:
    """Every address-bearing record and role with its master address and the link's grade."""
    return linked.select(
        "feed",
        "source_system",
        "source_record_id",
        "address_role",
        "address_key",
        "grade",
        F.col("score").cast("double"),
        "evidence",
        "business_date",
    )


def transform_golden(linked: DataFrame) -> DataFrame:
    """Golden records: a standard address from its registry row; a new address from its most
    common parts (population first), each field with the record it came from."""
    is_std = F.col("address_role") == "standard"
    same = Window.partitionBy("address_key", "ident")
    df = linked.withColumn("_same", F.count("*").over(same))
    order = [
        is_std.desc(),
        F.col("_same").desc(),
        (F.col("feed") == "population").desc(),
        F.col("rec_ref").asc(),
    ]
    w = Window.partitionBy("address_key").orderBy(*order)
    head = df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1")
    wc = Window.partitionBy("address_key").orderBy(F.col("community_code").isNull(), *order)
    comm = (
        df.withColumn("_rn", F.row_number().over(wc))
        .where("_rn = 1")
        .select(
            "address_key",
            F.col("community_code").alias("_comm"),
            F.col("grid_id").alias("_grid"),
            F.when(F.col("community_code").isNotNull(), F.col("rec_ref")).alias("_comm_src"),
        )
    )
    agg = linked.groupBy("address_key").agg(
        F.concat_ws(
            ";", F.sort_array(F.collect_set(F.concat_ws(":", "feed", "source_system")))
        ).alias("source_systems"),
        F.count("*").alias("records"),
        F.min("business_date").alias("first_seen_date"),
        F.max("business_date").alias("last_seen_date"),
        F.max(is_std.cast("int")).alias("_has_std"),
    )
    g = head.join(comm, "address_key").join(agg, "address_key")
    std = F.col("_has_std") == 1
    sources = F.to_json(
        F.struct(
            F.col("rec_ref").alias("address"),
            F.col("_comm_src").alias("community_code"),
            F.when(F.col("_grid").isNotNull(), F.col("_comm_src")).alias("grid_id"),
        )
    )
    return g.select(
        "address_key",
        F.when(std, F.col("resolved_id")).alias("address_id"),
        F.col("_comm").alias("community_code"),
        F.col("_grid").alias("grid_id"),
        F.when(std, F.col("building")).alias("building"),
        F.when(std, F.col("unit")).alias("unit"),
        # a room is a flat: the published library names none (address_pii keeps it)
        F.lit(None).cast("string").alias("room"),
        "address_masked",
        "source_systems",
        F.col("records").cast("long"),
        "first_seen_date",
        "last_seen_date",
        sources.alias("field_sources"),
    )


def transform_address_pii(linked: DataFrame) -> DataFrame:
    """Restricted internals: per key and set of parts, the texts and parts tomorrow's run
    matches against (a new address is found again by its parts)."""
    is_std = F.col("address_role") == "standard"
    # every row of a standard address's key names it, so no new address claims that key
    std_id = F.max(F.when(is_std, F.col("resolved_id"))).over(Window.partitionBy("address_key"))
    return (
        linked.withColumn("_std_id", std_id)
        .groupBy("address_key", "ident")
        .agg(
            F.max("_std_id").alias("address_id"),
            F.first("address_norm", ignorenulls=True).alias("address_norm"),
            F.first("core", ignorenulls=True).alias("core"),
            F.first("core_norm", ignorenulls=True).alias("core_norm"),
            F.first("building", ignorenulls=True).alias("building"),
            F.first("unit", ignorenulls=True).alias("unit"),
            F.first("room", ignorenulls=True).alias("room"),
            F.first("community_code", ignorenulls=True).alias("community_code"),
            F.first("township_code", ignorenulls=True).alias("township_code"),
            F.count("*").alias("records"),
        )
    )


def transform(
    records: DataFrame,
    payload: dict[str, Any],
    previous_pii: DataFrame | None,
    previous_xw: DataFrame | None,
    cfg: AddressMatchingConfig,
    business_date: Any,
) -> AddressMatchOutputs:
    """All transformations, from the unioned records to the master tables."""
    latest = records.transform(transform_latest_version).localCheckpoint()
    bearing = latest.transform(transform_has_address)
    without = latest.count() - bearing.count()
    parsed = transform_parse(bearing, payload, cfg).localCheckpoint()
    resolved, residue = transform_resolved(parsed)
    groups = transform_groups(residue).localCheckpoint()
    standard = parsed.where(F.col("address_role") == "standard")
    compared = transform_compare(transform_candidates(groups, standard, cfg), cfg)
    decided = transform_decide(compared.localCheckpoint(), groups, cfg).localCheckpoint()
    scored = (
        residue.select("rec_ref", "ident")
        .join(groups.select("ident", "g_ref"), "ident")
        .join(decided, "g_ref")
        .select("rec_ref", "cid", "grade", "score", "evidence")
    )
    assigned = resolved.unionByName(scored).join(parsed.select("rec_ref", "ident"), "rec_ref")
    keyed, key_log = transform_stable_keys(assigned, previous_pii, previous_xw, business_date)
    linked = parsed.join(keyed.drop("ident"), "rec_ref").localCheckpoint()
    return AddressMatchOutputs(
        addresses=transform_golden(linked),
        crosswalk=transform_crosswalk(linked),
        address_pii=transform_address_pii(linked),
        key_log=key_log,
        without_address=int(without),
    )


def main(
    spark: SparkSession,
    paths: dict[str, list[str]],
    payload: dict[str, Any],
    previous_pii_files: list[str],
    previous_xw_files: list[str],
    business_date: Any,
    cfg: AddressMatchingConfig,
) -> AddressMatchOutputs:
    """Wire extract and transform; the caller (zhongtai.match.addresses) loads the outputs."""
    records = extract_records(spark, paths)
    if records is None:
        raise ZhongtaiError("no address-bearing partitions were staged; clean the feeds first")
    records = records.where(F.col("business_date") <= F.lit(business_date))
    previous = spark.read.parquet(*previous_pii_files) if previous_pii_files else None
    prev_xw = spark.read.parquet(*previous_xw_files) if previous_xw_files else None
    return transform(records, payload, previous, prev_xw, cfg, business_date)
