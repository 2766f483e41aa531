"""The row rules of one feed applied to a whole Arrow batch, once per batch.

This is what the Spark job runs inside ``mapInArrow``: every rule of the
package (IDs, names, phones, addresses, vocab) in one pass over the rows of a
batch, returning the batch with the clean columns added. It is plain Python
and Arrow, so it is tested without Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyarrow as pa

from zhongtai.clean.addresses import Gazetteer
from zhongtai.clean.columns import PERSON_FEEDS, output_schema
from zhongtai.clean.credit_codes import normalise_uscc
from zhongtai.clean.names import normalise_name
from zhongtai.clean.phones import normalise_phone
from zhongtai.clean.repairs import Repair
from zhongtai.clean.resident_ids import cross_check, normalise_id
from zhongtai.clean.text import collapse_spaces, to_halfwidth
from zhongtai.clean.vocab import canonical_value
from zhongtai.contracts.model import load_contract
from zhongtai.privacy.masking import mask_id, mask_name, mask_phone
from zhongtai.privacy.pseudonym import Pseudonymiser


@dataclass(frozen=True)
class CleanContext:
    """Everything the row rules need besides the rows.

    Attributes:
        feed: the feed name.
        business_date: the business date being cleaned.
        pseudonymiser: keyed pseudonyms (the key never appears in repr).
        gazetteer: divisions and standard addresses (population only).
    """

    feed: str
    business_date: dt.date
    pseudonymiser: Pseudonymiser
    gazetteer: Gazetteer | None = field(default=None, repr=False)


# Persons recur within a batch (one per test, dose, appeal): compute each distinct
# value once. Results are never mutated by the callers below (they copy the lists).
_normalise_id = lru_cache(maxsize=1 << 16)(normalise_id)
_normalise_name = lru_cache(maxsize=1 << 16)(normalise_name)
_normalise_phone = lru_cache(maxsize=1 << 16)(normalise_phone)


def _issue_flags(issues: list[str] | None) -> list[str]:
    # `_issues` entries are `column:reason:original`; the original may be PII, keep 2 parts.
    return [":".join(i.split(":", 2)[:2]) for i in issues or []]


def _person(
    row: dict[str, Any], ctx: CleanContext, repairs: list[Repair], flags: list[str]
) -> None:
    ps = ctx.pseudonymiser
    res = _normalise_id(row.get("id_type"), row.get("id_number"), ctx.business_date)
    repairs += res.repairs
    flags += res.flags
    row["id_type"] = res.id_type
    row["id_number_norm"] = res.number
    row["id_status"] = res.status
    row["id_valid"] = res.valid
    row["id_pseudonym"] = ps.person(res.id_type, res.number)
    row["id_masked"] = mask_id(res.number, res.id_type)
    row["birth_date_from_id"] = res.birth_date
    row["gender_from_id"] = res.gender
    birth_conflict, gender_conflict = cross_check(res, row.get("birth_date"), row.get("gender"))
    row["birth_date_conflict"] = birth_conflict
    row["gender_conflict"] = gender_conflict
    if birth_conflict:
        flags.append("birth_date:conflicts_with_id")
    if gender_conflict:
        flags.append("gender:conflicts_with_id")
    name = _normalise_name(row.get("name"))
    repairs += name.repairs
    flags += name.flags
    row["name_norm"] = name.name
    row["name_pinyin"] = name.pinyin
    row["name_masked"] = mask_name(name.name)
    phone = _normalise_phone(row.get("phone"))
    repairs += phone.repairs
    flags += phone.flags
    row["phone_norm"] = phone.number
    row["phone_kind"] = phone.kind
    row["phone_pseudonym"] = ps.phone(phone.number)
    row["phone_masked"] = mask_phone(phone.number)
    row["pseudonym_key_version"] = ps.version


def _population(
    row: dict[str, Any], ctx: CleanContext, repairs: list[Repair], flags: list[str]
) -> None:
    if ctx.gazetteer is None:
        row["address_norm"] = None
        flags.append("address:no_gazetteer")
        return
    res = ctx.gazetteer.resolve(row.get("address"))
    repairs += res.repairs
    flags += res.flags
    row["address_norm"] = res.address_norm
    row["address_id"] = res.address_id
    row["address_community_code"] = res.community_code
    row["grid_id"] = res.grid_id


def _legal_entity(
    row: dict[str, Any], ctx: CleanContext, repairs: list[Repair], flags: list[str]
) -> None:
    ps = ctx.pseudonymiser
    code = normalise_uscc(row.get("uscc"))
    repairs += code.repairs
    flags += code.flags
    row["uscc_norm"], row["uscc_status"], row["uscc_valid"] = code.code, code.status, code.valid
    entity = row.get("entity_name")
    row["entity_name_norm"] = collapse_spaces(to_halfwidth(entity)) if entity else None
    rep = normalise_name(row.get("legal_representative"), "legal_representative")
    repairs += rep.repairs
    flags += [f for f in rep.flags if not f.endswith(":missing")]
    row["legal_representative_norm"] = rep.name
    row["legal_representative_masked"] = mask_name(rep.name)
    phone = normalise_phone(row.get("contact_phone"), "contact_phone")
    repairs += phone.repairs
    flags += phone.flags
    row["contact_phone_norm"] = phone.number
    row["contact_phone_kind"] = phone.kind
    row["contact_phone_pseudonym"] = ps.phone(phone.number)
    row["contact_phone_masked"] = mask_phone(phone.number)
    row["pseudonym_key_version"] = ps.version


def clean_rows(rows: list[dict[str, Any]], ctx: CleanContext) -> list[dict[str, Any]]:
    """Apply the feed's row rules to a list of row dicts (mutated and returned).

    Adds the clean columns of :func:`zhongtai.clean.columns.batch_fields`; rows are
    never removed.
    """
    contract = load_contract(ctx.feed)
    enum_cols = [c for c in contract.columns if c.allowed_values]
    for row in rows:
        repairs: list[Repair] = []
        flags: list[str] = _issue_flags(row.get("_issues"))
        for col in enum_cols:
            if col.name in row or col.name == "id_type":
                row[col.name] = canonical_value(col, row.get(col.name), repairs, flags)
        if ctx.feed in PERSON_FEEDS:
            _person(row, ctx, repairs, flags)
        if ctx.feed == "population":
            _population(row, ctx, repairs, flags)
        elif ctx.feed == "legal_entity":
            _legal_entity(row, ctx, repairs, flags)
        row["_repairs"] = [r.as_dict() for r in repairs]
        row["_flags"] = flags
    return rows


READ_COLUMNS = (
    "id_type",
    "id_number",
    "name",
    "phone",
    "gender",
    "birth_date",
    "address",
    "_issues",
    "uscc",
    "entity_name",
    "legal_representative",
    "contact_phone",
)


def clean_batch(batch: pa.RecordBatch, ctx: CleanContext) -> pa.RecordBatch:
    """Clean one Arrow batch: the raw columns (canonical values) plus the clean columns.

    Only the columns the rules read are turned into Python objects; the others
    (timestamps, lineage...) pass through as Arrow arrays untouched.
    """
    schema = output_schema(batch.schema, ctx.feed)
    enums = {c.name for c in load_contract(ctx.feed).columns if c.allowed_values}
    read = [n for n in batch.schema.names if n in enums or n in READ_COLUMNS]
    rows = clean_rows(batch.select(read).to_pylist(), ctx)
    rewritten = enums | {"id_type"}
    arrays = []
    for f in schema:
        if f.name in batch.schema.names and f.name not in rewritten:
            arrays.append(batch.column(f.name))
        else:
            arrays.append(pa.array([r.get(f.name) for r in rows], type=f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def clean_batches(batches: Iterator[pa.RecordBatch], ctx: CleanContext) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: clean every batch of a partition."""
    for batch in batches:
        yield clean_batch(batch, ctx)
