"""The columns cleaning adds to each feed (the clean-zone interface, docs/ZONES.md)."""

from __future__ import annotations

import pyarrow as pa

from zhongtai.clean.repairs import FLAGS_TYPE, REPAIRS_TYPE

PERSON_FEEDS = ("population", "nucleic_acid", "vaccination", "appeals")

PERSON_FIELDS = [
    pa.field("id_number_norm", pa.string()),
    pa.field("id_status", pa.string()),
    pa.field("id_valid", pa.bool_()),
    pa.field("id_pseudonym", pa.string()),
    pa.field("id_masked", pa.string()),
    pa.field("name_norm", pa.string()),
    pa.field("name_pinyin", pa.string()),
    pa.field("name_masked", pa.string()),
    pa.field("phone_norm", pa.string()),
    pa.field("phone_kind", pa.string()),
    pa.field("phone_pseudonym", pa.string()),
    pa.field("phone_masked", pa.string()),
    pa.field("birth_date_from_id", pa.date32()),
    pa.field("gender_from_id", pa.string()),
    pa.field("birth_date_conflict", pa.bool_()),
    pa.field("gender_conflict", pa.bool_()),
    pa.field("pseudonym_key_version", pa.string()),
]
POPULATION_FIELDS = [
    pa.field("address_norm", pa.string()),
    pa.field("address_id", pa.string()),
    pa.field("address_community_code", pa.string()),
    pa.field("grid_id", pa.string()),
]
LEGAL_ENTITY_FIELDS = [
    pa.field("uscc_norm", pa.string()),
    pa.field("uscc_status", pa.string()),
    pa.field("uscc_valid", pa.bool_()),
    pa.field("entity_name_norm", pa.string()),
    pa.field("legal_representative_norm", pa.string()),
    pa.field("legal_representative_masked", pa.string()),
    pa.field("contact_phone_norm", pa.string()),
    pa.field("contact_phone_kind", pa.string()),
    pa.field("contact_phone_pseudonym", pa.string()),
    pa.field("contact_phone_masked", pa.string()),
    pa.field("pseudonym_key_version", pa.string()),
]
ROW_FIELDS = [pa.field("_repairs", REPAIRS_TYPE), pa.field("_flags", FLAGS_TYPE)]
# Added by Spark SQL after the row rules (not by the Arrow batch function).
SQL_FIELDS = {
    "person": ["phone_shared", "business_date"],
    "nucleic_acid": ["sample_date", "result_date", "site_in_district"],
}


def batch_fields(feed: str) -> list[pa.Field]:
    """Columns the Arrow batch rules add to ``feed`` (besides ``id_type``, rewritten in place)."""
    out: list[pa.Field] = []
    if feed in PERSON_FEEDS:
        out += PERSON_FIELDS
    if feed == "population":
        out += POPULATION_FIELDS
    if feed == "legal_entity":
        out += LEGAL_ENTITY_FIELDS
    return out + ROW_FIELDS


def output_schema(input_schema: pa.Schema, feed: str) -> pa.Schema:
    """The Arrow schema of the batch function's output: raw columns, then the added ones."""
    fields = [f for f in input_schema if f.name not in {"_repairs", "_flags"}]
    names = {f.name for f in fields}
    if feed in PERSON_FEEDS and "id_type" not in names:
        fields.append(pa.field("id_type", pa.string()))
        names.add("id_type")
    return pa.schema(fields + [f for f in batch_fields(feed) if f.name not in names])
