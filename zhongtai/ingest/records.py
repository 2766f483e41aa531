"""Delivered rows as JSON text, for the ``raw_record`` column of quarantine.

A quarantined row keeps exactly what was delivered, as one JSON object per row
with the delivered header names: the same text ``json.dumps(row,
ensure_ascii=False)`` gives. For text columns (CSV, JSON Lines, XLSX) the
objects are built with Arrow string kernels, no Python object per row; rows
with rare control characters, and typed columns (Parquet), take the
``json.dumps`` path.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# what json's C encoder escapes besides the rare control characters
_ESCAPES = [
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
]
_RARE_CONTROL = "[\\x00-\\x07\\x0b\\x0e-\\x1f]"


def _python_records(table: pa.Table) -> list[str]:
    return [json.dumps(r, ensure_ascii=False, default=str) for r in table.to_pylist()]


def json_records(table: pa.Table) -> pa.Array:
    """One JSON object per row of ``table`` (keys: its column names), as a string array."""
    n = table.num_rows
    if n == 0:
        return pa.array([], pa.string())
    if table.num_columns == 0:
        return pa.array(["{}"] * n, pa.string())
    if not all(pa.types.is_string(f.type) for f in table.schema):
        return pa.array(_python_records(table), pa.string())
    rare = np.zeros(n, dtype=bool)
    parts = []
    for name in table.column_names:
        col = table.column(name)
        v = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        rare |= np.asarray(
            pc.fill_null(pc.match_substring_regex(v, _RARE_CONTROL), False).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
        for raw, escaped in _ESCAPES:
            v = pc.replace_substring(v, raw, escaped)
        quoted = pc.binary_join_element_wise('"', v, '"', "")
        value = pc.fill_null(quoted, "null")
        key = json.dumps(name, ensure_ascii=False) + ": "
        parts.append(pc.binary_join_element_wise(key, value, ""))
    body = pc.binary_join_element_wise(*parts, ", ") if len(parts) > 1 else parts[0]
    out = pc.binary_join_element_wise("{", body, "}", "")
    if rare.any():
        idx = np.flatnonzero(rare)
        fixed = _python_records(table.take(pa.array(idx)))
        replace = np.full(n, -1, dtype=np.int64)
        replace[idx] = np.arange(len(idx))
        out = pc.if_else(
            pa.array(rare),
            pc.take(pa.array(fixed, pa.string()), pa.array(np.maximum(replace, 0))),
            out,
        )
    return out
