"""Validate a zone partition with its contract-built GX suite (write, audit, publish).

:func:`validate_partition` is what the pipeline calls after ingestion (raw)
and after cleaning (clean). It reads only the columns the suite looks at,
runs a GX Checkpoint on the pandas frame, renders Data Docs, publishes a
compact result to ``quality/validations/<zone>_<feed>/date=D`` and raises
:class:`ValidationFailed` when a critical expectation fails.

No value of the data ever leaves this module: every expectation runs with a
result format that keeps counts only (no partial unexpected lists, no index
lists, no rows), exception texts are reduced to their type, and columns the
suite only checks for existence are not loaded at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.store import Lake
from zhongtai.quality.context import docs_dir, make_context
from zhongtai.quality.suites import CRITICAL, build_suite, referenced_columns, suite_name
from zhongtai.settings import Settings

if TYPE_CHECKING:
    import great_expectations as gx

log = logging.getLogger(__name__)

QUALITY_ZONE = "quality"
# Counts only: GX's BASIC format with zero partial unexpected values carries
# element and unexpected counts but no value, index or row of the data.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}

RESULT_SCHEMA = pa.schema(
    [
        ("zone", pa.string()),
        ("feed", pa.string()),
        ("business_date", pa.date32()),
        ("run_id", pa.string()),
        ("validated_run_id", pa.string()),
        ("suite", pa.string()),
        ("expectation", pa.string()),
        ("rule", pa.string()),
        ("columns", pa.list_(pa.string())),
        ("severity", pa.string()),
        ("success", pa.bool_()),
        ("element_count", pa.int64()),
        ("unexpected_count", pa.int64()),
        ("unexpected_percent", pa.float64()),
        ("observed", pa.float64()),
        ("error", pa.string()),
    ]
)


class ValidationFailed(ZhongtaiError):
    """A partition failed a critical expectation; the next step must not read it."""


@dataclass(frozen=True)
class ExpectationOutcome:
    """What one expectation found, as counts: never a value of the data.

    Attributes:
        expectation: GX expectation type, e.g. ``expect_column_values_to_not_be_null``.
        rule: the zhongtai rule name (``required``, ``allowed_values``, ``pattern``, ...).
        columns: the columns the expectation reads.
        severity: ``critical`` or ``warning``.
        success: whether it held.
        element_count: rows considered (None for table-level checks).
        unexpected_count: rows that broke it (None for table-level checks).
        unexpected_percent: share of non-null rows that broke it.
        observed: a numeric observation of a table-level check (the row count).
        error: the exception type if the check could not run.
    """

    expectation: str
    rule: str
    columns: tuple[str, ...]
    severity: str
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed: float | None = None
    error: str | None = None

    def describe(self) -> str:
        """One line naming the check and the count of offending rows."""
        target = f"({', '.join(self.columns)})" if self.columns else ""
        if self.error:
            return f"{self.expectation}{target} could not run ({self.error})"
        if self.unexpected_count is not None:
            return (
                f"{self.expectation}{target}: {self.unexpected_count} of {self.element_count} rows"
            )
        if self.observed is not None:
            return f"{self.expectation}{target}: observed {self.observed:g}"
        return f"{self.expectation}{target}"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one partition.

    Attributes:
        zone: ``raw`` or ``clean``.
        feed: the feed id.
        business_date: the partition's business date.
        run_id: the pipeline run that validated it.
        success: True when no critical expectation failed (or there was no partition).
        evaluated: number of expectations evaluated (0 when there was no partition).
        failed: critical expectations that failed.
        warnings: warning-severity expectations that failed (reported, not blocking).
        outcomes: every expectation evaluated, passed or not.
        rows: rows in the partition.
        docs_path: the Data Docs index page, or None.
        result_path: lake path of the published result, or None.
        validated_run_id: the run id of the partition that was validated.
        seconds: wall-clock time of the validation.
        note: why nothing was evaluated, when that is the case.
    """

    zone: str
    feed: str
    business_date: dt.date
    run_id: str
    success: bool
    evaluated: int
    failed: list[ExpectationOutcome] = field(default_factory=list)
    warnings: list[ExpectationOutcome] = field(default_factory=list)
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    rows: int = 0
    docs_path: str | None = None
    result_path: str | None = None
    validated_run_id: str | None = None
    seconds: float = 0.0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        d = asdict(self)
        d["business_date"] = self.business_date.isoformat()
        return d

    def message(self) -> str:
        """A one-paragraph account of the failure, naming checks and counts, never values."""
        what = "; ".join(o.describe() for o in self.failed)
        where = f" Data Docs: {self.docs_path}." if self.docs_path else ""
        return (
            f"quality check failed for feed {self.feed!r} in zone {self.zone!r} on "
            f"{self.business_date.isoformat()} (run {self.run_id}): {len(self.failed)} critical "
            f"expectation(s) failed: {what}.{where} Fix the step that produced "
            f"{self.zone}/{self.feed}/date={self.business_date.isoformat()} (or the delivery) and "
            "re-run it; the next step will not read this partition until it passes."
        )


def validate_partition(
    settings: Settings,
    zone: str,
    feed: str,
    business_date: dt.date,
    run_id: str,
    raise_on_failure: bool = True,
) -> ValidationReport:
    """Validate the published partition ``<zone>/<feed>/date=D`` with its suite.

    Args:
        settings: the deployment settings (lake, state folder for Data Docs).
        zone: ``raw`` or ``clean``.
        feed: the feed id of a contract.
        business_date: the partition's business date.
        run_id: the pipeline run id; the result is published under it.
        raise_on_failure: raise :class:`ValidationFailed` if a critical check fails.

    Returns:
        The report; a missing partition is a success with ``evaluated == 0`` and a note.

    Raises:
        ValidationFailed: a critical expectation failed and ``raise_on_failure`` is set.
        ZhongtaiError: unknown zone or feed.
    """
    suite = build_suite(feed, zone)
    lake = Lake(settings)
    version = lake.current(zone, feed, business_date)
    if version is None:
        return ValidationReport(
            zone=zone,
            feed=feed,
            business_date=business_date,
            run_id=run_id,
            success=True,
            evaluated=0,
            note=f"no {zone} partition of {feed} for {business_date.isoformat()} "
            "(no delivery that day); nothing to validate",
        )
    frame = read_for_suite(lake, version.files, suite)
    report = validate_frame(
        settings,
        zone,
        feed,
        frame,
        business_date,
        run_id,
        suite=suite,
        validated_run_id=version.run_id,
    )
    report = _publish(lake, report)
    log.info(
        "validated %s/%s date=%s: %d rows, %d expectations, %d critical failed, %d warnings, %.1fs",
        zone,
        feed,
        business_date,
        report.rows,
        report.evaluated,
        len(report.failed),
        len(report.warnings),
        report.seconds,
    )
    if not report.success and raise_on_failure:
        raise ValidationFailed(report.message())
    return report


def read_for_suite(lake: Lake, files: tuple[str, ...] | list[str], suite: Any) -> pd.DataFrame:
    """Load a partition's files as pandas, column-pruned to what ``suite`` reads.

    Columns the suite only checks for existence are present as empty placeholders
    (one byte per row, no data read), so existence is judged on the file schema.
    """
    value_cols, exist_cols = referenced_columns(suite)
    schemas = [pq.read_schema(lake.full(f), filesystem=lake.fs) for f in files]
    present = {n for s in schemas for n in s.names}
    tables = []
    for f, s in zip(files, schemas, strict=True):
        cols = [c for c in s.names if c in value_cols]
        tables.append(pq.read_table(lake.full(f), filesystem=lake.fs, columns=cols))
    table = pa.concat_tables(tables, promote_options="default") if tables else pa.table({})
    # Arrow-backed strings: filters and null checks run in Arrow's C++ kernels
    # instead of over Python objects, and take a fraction of the memory.
    frame = table.to_pandas(types_mapper=_arrow_strings)
    del table, tables
    n = len(frame)
    placeholders = {
        c: pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=[])
        for c in sorted(exist_cols & present)
    }
    if placeholders:
        frame = pd.concat([frame, pd.DataFrame(placeholders, index=frame.index)], axis=1)
    return frame


def _arrow_strings(t: pa.DataType) -> Any:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    return None


def validate_frame(
    settings: Settings,
    zone: str,
    feed: str,
    frame: pd.DataFrame,
    business_date: dt.date,
    run_id: str,
    suite: gx.ExpectationSuite | None = None,
    validated_run_id: str | None = None,
) -> ValidationReport:
    """Run the suite of ``feed`` in ``zone`` on ``frame`` and render Data Docs.

    Nothing is written to the lake; :func:`validate_partition` publishes.

    Args:
        settings: the deployment settings (state folder for Data Docs).
        zone: ``raw`` or ``clean``.
        feed: the feed id.
        frame: the partition as pandas.
        business_date: the partition's business date.
        run_id: the pipeline run id.
        suite: a prebuilt suite (default: built from the contract).
        validated_run_id: the run id of the validated partition, for lineage.

    Returns:
        The report; it does not raise on failed expectations.
    """
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier

    started = time.perf_counter()
    suite = suite or build_suite(feed, zone)
    name = suite_name(zone, feed)
    site = f"{name}/date={business_date.isoformat()}"
    ctx = make_context(settings, site)
    suite = ctx.suites.add(suite)
    batch = (
        ctx.data_sources.add_pandas("zhongtai")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("partition")
    )
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    checkpoint = ctx.checkpoints.add(
        gx.Checkpoint(
            name=f"{name}_checkpoint",
            validation_definitions=[vd],
            actions=[UpdateDataDocsAction(name="data_docs")],
            result_format=RESULT_FORMAT,
        )
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": frame},
        run_id=RunIdentifier(run_name=run_id),
    )
    outcomes = [_outcome(r) for vr in result.run_results.values() for r in vr.results]
    failed = [o for o in outcomes if not o.success and o.severity == CRITICAL]
    warnings = [o for o in outcomes if not o.success and o.severity != CRITICAL]
    index = docs_dir(settings, site) / "index.html"
    return ValidationReport(
        zone=zone,
        feed=feed,
        business_date=business_date,
        run_id=run_id,
        success=not failed,
        evaluated=len(outcomes),
        failed=failed,
        warnings=warnings,
        outcomes=outcomes,
        rows=len(frame),
        docs_path=str(index) if index.exists() else None,
        validated_run_id=validated_run_id,
        seconds=round(time.perf_counter() - started, 3),
    )


def _num(v: Any) -> float | None:
    return (
        float(v)
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        else None
    )


def _outcome(r: Any) -> ExpectationOutcome:
    cfg = r.expectation_config
    meta = cfg.meta or {}
    res = r.result or {}
    exc = r.exception_info or {}
    # exception_info is keyed by metric when several metrics failed.
    raised = exc.get("raised_exception") or any(
        isinstance(v, dict) and v.get("raised_exception") for v in exc.values()
    )
    severity = getattr(cfg, "severity", CRITICAL)
    severity = getattr(severity, "value", severity)
    unexpected = res.get("unexpected_count")
    return ExpectationOutcome(
        expectation=cfg.type,
        rule=str(meta.get("rule", cfg.type)),
        columns=tuple(meta.get("columns", ())),
        severity=str(severity).lower(),
        success=bool(r.success),
        element_count=int(res["element_count"]) if "element_count" in res else None,
        unexpected_count=int(unexpected) if unexpected is not None else None,
        unexpected_percent=_num(res.get("unexpected_percent")),
        observed=_num(res.get("observed_value")),
        error=_exception_type(exc) if raised else None,
    )


def _exception_type(exc: dict[str, Any]) -> str:
    # Only the exception's class name: its message may quote a value.
    for info in [exc, *[v for v in exc.values() if isinstance(v, dict)]]:
        msg = str(info.get("exception_message") or "")
        if msg:
            head = msg.split(":", 1)[0].strip()
            return head if head.isidentifier() else "exception"
    return "exception"


def _publish(lake: Lake, report: ValidationReport) -> ValidationReport:
    rows = [
        {
            "zone": report.zone,
            "feed": report.feed,
            "business_date": report.business_date,
            "run_id": report.run_id,
            "validated_run_id": report.validated_run_id,
            "suite": suite_name(report.zone, report.feed),
            "expectation": o.expectation,
            "rule": o.rule,
            "columns": list(o.columns),
            "severity": o.severity,
            "success": o.success,
            "element_count": o.element_count,
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "observed": o.observed,
            "error": o.error,
        }
        for o in report.outcomes
    ]
    summary = {
        "success": report.success,
        "evaluated": report.evaluated,
        "rows": report.rows,
        "failed": [o.describe() for o in report.failed],
        "warnings": [o.describe() for o in report.warnings],
        "validated_run_id": report.validated_run_id,
        "seconds": report.seconds,
    }
    table = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    dataset = f"validations/{suite_name(report.zone, report.feed)}"
    version = lake.publish_table(
        QUALITY_ZONE, dataset, report.business_date, table, report.run_id, meta=summary
    )
    run_dir = os.path.dirname(version.files[0])
    result_path = f"{run_dir}/result.json"
    lake.write_json(result_path, report.to_dict())
    return replace(report, result_path=result_path)
