"""Spark job: raw → clean for one feed and business date.

extract (raw Parquet) → transform_rules (every row rule of ``zhongtai.clean`` once
per Arrow batch, in ``mapInArrow``) → transform_phone_shared →
transform_business_date → transform_nucleic_acid_dates → load (Parquet in a
local staging folder). ``main`` only wires them; the library entry point is
``zhongtai.clean.clean_feed``, which loads this file with
``zhongtai.spark.jobs.load_job("clean")``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from zhongtai.clean.batch import CleanContext

PHONE_SHARED_THRESHOLD = 3
"""A phone is shared when more than this many distinct persons give it in one batch."""


def extract(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Read the raw partition's Parquet files."""
    return spark.read.parquet(*paths)


def transform_rules(df: DataFrame, ctx: CleanContext) -> DataFrame:
    """Apply all row rules of the feed in one Arrow-batched pass (``mapInArrow``)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    from zhongtai.clean.columns import output_schema

    in_schema = pa.schema([pa.field(f.name, _arrow_type(f.dataType)) for f in df.schema.fields])
    out_schema = output_schema(in_schema, ctx.feed)
    spark = df.sparkSession
    bc = spark.sparkContext.broadcast(ctx)
    # A delivery is often one file written as one Parquet row group: Spark then reads it in
    # one task, however many splits it plans (the other splits hold no row group), and the
    # rules ran on one core (population of 1M persons: one core for most of an hour). The
    # rules cost far more than a round-robin shuffle of the raw rows, so always spread them.
    df = df.repartition(2 * spark.sparkContext.defaultParallelism)

    def run(batches):  # type: ignore[no-untyped-def]
        # Runs on the workers: only package code is referenced, so it pickles by name.
        from zhongtai.clean.batch import clean_batches

        yield from clean_batches(batches, bc.value)

    return df.mapInArrow(run, from_arrow_schema(out_schema))


def _arrow_type(spark_type):  # type: ignore[no-untyped-def]
    from pyspark.sql.pandas.types import to_arrow_type

    return to_arrow_type(spark_type, timezone="UTC")


EXCEL_ZEROS = "id_number:excel_trailing_zeros"
POSSIBLE_EXCEL = "id_number:possible_excel_trailing_zeros"
EXCEL_EVIDENCE_SHARE = 0.01
"""Share of detected trailing-zero damage in a file that makes a valid ``…000`` ID damage."""


def transform_excel_evidence(df: DataFrame, min_share: float = EXCEL_EVIDENCE_SHARE) -> DataFrame:
    """Decide valid-looking IDs ending in ``000`` by the Excel damage seen in their file.

    A genuine ID ends in ``000`` with a correct check digit once in 1,100 (sequence
    ``x00``, check ``0``); an Excel-damaged one passes the check once in 11. The row
    alone cannot tell them apart, the file can: damage is detected (check fails) in
    10 of 11 damaged rows, so when more than ``min_share`` (1 %) of a file's rows show
    it, a ``…000`` row is more likely damage than a genuine number and is classified
    ``excel_damaged`` (usable fields cleared). Otherwise it stays valid and keeps its
    ``possible_excel_trailing_zeros`` flag for a human to look at.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if "id_status" not in df.columns:
        return df
    group = [F.col("_source_file")] if "_source_file" in df.columns else [F.lit(1)]
    zeros_here = F.array_contains("_flags", EXCEL_ZEROS).cast("double")
    file_share = F.avg(zeros_here).over(Window.partitionBy(*group))
    hit = F.array_contains("_flags", POSSIBLE_EXCEL) & (file_share > F.lit(min_share))
    cleared = {
        c: F.when(hit, F.lit(None)).otherwise(F.col(c))
        for c in (
            "id_number_norm",
            "id_pseudonym",
            "id_masked",
            "birth_date_from_id",
            "gender_from_id",
            "birth_date_conflict",
            "gender_conflict",
        )
    }
    return df.withColumns(
        {
            **cleared,
            "id_status": F.when(hit, F.lit("excel_damaged")).otherwise(F.col("id_status")),
            "id_valid": F.when(hit, F.lit(False)).otherwise(F.col("id_valid")),
            "_flags": F.when(
                hit,
                F.transform(
                    "_flags",
                    lambda f: F.when(f == POSSIBLE_EXCEL, F.lit(EXCEL_ZEROS)).otherwise(f),
                ),
            ).otherwise(F.col("_flags")),
        }
    )


def transform_phone_shared(df: DataFrame, threshold: int = PHONE_SHARED_THRESHOLD) -> DataFrame:
    """Mark phones given by more than ``threshold`` distinct persons in the batch."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if "phone_norm" not in df.columns:
        return df
    # A window (not a join back) so the row rules upstream run once, not twice.
    persons = F.size(F.collect_set("id_pseudonym").over(Window.partitionBy("phone_norm")))
    return df.withColumn(
        "phone_shared", F.col("phone_norm").isNotNull() & (persons > F.lit(threshold))
    )


def transform_business_date(df: DataFrame, business_date: dt.date) -> DataFrame:
    """``business_date``: the delivery's business date from lineage, else the partition's."""
    from pyspark.sql import functions as F

    given = F.col("_business_date") if "_business_date" in df.columns else F.lit(None)
    return df.withColumn("business_date", F.coalesce(given, F.lit(business_date)).cast("date"))


def transform_nucleic_acid_dates(
    df: DataFrame, timezone: str, district_prefixes: list[str]
) -> DataFrame:
    """``sample_date``/``result_date`` in the business time zone and ``site_in_district``.

    Args:
        df: nucleic_acid rows.
        timezone: the business time zone (Asia/Shanghai).
        district_prefixes: significant code prefixes of the district's county-level
            divisions; empty when the divisions feed is missing (then null).
    """
    from pyspark.sql import functions as F

    def local_date(col: str):  # type: ignore[no-untyped-def]
        return F.to_date(F.from_utc_timestamp(F.col(col), timezone))

    site = F.col("site_division_code")
    if district_prefixes:
        inside = F.lit(False)
        for p in district_prefixes:
            inside = inside | site.startswith(p)
        in_district = F.when(site.isNull(), F.lit(None).cast("boolean")).otherwise(inside)
    else:
        in_district = F.lit(None).cast("boolean")
    return (
        df.withColumn("sample_date", local_date("sampled_at"))
        .withColumn("result_date", local_date("tested_at"))
        .withColumn("site_in_district", in_district)
    )


def transform(
    df: DataFrame,
    ctx: CleanContext,
    timezone: str = "Asia/Shanghai",
    district_prefixes: list[str] | None = None,
) -> DataFrame:
    """The whole cleaning of one feed, as a chain of pure steps."""
    from zhongtai.clean.columns import PERSON_FEEDS

    out = df.transform(transform_rules, ctx)
    if ctx.feed in PERSON_FEEDS:
        out = out.transform(transform_excel_evidence).transform(transform_phone_shared)
    out = out.transform(transform_business_date, ctx.business_date)
    if ctx.feed == "nucleic_acid":
        out = out.transform(transform_nucleic_acid_dates, timezone, district_prefixes or [])
    return out


def load(df: DataFrame, out_dir: Path) -> None:
    """Write the clean rows as Parquet files into a local folder."""
    # Store timestamps as timestamp[us, UTC] (docs/ZONES.md), not Spark's legacy INT96.
    df.sparkSession.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    df.write.mode("overwrite").parquet(str(out_dir))


def main(argv: list[str] | None = None) -> None:
    """``python spark_jobs/clean.py FEED YYYY-MM-DD RUN_ID``: clean one partition."""
    from zhongtai.clean import clean_feed
    from zhongtai.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("feed")
    ap.add_argument("date", type=dt.date.fromisoformat)
    ap.add_argument("run_id")
    a = ap.parse_args(argv)
    print(clean_feed(Settings.from_env(), a.feed, a.date, a.run_id).summary())


if __name__ == "__main__":
    main()
