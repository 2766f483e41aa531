"""Load the lake into the warehouse schema ``lake`` (no raw PII).

Each ``lake.*`` table is built from an explicit allow-list of columns
(pseudonyms, masked values, codes, times): a column not listed here never reaches
the warehouse, whatever the cleaning or matching steps add to their output.
Clean feeds are loaded cumulatively (every published partition with date <= D);
master tables from the partition of D, or the latest one before it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.store import Lake
from zhongtai.settings import Settings
from zhongtai.warehouse.code_rules import load_code_rules
from zhongtai.warehouse.connect import connect

log = logging.getLogger(__name__)

LAKE_SCHEMA = "lake"
S = pa.string()
I = pa.int64()  # noqa: E741
F = pa.float64()
B = pa.bool_()
D = pa.date32()
TS = pa.timestamp("us", tz="UTC")

#: lineage columns of clean partitions, renamed on the way in
_LINEAGE = [("delivery_id", S, "_delivery_id"), ("ingested_at", TS, "_ingested_at")]


@dataclass(frozen=True)
class LakeTableSpec:
    """How one ``lake.*`` table is built.

    Attributes:
        name: table name in schema ``lake``.
        zone: lake zone read.
        dataset: dataset in the zone.
        cumulative: True for all partitions <= D, False for the latest partition <= D.
        columns: allow-list of (warehouse column, Arrow type, source column).
        fallback_zone: zone read when ``zone`` has nothing (non-PII reference feeds).
        description: what the table holds, for tables without a data contract (master,
            ledger); a feed's table takes its description from the feed's contract.
    """

    name: str
    zone: str
    dataset: str
    cumulative: bool
    columns: tuple[tuple[str, pa.DataType, str], ...]
    fallback_zone: str | None = None
    description: str = ""

    @property
    def schema(self) -> pa.Schema:
        """The warehouse schema of the table."""
        return pa.schema([(n, t) for n, t, _ in self.columns])


def _cols(*spec: tuple[str, pa.DataType] | tuple[str, pa.DataType, str]) -> tuple:
    return tuple((s[0], s[1], s[2] if len(s) == 3 else s[0]) for s in spec)


_ID = (("id_type", S), ("id_pseudonym", S), ("id_masked", S), ("id_status", S), ("id_valid", B))

LAKE_TABLES: tuple[LakeTableSpec, ...] = (
    LakeTableSpec(
        "persons",
        "master",
        "persons",
        False,
        _cols(
            ("person_key", S),
            ("id_type", S),
            ("id_pseudonym", S),
            ("id_masked", S),
            ("name_masked", S),
            ("gender", S),
            ("birth_year", I),
            ("phone_pseudonym", S),
            ("phone_masked", S),
            ("residence_status", S),
            ("record_status", S),
            ("has_population_record", B),
            ("is_resident", B),
            ("community_code", S),
            ("grid_id", S),
            ("address_id", S),
            ("source_systems", S),
            ("first_seen_date", D),
            ("last_seen_date", D),
            ("pseudonym_key_version", S),
        ),
        description="Master person snapshot (master/persons) as of the business date: "
        "golden records with pseudonyms and masked values.",
    ),
    LakeTableSpec(
        "person_crosswalk",
        "master",
        "person_crosswalk",
        False,
        _cols(
            ("feed", S),
            ("source_system", S),
            ("source_record_id", S),
            ("person_key", S),
            ("grade", S),
            ("score", F),
            ("evidence", S),
            ("business_date", D),
        ),
        description="Every source record's master person key, match grade, score and "
        "evidence (master/person_crosswalk) as of the business date.",
    ),
    LakeTableSpec(
        "nucleic_acid_tests",
        "clean",
        "nucleic_acid",
        True,
        _cols(
            ("source_platform", S),
            ("sample_id", S),
            ("tube_id", S),
            ("pool_size", I),
            *_ID,
            ("birth_date_conflict", B),
            ("gender_conflict", B),
            ("sampled_at", TS),
            ("sampling_site", S),
            ("site_division_code", S),
            ("tested_at", TS),
            ("result", S),
            ("lab_name", S),
            ("sample_date", D),
            ("result_date", D),
            ("site_in_district", B),
            ("business_date", D),
            *_LINEAGE,
        ),
    ),
    LakeTableSpec(
        "vaccinations",
        "clean",
        "vaccination",
        True,
        _cols(
            ("source_system", S),
            ("record_id", S),
            *_ID,
            ("dose_number", I),
            ("vaccine_product", S),
            ("manufacturer", S),
            ("batch_no", S),
            ("vaccinated_at", TS),
            ("site_name", S),
            ("site_division_code", S),
            ("business_date", D),
            *_LINEAGE,
        ),
    ),
    LakeTableSpec(
        "appeals",
        "clean",
        "appeals",
        True,
        _cols(
            ("appeal_id", S),
            *_ID,
            ("reason", S),
            ("submitted_at", TS),
            ("decision", S),
            ("decided_at", TS),
            ("decided_by", S),
            ("business_date", D),
            *_LINEAGE,
        ),
    ),
    LakeTableSpec(
        "testing_rounds",
        "clean",
        "testing_rounds",
        True,
        _cols(
            ("round_id", S),
            ("name", S),
            ("starts_at", TS),
            ("ends_at", TS),
            ("scope", S),
            ("business_date", D),
            *_LINEAGE,
        ),
        fallback_zone="raw",
    ),
    LakeTableSpec(
        "divisions",
        "clean",
        "divisions",
        True,
        _cols(
            ("division_code", S),
            ("name", S),
            ("level", S),
            ("parent_code", S),
            ("valid_from", D),
            ("valid_to", D),
            ("business_date", D),
            *_LINEAGE,
        ),
        fallback_zone="raw",
    ),
    LakeTableSpec(
        "grids",
        "clean",
        "grids",
        True,
        _cols(
            ("grid_id", S),
            ("community_code", S),
            ("grid_name", S),
            ("grid_worker_id", S),
            ("business_date", D),
            *_LINEAGE,
        ),
        fallback_zone="raw",
    ),
    # full_address, building/unit/room and coordinates identify a dwelling: not loaded
    LakeTableSpec(
        "addresses",
        "clean",
        "addresses",
        True,
        _cols(
            ("address_id", S),
            ("community_code", S),
            ("grid_id", S),
            ("business_date", D),
            *_LINEAGE,
        ),
        fallback_zone="raw",
    ),
    LakeTableSpec(
        "deliveries",
        "ledger",
        "deliveries_*",  # one ledger dataset per feed (feeds ingest in parallel)
        True,
        _cols(
            ("delivery_id", S),
            ("feed", S),
            ("source", S),
            ("business_date", D),
            ("file", S),
            ("file_sha256", S),
            ("size_bytes", I),
            ("format", S),
            ("encoding", S),
            ("status", S),
            ("rows_in", I),
            ("rows_loaded", I),
            ("rows_quarantined", I),
            ("rows_duplicate", I),
            ("message", S),
            ("ingested_at", TS),
        ),
        description="The delivery ledger (ledger/deliveries): one row per delivery with its "
        "row conservation counts, every partition up to the business date.",
    ),
)

#: column names that must never be loaded, whatever a spec says
FORBIDDEN_COLUMNS = frozenset(
    {
        "id_number",
        "name",
        "phone",
        "address",
        "birth_date",
        "legal_representative",
        "contact_phone",
        "full_address",
        "raw_record",
        "name_pinyin",
    }
)


def forbidden_column(name: str, pii_columns: frozenset[str] = FORBIDDEN_COLUMNS) -> bool:
    """True when a column name is raw PII or a normalised form of it (``*_norm``)."""
    return name in pii_columns or name.endswith("_norm") or name.startswith("_raw")


def check_allow_lists(pii_columns: frozenset[str] = FORBIDDEN_COLUMNS) -> None:
    """Raise ZhongtaiError if an allow-list source column is PII (a programming guard).

    ``name`` is allowed as a *source* column only for reference feeds without persons
    (a testing round's or a division's name), which are listed explicitly.
    """
    named_things = {"testing_rounds", "divisions"}
    for spec in LAKE_TABLES:
        for out, _, src in spec.columns:
            for col in {out, src}:
                if col == "name" and spec.name in named_things:
                    continue
                if forbidden_column(col, pii_columns):
                    raise ZhongtaiError(f"lake.{spec.name} would load PII column {col!r}")


def _conform(spec: LakeTableSpec, table: pa.Table, partition_date: str) -> pa.Table:
    """Select and cast the allow-listed columns; missing optional columns become null."""
    arrays = []
    n = table.num_rows
    names = set(table.column_names)
    for _, typ, src in spec.columns:
        if src not in names and src == "business_date" and "_business_date" in names:
            src = "_business_date"
        if src in names:
            col = table.column(src)
            if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                col = pc.binary_join(col, ";")
            if pa.types.is_timestamp(col.type) and col.type.tz is None:
                col = pc.assume_timezone(col, "UTC")
            try:
                col = col.cast(typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise ZhongtaiError(
                    f"{spec.zone}/{spec.dataset} date={partition_date}: column {src} cannot be "
                    f"read as {typ}; re-run the step that publishes it"
                ) from None
        elif src == "business_date":
            col = pa.array([dt.date.fromisoformat(partition_date)] * n, D)
        else:
            col = pa.nulls(n, typ)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=spec.schema)


def read_lake_table(lake: Lake, spec: LakeTableSpec, business_date: dt.date) -> pa.Table:
    """Build one ``lake.*`` table from the lake as of ``business_date``."""
    day = business_date.isoformat()
    parts = []
    datasets = (
        [ds for ds in lake.list_dirs(spec.zone) if fnmatch.fnmatchcase(ds, spec.dataset)]
        if "*" in spec.dataset
        else [spec.dataset]
    )
    for dataset in datasets:
        zone = spec.zone
        dates = [d for d in lake.dates(zone, dataset) if d <= day]
        if not dates and spec.fallback_zone:
            zone = spec.fallback_zone
            dates = [d for d in lake.dates(zone, dataset) if d <= day]
        if not spec.cumulative:
            dates = dates[-1:]
        for d in dates:
            t = lake.read_table(zone, dataset, d)
            if t is not None:
                parts.append(_conform(spec, t, d))
    if not parts:
        return spec.schema.empty_table()
    return pa.concat_tables(parts)


def load_warehouse(settings: Settings, business_date: dt.date, run_id: str) -> dict[str, int]:
    """Load the lake as of ``business_date`` into the warehouse schema ``lake``.

    Every table is replaced; re-running the same day gives the same tables.

    Args:
        settings: platform settings (lake and warehouse).
        business_date: the business date D; clean feeds <= D, master tables of D (or latest).
        run_id: the pipeline run, recorded in ``lake._load_runs``.

    Returns:
        Rows loaded per ``lake.*`` table (including ``code_rules``).

    Raises:
        ZhongtaiError: when the warehouse cannot be opened or a lake partition is malformed.
    """
    check_allow_lists()
    lake = Lake(settings)
    tables = {spec.name: read_lake_table(lake, spec, business_date) for spec in LAKE_TABLES}
    tables["code_rules"] = load_code_rules()
    counts: dict[str, int] = {}
    with connect(settings) as wh:
        wh.ensure_schema(LAKE_SCHEMA)
        for name, table in tables.items():
            counts[name] = wh.replace_table(LAKE_SCHEMA, name, table)
        run = pa.table(
            {
                "run_id": [run_id],
                "business_date": pa.array([business_date], D),
                "tables": [";".join(f"{k}={v}" for k, v in counts.items())],
            }
        )
        wh.replace_table(LAKE_SCHEMA, "_load_runs", run)
    log.info("loaded lake.* for %s run %s: %s", business_date, run_id, counts)
    return counts
