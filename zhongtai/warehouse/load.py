"""Load the lake into the warehouse schemas ``lake`` and ``master`` (no raw PII).

Each warehouse table is built from an explicit allow-list of columns
(pseudonyms, masked values, codes, times): a column not listed here never reaches
the warehouse, whatever the cleaning or matching steps add to their output.
Clean feeds are loaded cumulatively (every published partition with date <= D) into
``lake.*``, the inputs of the dbt marts. The master libraries' golden records and
crosswalks are loaded from the partition of D, or the latest one before it, into
``master.*``: the interface analysts and downstream apps query (issue #6). A master
dataset not published yet loads as an empty table with its declared columns.
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
MASTER_SCHEMA = "master"
#: Postgres roles granted read on ``master.*`` when they exist (infra/postgres/init.sql)
MASTER_READ_ROLES: tuple[str, ...] = ("analyst",)
#: warehouse objects of earlier releases, dropped on load so no stale copy stays queryable:
#: (kind, schema, name); staging views first, they read the tables
RETIRED_OBJECTS: tuple[tuple[str, str, str], ...] = (
    ("view", "staging", "stg_lake__persons"),
    ("view", "staging", "stg_lake__person_crosswalk"),
    ("table", LAKE_SCHEMA, "persons"),
    ("table", LAKE_SCHEMA, "person_crosswalk"),
)
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
    """How one warehouse table (``lake.*`` or ``master.*``) is built.

    Attributes:
        name: table name in ``target_schema``.
        zone: lake zone read.
        dataset: dataset in the zone.
        cumulative: True for all partitions <= D, False for the latest partition <= D.
        columns: allow-list of (warehouse column, Arrow type, source column).
        fallback_zone: zone read when ``zone`` has nothing (non-PII reference feeds).
        description: what the table holds, for tables without a data contract (master,
            ledger); a feed's table takes its description from the feed's contract.
        target_schema: warehouse schema of the table (``lake`` or ``master``).
    """

    name: str
    zone: str
    dataset: str
    cumulative: bool
    columns: tuple[tuple[str, pa.DataType, str], ...]
    fallback_zone: str | None = None
    description: str = ""
    target_schema: str = LAKE_SCHEMA

    @property
    def qualified_name(self) -> str:
        """``schema.name`` in the warehouse."""
        return f"{self.target_schema}.{self.name}"

    @property
    def schema(self) -> pa.Schema:
        """The warehouse schema of the table."""
        return pa.schema([(n, t) for n, t, _ in self.columns])


def _cols(*spec: tuple[str, pa.DataType] | tuple[str, pa.DataType, str]) -> tuple:
    return tuple((s[0], s[1], s[2] if len(s) == 3 else s[0]) for s in spec)


_ID = (("id_type", S), ("id_pseudonym", S), ("id_masked", S), ("id_status", S), ("id_valid", B))


def _crosswalk(key: str, *extra: tuple[str, pa.DataType]) -> tuple:
    """Columns of a master crosswalk: source record -> master key, with grade and evidence."""
    return _cols(
        ("feed", S),
        ("source_system", S),
        ("source_record_id", S),
        *extra,
        (key, S),
        ("grade", S),
        ("score", F),
        ("evidence", S),
        ("business_date", D),
    )


def _master(name: str, columns: tuple, description: str) -> LakeTableSpec:
    """A ``master.*`` table: the latest ``master/<name>`` partition up to the business date."""
    return LakeTableSpec(
        name, "master", name, False, columns, description=description, target_schema=MASTER_SCHEMA
    )


#: golden records' lineage columns shared by the entity and address libraries
_GOLDEN_LINEAGE = _cols(
    ("source_systems", S),
    ("records", I),
    ("first_seen_date", D),
    ("last_seen_date", D),
    ("field_sources", S),
)

#: the master libraries as published (issue #6); their *_pii and *_key_log datasets are
#: matching internals and never loaded
MASTER_TABLES: tuple[LakeTableSpec, ...] = (
    _master(
        "persons",
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
        "Master person snapshot (master/persons) as of the business date: "
        "golden records with pseudonyms and masked values.",
    ),
    _master(
        "person_crosswalk",
        _crosswalk("person_key"),
        "Every source record's master person key, match grade, score and "
        "evidence (master/person_crosswalk) as of the business date.",
    ),
    _master(
        "entities",
        _cols(
            ("entity_key", S),
            ("uscc", S),
            ("entity_name", S),
            ("entity_type", S),
            ("industry_code", S),
            ("status", S),
            ("established_date", D),
            ("legal_representative_masked", S),
            ("contact_phone_pseudonym", S),
            ("contact_phone_masked", S),
            ("registered_address_key", S),
            ("business_address_key", S),
        )
        + _GOLDEN_LINEAGE,
        "Master legal-entity snapshot (master/entities) as of the business date: golden "
        "records with the registry's public fields, masked representative and phone.",
    ),
    _master(
        "entity_crosswalk",
        _crosswalk("entity_key"),
        "Every legal_entity source record's master entity key, match grade, score and "
        "evidence (master/entity_crosswalk) as of the business date.",
    ),
    # building/unit/room identify a dwelling (as for lake.addresses): address_masked only
    _master(
        "addresses",
        _cols(
            ("address_key", S),
            ("address_id", S),
            ("community_code", S),
            ("grid_id", S),
            ("address_masked", S),
        )
        + _GOLDEN_LINEAGE,
        "Master address snapshot (master/addresses) as of the business date: golden "
        "records with community, grid and a masked display address (no address text).",
    ),
    _master(
        "address_crosswalk",
        _crosswalk("address_key", ("address_role", S)),
        "Every source record's address (standard, residence, registered, business) with its "
        "master address key, match grade, score and evidence (master/address_crosswalk) as "
        "of the business date.",
    ),
)

#: every table loaded from the lake: the master libraries, then the feeds and the ledger
LAKE_TABLES: tuple[LakeTableSpec, ...] = (
    *MASTER_TABLES,
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
        # the parts of an address that identify a dwelling, and the entity feed's address text
        "building",
        "unit",
        "room",
        "longitude",
        "latitude",
        "registered_address",
        "business_address",
    }
)


def forbidden_column(name: str, pii_columns: frozenset[str] = FORBIDDEN_COLUMNS) -> bool:
    """True when a column name is raw PII or a normalised form of it (``*_norm``)."""
    return name in pii_columns or name.endswith("_norm") or name.startswith("_raw")


def check_allow_lists(pii_columns: frozenset[str] = FORBIDDEN_COLUMNS) -> None:
    """Raise ZhongtaiError if a spec would load PII (a programming guard).

    ``name`` is allowed as a *source* column only for reference feeds without persons
    (a testing round's or a division's name), which are listed explicitly. No spec may
    read a restricted ``*_pii`` dataset, and no two specs may build the same table.
    """
    named_things = {"lake.testing_rounds", "lake.divisions"}
    seen: set[str] = set()
    for spec in LAKE_TABLES:
        if spec.qualified_name in seen:
            raise ZhongtaiError(f"{spec.qualified_name} is declared twice")
        seen.add(spec.qualified_name)
        if spec.dataset.endswith("_pii"):
            raise ZhongtaiError(f"{spec.qualified_name} would load the restricted {spec.dataset}")
        for out, _, src in spec.columns:
            for col in {out, src}:
                if col == "name" and spec.qualified_name in named_things:
                    continue
                if forbidden_column(col, pii_columns):
                    raise ZhongtaiError(f"{spec.qualified_name} would load PII column {col!r}")


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
    """Build one warehouse table from the lake as of ``business_date``.

    A dataset with no partition up to the date (not published yet, or not built by this
    deployment) gives an empty table with the declared columns, never an error.
    """
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
    """Load the lake as of ``business_date`` into the warehouse schemas ``lake`` and ``master``.

    Every table is replaced; re-running the same day gives the same tables. Tables of
    earlier releases (``RETIRED_OBJECTS``) are dropped; on Postgres the roles of
    ``MASTER_READ_ROLES`` that exist are granted read on ``master.*``.

    Args:
        settings: platform settings (lake and warehouse).
        business_date: the business date D; clean feeds <= D, master tables of D (or latest).
        run_id: the pipeline run, recorded in ``lake._load_runs``.

    Returns:
        Rows loaded per table, keyed ``schema.name`` (including ``lake.code_rules``).

    Raises:
        ZhongtaiError: when the warehouse cannot be opened or a lake partition is malformed.
    """
    check_allow_lists()
    lake = Lake(settings)
    tables = {
        (spec.target_schema, spec.name): read_lake_table(lake, spec, business_date)
        for spec in LAKE_TABLES
    }
    tables[(LAKE_SCHEMA, "code_rules")] = load_code_rules()
    counts: dict[str, int] = {}
    with connect(settings) as wh:
        for schema in dict.fromkeys(schema for schema, _ in tables):
            wh.ensure_schema(schema)
        for kind, schema, name in RETIRED_OBJECTS:
            wh.drop_if_exists(kind, schema, name)
        for (schema, name), table in tables.items():
            counts[f"{schema}.{name}"] = wh.replace_table(schema, name, table)
        for role in MASTER_READ_ROLES:
            wh.grant_read(MASTER_SCHEMA, role)
        run = pa.table(
            {
                "run_id": [run_id],
                "business_date": pa.array([business_date], D),
                "tables": [";".join(f"{k}={v}" for k, v in counts.items())],
            }
        )
        wh.replace_table(LAKE_SCHEMA, "_load_runs", run)
    log.info("loaded lake.* and master.* for %s run %s: %s", business_date, run_id, counts)
    return counts
