"""Row rules from the contract: type, allowed values, required, pattern, minimum, source.

A failure in a required column sends the row to quarantine with the first
failing rule as its reason; a failure in an optional column nulls that value in
raw and keeps the delivered text in ``_issues`` (``column:reason_code:original``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.contracts.model import Contract
from zhongtai.ingest.values import Typed, arrow_type, type_column


@dataclass(frozen=True)
class Failure:
    """One rule that failed on some rows."""

    column: str
    reason: str
    rule: str
    mask: np.ndarray = field(repr=False, compare=False)


@dataclass
class RowCheck:
    """The typed columns and the verdict per row.

    Attributes:
        columns: canonical name -> typed Arrow array (failed optional values null).
        quarantine: True for rows that go to quarantine.
        failures: rules that failed on required data, in check order.
        issues: ``list<string>`` per row for optional failures.
    """

    columns: dict[str, pa.Array]
    quarantine: np.ndarray
    failures: list[Failure]
    issues: pa.Array

    def first_failure(self, row: int) -> Failure:
        """The first failing rule of a quarantined row."""
        for f in self.failures:
            if f.mask[row]:
                return f
        raise KeyError(row)

    def all_failures(self, row: int) -> list[Failure]:
        """Every failing rule of a row."""
        return [f for f in self.failures if f.mask[row]]


def _type_rule(logical_type: str, enum: bool) -> str:
    return "allowed_values" if enum else f"logicalType:{logical_type}"


def check_rows(
    contract: Contract,
    delivered: dict[str, pa.Array],
    num_rows: int,
    source: str,
    tz: str,
) -> RowCheck:
    """Type and validate delivered columns.

    Args:
        contract: the feed's contract.
        delivered: canonical column name -> delivered column (absent columns omitted).
        num_rows: rows in the delivery.
        source: the landing ``<source>`` folder.
        tz: business time zone for naive times.
    """
    columns: dict[str, pa.Array] = {}
    failures: list[Failure] = []
    issue_parts: list[tuple[np.ndarray, pa.Array]] = []

    def optional_issue(name: str, reason: str, mask: np.ndarray, text: pa.Array) -> None:
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        original = pc.fill_null(pc.take(text, pa.array(idx)), "")
        issue_parts.append((idx, pc.binary_join_element_wise(f"{name}:{reason}", original, ":")))

    for col in contract.columns:
        arr = delivered.get(col.name)
        if arr is None:
            arr = pa.nulls(num_rows, pa.string())
        typed: Typed = type_column(arr, col, tz)
        values = typed.values
        rules: list[tuple[str, str, np.ndarray]] = []
        if typed.failed.any():
            rules.append(
                (typed.reason, _type_rule(col.logical_type, bool(col.allowed_values)), typed.failed)
            )
        if col.name == contract.source_column:
            present = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), bool)
            differs = present & np.asarray(
                pc.fill_null(pc.not_equal(values, source), False).to_numpy(zero_copy_only=False),
                bool,
            )
            if differs.any():
                rules.append(("source_mismatch", "sourceColumn", differs))
            values = pc.fill_null(values, source)
        if col.pattern and pa.types.is_string(values.type):
            bad = ~np.asarray(
                pc.fill_null(pc.match_substring_regex(values, col.pattern), True).to_numpy(
                    zero_copy_only=False
                ),
                bool,
            )
            if bad.any():
                rules.append(("pattern_mismatch", f"pattern:{col.pattern}", bad))
        if col.minimum is not None and (
            pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
        ):
            bad = np.asarray(
                pc.fill_null(pc.less(values, col.minimum), False).to_numpy(zero_copy_only=False),
                bool,
            )
            if bad.any():
                rules.append(("below_minimum", f"minimum:{col.minimum:g}", bad))
        failed_any = np.zeros(num_rows, bool)
        for reason, rule, mask in rules:
            if col.required or reason == "source_mismatch":
                failures.append(Failure(col.name, reason, rule, mask))
            else:
                optional_issue(col.name, reason, mask & ~failed_any, typed.text)
            failed_any |= mask
        if col.required:
            missing = ~np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), bool)
            missing &= ~failed_any
            if missing.any():
                failures.append(Failure(col.name, "missing_required", "required", missing))
        if failed_any.any() and not col.required:
            values = pc.if_else(pa.array(failed_any), pa.scalar(None, values.type), values)
        columns[col.name] = values.cast(arrow_type(col))
    quarantine = np.zeros(num_rows, bool)
    for f in failures:
        quarantine |= f.mask
    return RowCheck(columns, quarantine, failures, _issue_lists(issue_parts, num_rows))


def _issue_lists(parts: list[tuple[np.ndarray, pa.Array]], num_rows: int) -> pa.Array:
    if not parts:
        offsets = pa.array(np.zeros(num_rows + 1, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array([], pa.string()))
    rows = np.concatenate([p[0] for p in parts])
    values = pa.concat_arrays([p[1] for p in parts])
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=num_rows)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pc.take(values, pa.array(order)))
