"""Spark job: link every person-bearing clean record to a person of the person library.

extract   — clean partitions <= D of population, nucleic_acid, vaccination and
            appeals (the latest version of each source record), and the key map
            of the previous day's master.
transform — records → person keys (exact valid ID through the keyed pseudonym;
            a record without a usable ID becomes its own person, grade ``new``),
            the crosswalk with grade, score and evidence, and golden records by
            survivorship (most trusted population source, then most recent).
load      — master/persons, master/person_crosswalk (pseudonyms only) and the
            restricted master/person_pii, published per business date.

The previous day's key map keeps ``person_key`` stable: a key once given to a
pseudonym is reused on every later day and re-run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

# feed -> (source system expression, source record id column)
PERSON_FEEDS: dict[str, tuple[str | None, str]] = {
    "population": ("source_system", "source_record_id"),
    "nucleic_acid": ("source_platform", "sample_id"),
    "vaccination": ("source_system", "record_id"),
    "appeals": (None, "appeal_id"),
}
# survivorship: lower is more trusted
SOURCE_TRUST = {"hukou": 1, "census": 2, "grid": 3, "self_report": 4}

# the columns of the clean zone the job reads (docs/ZONES.md), with their Spark types
RECORD_COLUMNS: dict[str, str] = {
    "id_type": "string", "id_pseudonym": "string", "id_masked": "string",
    "name_masked": "string", "phone_pseudonym": "string", "phone_masked": "string",
    "gender_from_id": "string", "gender": "string", "birth_date_from_id": "date",
    "birth_date": "date", "residence_status": "string", "record_status": "string",
    "community_code": "string", "address_community_code": "string", "grid_id": "string",
    "address_id": "string", "updated_at": "timestamp", "pseudonym_key_version": "string",
    "id_number_norm": "string", "name_norm": "string", "name_pinyin": "string",
    "phone_norm": "string", "business_date": "date", "_ingested_at": "timestamp",
    "_line_number": "bigint", "_delivery_id": "string",
}


@dataclass(frozen=True)
class MatchOutputs:
    """The three tables the job publishes."""

    persons: DataFrame
    crosswalk: DataFrame
    person_pii: DataFrame


def _col_or_null(df: DataFrame, name: str) -> Column:
    return F.col(name) if name in df.columns else F.lit(None)


def extract_records(spark: SparkSession, paths: dict[str, list[str]]) -> DataFrame | None:
    """Union the clean records of every person-bearing feed into one shape."""
    frames = []
    for feed, files in paths.items():
        if not files:
            continue
        df = spark.read.parquet(*files)
        src_col, rec_col = PERSON_FEEDS[feed]
        source = F.col(src_col) if src_col else F.lit("health_code_service")
        frames.append(
            df.select(
                F.lit(feed).alias("feed"),
                source.cast("string").alias("source_system"),
                F.col(rec_col).cast("string").alias("source_record_id"),
                *[_col_or_null(df, c).cast(t).alias(c) for c, t in RECORD_COLUMNS.items()],
            )
        )
    if not frames:
        return None
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f, allowMissingColumns=True)
    return out


def transform_latest_version(records: DataFrame) -> DataFrame:
    """Keep the latest version of each source record (a correction supersedes the original)."""
    w = Window.partitionBy("feed", "source_system", "source_record_id").orderBy(
        F.col("business_date").desc(), F.col("_ingested_at").desc_nulls_last(),
        F.col("_line_number").desc_nulls_last(),
    )
    return records.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")


def transform_assign_keys(records: DataFrame, previous_keys: DataFrame | None) -> DataFrame:
    """Give each record a person_key, a grade, a score and the evidence of its link."""
    derived = F.concat(
        F.lit("P"), F.substring(F.sha2(F.concat(F.lit("person|"), F.col("id_pseudonym")), 256), 1, 16)
    )
    singleton = F.concat(
        F.lit("R"),
        F.substring(
            F.sha2(F.concat_ws("|", F.lit("record"), "feed", "source_system", "source_record_id"), 256),
            1, 16,
        ),
    )
    df = records
    if previous_keys is not None:
        df = df.join(
            previous_keys.select("id_pseudonym", F.col("person_key").alias("_prev_key")),
            on="id_pseudonym", how="left",
        )
    else:
        df = df.withColumn("_prev_key", F.lit(None).cast("string"))
    has_id = F.col("id_pseudonym").isNotNull()
    return (
        df.withColumn(
            "person_key", F.when(has_id, F.coalesce("_prev_key", derived)).otherwise(singleton)
        )
        .withColumn("grade", F.when(has_id, F.lit("certain")).otherwise(F.lit("new")))
        .withColumn("score", F.when(has_id, F.lit(1.0)).otherwise(F.lit(0.0)))
        .withColumn(
            "evidence",
            F.when(
                has_id,
                F.to_json(F.struct(
                    F.lit("exact_valid_id").alias("rule"),
                    F.struct(F.lit(1.0).alias("id_pseudonym")).alias("similarities"),
                )),
            ).otherwise(F.to_json(F.struct(F.lit("no_usable_id").alias("rule")))),
        )
        .drop("_prev_key")
    )


def transform_crosswalk(linked: DataFrame) -> DataFrame:
    """The crosswalk: every source record with its person and the grade of the link."""
    return linked.select(
        "feed", "source_system", "source_record_id", "person_key", "grade",
        F.col("score").cast("double"), "evidence", "business_date",
    )


def transform_golden(linked: DataFrame) -> DataFrame:
    """Golden records: population fields from the most trusted, most recent record."""
    trust = F.coalesce(
        F.element_at(F.create_map(*[x for k, v in SOURCE_TRUST.items() for x in (F.lit(k), F.lit(v))]),
                     F.col("source_system")),
        F.lit(9),
    )
    ranked = linked.withColumn(
        "_trust", F.when(F.col("feed") == "population", trust).otherwise(F.lit(99))
    )
    w = Window.partitionBy("person_key").orderBy(
        F.col("_trust").asc(), F.col("updated_at").desc_nulls_last(),
        F.col("business_date").desc(), F.col("_ingested_at").desc_nulls_last(),
    )
    best = ranked.withColumn("_rn", F.row_number().over(w)).where("_rn = 1")
    agg = linked.groupBy("person_key").agg(
        F.max(F.when(F.col("feed") == "population", 1).otherwise(0)).alias("_has_pop"),
        F.concat_ws(";", F.sort_array(F.collect_set(F.concat_ws(":", "feed", "source_system")))).alias(
            "source_systems"
        ),
        F.min("business_date").alias("first_seen_date"),
        F.max("business_date").alias("last_seen_date"),
        F.first("id_pseudonym", ignorenulls=True).alias("_any_id_pseudonym"),
        F.first("id_masked", ignorenulls=True).alias("_any_id_masked"),
        F.first("phone_pseudonym", ignorenulls=True).alias("_any_phone_pseudonym"),
        F.first("phone_masked", ignorenulls=True).alias("_any_phone_masked"),
        F.first("name_masked", ignorenulls=True).alias("_any_name_masked"),
    )
    g = best.join(agg, "person_key")
    has_pop = F.col("_has_pop") == 1
    status = F.coalesce(F.col("record_status"), F.lit("active"))
    return g.select(
        "person_key",
        F.coalesce("id_type", F.lit("resident_id")).alias("id_type"),
        F.coalesce("id_pseudonym", "_any_id_pseudonym").alias("id_pseudonym"),
        F.coalesce("id_masked", "_any_id_masked").alias("id_masked"),
        F.coalesce("name_masked", "_any_name_masked").alias("name_masked"),
        F.coalesce("gender_from_id", "gender").alias("gender"),
        F.year(F.coalesce("birth_date_from_id", "birth_date")).alias("birth_year"),
        F.coalesce("phone_pseudonym", "_any_phone_pseudonym").alias("phone_pseudonym"),
        F.coalesce("phone_masked", "_any_phone_masked").alias("phone_masked"),
        F.when(has_pop, F.col("residence_status")).alias("residence_status"),
        F.when(has_pop, status).alias("record_status"),
        has_pop.alias("has_population_record"),
        (has_pop & (status == "active")).alias("is_resident"),
        F.when(has_pop, F.coalesce("address_community_code", "community_code")).alias(
            "community_code"
        ),
        F.when(has_pop, F.col("grid_id")).alias("grid_id"),
        F.when(has_pop, F.col("address_id")).alias("address_id"),
        "source_systems",
        "first_seen_date",
        "last_seen_date",
        "pseudonym_key_version",
    )


def transform_person_pii(linked: DataFrame) -> DataFrame:
    """Restricted matching internals: the key map from pseudonym to person, with identity fields."""
    return (
        linked.where(F.col("id_pseudonym").isNotNull())
        .groupBy("person_key", "id_pseudonym")
        .agg(
            F.first("id_number_norm", ignorenulls=True).alias("id_number_norm"),
            F.first("name_norm", ignorenulls=True).alias("name_norm"),
            F.first("name_pinyin", ignorenulls=True).alias("name_pinyin"),
            F.first("phone_norm", ignorenulls=True).alias("phone_norm"),
        )
    )


def transform(records: DataFrame, previous_keys: DataFrame | None) -> MatchOutputs:
    """All transformations, from unioned clean records to the three master tables."""
    linked = records.transform(transform_latest_version).transform(
        lambda df: transform_assign_keys(df, previous_keys)
    ).cache()
    return MatchOutputs(
        persons=transform_golden(linked),
        crosswalk=transform_crosswalk(linked),
        person_pii=transform_person_pii(linked),
    )


def main(
    spark: SparkSession,
    paths: dict[str, list[str]],
    previous_pii_files: list[str],
    business_date: dt.date,
) -> MatchOutputs | None:
    """Wire extract and transform; the caller (zhongtai.match) loads the outputs."""
    records = extract_records(spark, paths)
    if records is None:
        return None
    records = records.where(F.col("business_date") <= F.lit(business_date))
    previous = spark.read.parquet(*previous_pii_files) if previous_pii_files else None
    return transform(records, previous)
