"""Re-assert canonical vocabulary values from the contract's enums."""

from __future__ import annotations

from typing import Any

from zhongtai.clean.repairs import Repair
from zhongtai.contracts.model import Column

# Contract-documented defaults for absent values.
DEFAULTS = {"id_type": "resident_id", "record_status": "active"}


def canonical_value(
    column: Column, value: Any, repairs: list[Repair], flags: list[str]
) -> str | None:
    """The canonical enum value of ``value``; unknown values become None and are flagged.

    Args:
        column: the contract column (with ``allowed_values`` and ``value_synonyms``).
        value: the raw value.
        repairs: list to append a repair record to.
        flags: list to append a flag to.
    """
    allowed = column.allowed_values or ()
    if value is None or (isinstance(value, str) and not value.strip()):
        default = DEFAULTS.get(column.name)
        if default is not None:
            repairs.append(Repair(column.name, "contract_default", "missing", "default"))
        return default
    text = str(value)
    if text in allowed:
        return text
    mapped = column.value_synonyms.get(text.strip().lower())
    if mapped is not None:
        repairs.append(Repair(column.name, "canonical_vocab", "synonym", "canonical"))
        return mapped
    flags.append(f"{column.name}:not_in_vocab")
    return None
