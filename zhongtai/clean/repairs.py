"""The repair record: what a cleaning rule changed, by value class, never by value.

Every row of the clean zone carries ``_repairs`` (a list of these records) and
``_flags`` (a list of strings naming what could not be repaired). Classes such
as ``fullwidth_digits`` or ``legacy15`` describe the *shape* of a value, so the
record can leave the restricted zones without leaking the value itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

REPAIR_TYPE = pa.struct(
    [
        pa.field("field", pa.string()),
        pa.field("rule", pa.string()),
        pa.field("before", pa.string()),
        pa.field("after", pa.string()),
    ]
)
REPAIRS_TYPE = pa.list_(REPAIR_TYPE)
FLAGS_TYPE = pa.list_(pa.string())


@dataclass(frozen=True)
class Repair:
    """One lossless repair of one field.

    Attributes:
        field: the column repaired (``id_number``, ``phone``...).
        rule: the rule that repaired it (``fullwidth_to_ascii``, ``upgrade_15``...).
        before: class of the value before (``fullwidth_digits``, ``legacy15``...).
        after: class of the value after (``ascii_digits``, ``resident_id18``...).
    """

    field: str
    rule: str
    before: str
    after: str

    def as_dict(self) -> dict[str, Any]:
        """The record as the Arrow struct's Python value."""
        return {"field": self.field, "rule": self.rule, "before": self.before, "after": self.after}
