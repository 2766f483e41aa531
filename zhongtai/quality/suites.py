"""Great Expectations suites built from the data contracts, one per feed and zone.

Nothing here is typed twice: the columns, required flags, allowed values,
patterns, minimums and keys all come from ``data_contracts/<feed>.odcs.yaml``
through :func:`zhongtai.contracts.load_contract`; the zone adds what the zone
promises (lineage columns in raw; pseudonyms, masks and normalised IDs in
clean, see ``docs/ZONES.md``).

Severity follows what the zone guarantees. Ingestion enforces required
columns and maps enums, so those are ``critical`` and a failure stops the
pipeline. Raw keeps strings verbatim, dirt and all, so a contract pattern or
minimum is a ``warning``: it is measured and reported, never blocking. The
empty-partition check takes its severity from the contract's ``rowCount`` rule.

Every expectation carries ``meta.rule`` (a short rule name) and
``meta.columns`` so reports can name a failure without quoting any value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from zhongtai.clean.columns import PERSON_FEEDS
from zhongtai.clean.resident_ids import ID_STATUSES
from zhongtai.contracts import Contract, load_contract
from zhongtai.errors import ZhongtaiError

if TYPE_CHECKING:
    import great_expectations as gx

VALIDATED_ZONES = ("raw", "clean")

RAW_LINEAGE_COLUMNS = (
    "_delivery_id",
    "_source",
    "_source_file",
    "_file_sha256",
    "_line_number",
    "_ingested_at",
    "_business_date",
    "_issues",
)
REQUIRED_LINEAGE = (
    "_delivery_id",
    "_source",
    "_source_file",
    "_file_sha256",
    "_line_number",
    "_business_date",
)
ROW_IDENTITY = ("_delivery_id", "_line_number")

USABLE_ID_STATUSES = ("valid", "repaired", "upgraded_15")
PHONE_KINDS = ("mobile", "landline", "invalid", "missing")
CLEAN_PERSON_COLUMNS = (
    "id_type",
    "id_number_norm",
    "id_status",
    "id_valid",
    "id_pseudonym",
    "id_masked",
    "name_norm",
    "name_pinyin",
    "name_masked",
    "phone_norm",
    "phone_kind",
    "phone_pseudonym",
    "phone_masked",
    "phone_shared",
    "birth_date_from_id",
    "gender_from_id",
    "birth_date_conflict",
    "gender_conflict",
    "pseudonym_key_version",
)
CLEAN_FEED_COLUMNS: dict[str, tuple[str, ...]] = {
    "population": ("address_norm", "address_id", "address_community_code", "grid_id"),
    "nucleic_acid": ("sample_date", "result_date", "site_in_district"),
    # Not in docs/ZONES.md yet; the columns zhongtai/clean/columns.py adds.
    "legal_entity": (
        "uscc_norm",
        "uscc_status",
        "uscc_valid",
        "entity_name_norm",
        "legal_representative_norm",
        "legal_representative_masked",
        "contact_phone_norm",
        "contact_phone_kind",
        "contact_phone_pseudonym",
        "contact_phone_masked",
        "pseudonym_key_version",
    ),
}
CLEAN_COMMON_COLUMNS = ("business_date", "_repairs", "_flags")

# A keyed HMAC-SHA-256 in hex: anything else (a raw ID, a plain digest in
# upper case, a truncated value) must not be published as a pseudonym.
PSEUDONYM_PATTERN = r"^[0-9a-f]{64}$"
# 110105********002X: at most 6 visible characters, stars, at most 4 visible.
ID_MASK_PATTERN = r"^[^*]{0,6}\*+[^*]{0,4}$"
# 138****5678 (mobiles), 010-****5678 (landlines), ****5678 (others): the
# shapes of zhongtai.privacy.masking.mask_phone.
PHONE_MASK_PATTERN = r"^(?:[0-9]{3}|[0-9]{3,4}-)?\*+[0-9]{0,4}$"
# 张*, 李**: one visible character, the rest stars (mask_name keeps a
# one-character name as it is).
NAME_MASK_PATTERN = r"^(?:[^*]\**|\*+)$"

CRITICAL = "critical"
WARNING = "warning"


def suite_name(zone: str, feed: str) -> str:
    """The suite name of a feed in a zone, e.g. ``raw_nucleic_acid``."""
    return f"{zone}_{feed}"


def _check_zone(zone: str) -> None:
    if zone not in VALIDATED_ZONES:
        raise ZhongtaiError(
            f"zone {zone!r} has no expectation suite; validate one of: {', '.join(VALIDATED_ZONES)}"
        )


def _table_rule(contract: Contract, metric: str) -> dict[str, Any] | None:
    schema = (contract.document.get("schema") or [{}])[0]
    for rule in schema.get("quality") or []:
        if rule.get("metric") == metric:
            return dict(rule)
    return None


def _severity(odcs: str | None, default: str) -> str:
    if odcs is None:
        return default
    return WARNING if str(odcs).lower() in ("warning", "info") else CRITICAL


def expected_columns(zone: str, feed: str) -> list[str]:
    """Every column the zone promises for ``feed``, in a stable order."""
    _check_zone(zone)
    contract = load_contract(feed)
    cols = [*contract.column_names, *RAW_LINEAGE_COLUMNS]
    if zone == "clean":
        if feed in PERSON_FEEDS:
            cols += CLEAN_PERSON_COLUMNS
        cols += CLEAN_FEED_COLUMNS.get(feed, ())
        cols += CLEAN_COMMON_COLUMNS
    return list(dict.fromkeys(cols))


def build_suite(feed: str, zone: str) -> gx.ExpectationSuite:
    """Build the GX suite of ``feed`` in ``zone`` from the feed's contract.

    Args:
        feed: a contract id, e.g. ``nucleic_acid``.
        zone: ``raw`` or ``clean``.

    Returns:
        An unsaved ``gx.ExpectationSuite`` named ``<zone>_<feed>``.

    Raises:
        ZhongtaiError: unknown zone; ContractError for an unknown feed.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity
    from great_expectations.expectations.row_conditions import Column as Col

    from zhongtai.quality.resident_id_expectation import ExpectColumnValuesToBeValidResidentId

    _check_zone(zone)
    contract = load_contract(feed)
    origin = f"contract {contract.feed} {contract.version}"
    expectations: list[Any] = []

    def add(exp: Any, rule: str, columns: Iterable[str], severity: str, why: str) -> None:
        exp.severity = FailureSeverity(severity)
        exp.meta = {"rule": rule, "columns": list(columns), "origin": origin}
        exp.notes = why
        expectations.append(exp)

    # Columns exist: contract, lineage and what the zone adds.
    for col in expected_columns(zone, feed):
        add(
            gxe.ExpectColumnToExist(column=col),
            "column_exists",
            [col],
            CRITICAL,
            "the zone promises this column",
        )

    # Partition not empty: severity from the contract's rowCount rule.
    rc = _table_rule(contract, "rowCount")
    if rc is not None:
        min_rows = int(rc.get("mustBeGreaterThan", 0)) + 1
        add(
            gxe.ExpectTableRowCountToBeBetween(min_value=min_rows),
            "row_count",
            [],
            _severity(rc.get("severity"), WARNING),
            rc.get("description") or "rows expected",
        )

    for c in contract.columns:
        if c.required:
            add(
                gxe.ExpectColumnValuesToNotBeNull(column=c.name),
                "required",
                [c.name],
                CRITICAL,
                "required by the contract; ingestion quarantines rows without it",
            )
        if c.allowed_values:
            add(
                gxe.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.allowed_values)),
                "allowed_values",
                [c.name],
                CRITICAL,
                "enum of the contract; ingestion maps synonyms to these values",
            )
        if c.pattern and c.logical_type == "string":
            add(
                gxe.ExpectColumnValuesToMatchRegex(column=c.name, regex=c.pattern),
                "pattern",
                [c.name],
                WARNING,
                "pattern of the contract; raw keeps strings as delivered",
            )
        if c.minimum is not None and c.logical_type in ("integer", "number"):
            add(
                gxe.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.minimum),
                "minimum",
                [c.name],
                WARNING,
                "minimum of the contract",
            )

    for col in REQUIRED_LINEAGE:
        add(
            gxe.ExpectColumnValuesToNotBeNull(column=col),
            "lineage",
            [col],
            CRITICAL,
            "every raw row carries its lineage",
        )

    # The business key may repeat within a day (a record re-sent with a
    # correction is kept for supersession later), a delivered row may not.
    key = [*contract.business_key, *ROW_IDENTITY]
    dup = _table_rule(contract, "duplicateValues")
    add(
        gxe.ExpectCompoundColumnsToBeUnique(column_list=key),
        "unique_delivered_row",
        key,
        _severity(dup.get("severity") if dup else None, CRITICAL),
        "business key + delivery + line is unique; corrections of a key are allowed",
    )

    if zone == "clean":
        add(
            gxe.ExpectColumnValuesToNotBeNull(column="business_date"),
            "required",
            ["business_date"],
            CRITICAL,
            "every clean row has its business date",
        )
        if feed in PERSON_FEEDS:
            _add_person_checks(add, gxe, Col, ExpectColumnValuesToBeValidResidentId)
        if feed == "legal_entity":
            _add_entity_checks(add, gxe)
    # Built detached from any context; ``validate`` registers it in its own.
    return gx.ExpectationSuite(
        name=suite_name(zone, feed),
        expectations=expectations,
        meta={"zhongtai": {"feed": feed, "zone": zone, "contract_version": contract.version}},
    )


def _add_person_checks(add: Any, gxe: Any, col: Any, valid_id: Any) -> None:
    add(
        gxe.ExpectColumnValuesToNotBeNull(column="id_status"),
        "required",
        ["id_status"],
        CRITICAL,
        "cleaning classifies every ID",
    )
    add(
        gxe.ExpectColumnValuesToBeInSet(column="id_status", value_set=list(ID_STATUSES)),
        "allowed_values",
        ["id_status"],
        CRITICAL,
        "ID status vocabulary of docs/ZONES.md",
    )
    add(
        gxe.ExpectColumnValuesToBeInSet(column="phone_kind", value_set=list(PHONE_KINDS)),
        "allowed_values",
        ["phone_kind"],
        CRITICAL,
        "phone kind vocabulary of docs/ZONES.md",
    )
    for c in ("id_pseudonym", "phone_pseudonym"):
        add(
            gxe.ExpectColumnValuesToMatchRegex(column=c, regex=PSEUDONYM_PATTERN),
            "pseudonym",
            [c],
            CRITICAL,
            "a keyed HMAC-SHA-256 in hex, never a raw number",
        )
    for c, pattern in (
        ("id_masked", ID_MASK_PATTERN),
        ("phone_masked", PHONE_MASK_PATTERN),
        ("name_masked", NAME_MASK_PATTERN),
    ):
        add(
            gxe.ExpectColumnValuesToMatchRegex(column=c, regex=pattern),
            "mask",
            [c],
            CRITICAL,
            "masked display value keeps only the permitted characters",
        )
    usable = col("id_status").is_in(list(USABLE_ID_STATUSES))
    add(
        gxe.ExpectColumnValuesToNotBeNull(column="id_number_norm", row_condition=usable),
        "usable_id_present",
        ["id_number_norm", "id_status"],
        CRITICAL,
        "a usable status comes with a normalised number",
    )
    add(
        valid_id(column="id_number_norm", row_condition=usable),
        "usable_id_valid",
        ["id_number_norm", "id_status"],
        CRITICAL,
        "valid, repaired and upgraded numbers pass the GB 11643 check character",
    )


def _add_entity_checks(add: Any, gxe: Any) -> None:
    add(
        gxe.ExpectColumnValuesToBeInSet(column="contact_phone_kind", value_set=list(PHONE_KINDS)),
        "allowed_values",
        ["contact_phone_kind"],
        CRITICAL,
        "phone kind vocabulary",
    )
    add(
        gxe.ExpectColumnValuesToMatchRegex(
            column="contact_phone_pseudonym", regex=PSEUDONYM_PATTERN
        ),
        "pseudonym",
        ["contact_phone_pseudonym"],
        CRITICAL,
        "a keyed HMAC-SHA-256 in hex",
    )
    for c, pattern in (
        ("contact_phone_masked", PHONE_MASK_PATTERN),
        ("legal_representative_masked", NAME_MASK_PATTERN),
    ):
        add(
            gxe.ExpectColumnValuesToMatchRegex(column=c, regex=pattern),
            "mask",
            [c],
            CRITICAL,
            "masked display value keeps only the permitted characters",
        )


def referenced_columns(suite: gx.ExpectationSuite) -> tuple[set[str], set[str]]:
    """Split the suite's columns into those whose values are read and those only checked to exist.

    Returns:
        ``(value_columns, existence_columns)``; a validator loads only the first set.
    """
    values: set[str] = set()
    exists: set[str] = set()
    for exp in suite.expectations:
        cols = list(exp.meta.get("columns", [])) if exp.meta else []
        if exp.expectation_type == "expect_column_to_exist":
            exists.update(cols)
        else:
            values.update(cols)
            values.update(_condition_columns(getattr(exp, "row_condition", None)))
    return values, exists - values


def _condition_columns(cond: Any) -> set[str]:
    if cond is None or isinstance(cond, str):
        return set()
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            col = node.get("column")
            if isinstance(col, dict) and "name" in col:
                found.add(str(col["name"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(cond.dict() if hasattr(cond, "dict") else cond)
    return found
