"""Compute and publish the daily diff of each exported dataset.

For every dataset the full state of day D is compared with the state last
exported (kept under ``exports/_state/<dataset>/``); the changes are written to
``exports/<dataset>/date=D/`` as Parquet, CSV (UTF-8 with BOM, formula cells
neutralised) and JSON Lines, and ``manifest.json`` is written last, so a reader
that lists manifests never sees a half-written day.

Files are deterministic (sorted rows, no wall-clock time inside), so
re-exporting a day is byte-identical; if the files match the published
manifest, nothing is written again.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import Lake
from zhongtai.settings import Settings

SCHEMA_VERSION = "1"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportDataset:
    """One exported dataset: its key and where its daily full state comes from."""

    name: str
    key: str


EXPORT_DATASETS = (
    ExportDataset("person_codes", "person_key"),
    ExportDataset("verification_tasks", "task_id"),
    ExportDataset("persons", "person_key"),
)

DIFF_SCHEMA = pa.schema(
    [
        ("change_seq", pa.int64()),
        ("op", pa.string()),
        ("key", pa.string()),
        ("before", pa.string()),
        ("after", pa.string()),
        ("business_date", pa.string()),
    ]
)


@dataclass(frozen=True)
class ExportReport:
    """What one export run wrote, per dataset."""

    business_date: dt.date
    datasets: dict[str, dict[str, int]]
    written: bool


def _rows_by_key(table: pa.Table | None, key: str) -> dict[str, str]:
    if table is None or table.num_rows == 0:
        return {}
    out: dict[str, str] = {}
    for row in table.to_pylist():
        k = str(row[key])
        out[k] = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
    return out


def diff_states(
    before: dict[str, str], after: dict[str, str], business_date: str, first_seq: int
) -> pa.Table:
    """The changes from ``before`` to ``after`` (key → JSON row), in key order."""
    rows = []
    seq = first_seq
    for k in sorted(before.keys() | after.keys()):
        b, a = before.get(k), after.get(k)
        if b == a:
            continue
        op = "insert" if b is None else "delete" if a is None else "update"
        rows.append(
            {
                "change_seq": seq,
                "op": op,
                "key": k,
                "before": b,
                "after": a,
                "business_date": business_date,
            }
        )
        seq += 1
    return pa.Table.from_pylist(rows, schema=DIFF_SCHEMA)


def neutralise_cell(value: object) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    if value is None:
        return ""
    s = str(value)
    return "'" + s if s.startswith(FORMULA_PREFIXES) else s


def to_csv_bytes(table: pa.Table) -> bytes:
    """UTF-8 with BOM, every cell neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(table.column_names)
    for row in table.to_pylist():
        w.writerow([neutralise_cell(row[c]) for c in table.column_names])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_jsonl_bytes(table: pa.Table) -> bytes:
    """One JSON object per line."""
    return "".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in table.to_pylist()
    ).encode("utf-8")


def to_parquet_bytes(table: pa.Table) -> bytes:
    """Deterministic Parquet (no creation timestamps are written by pyarrow)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=True)
    return buf.getvalue()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def export_day(
    settings: Settings,
    business_date: dt.date,
    run_id: str,
    states: dict[str, Callable[[], pa.Table | None]],
) -> ExportReport:
    """Export the diffs of day D for each dataset whose full state ``states[name]()`` returns."""
    lake = Lake(settings)
    day = business_date.isoformat()
    summary: dict[str, dict[str, int]] = {}
    wrote_any = False
    for ds in EXPORT_DATASETS:
        if ds.name not in states:
            continue
        current = states[ds.name]()
        prev_dates = [d for d in lake.dates("exports", f"_state/{ds.name}") if d < day]
        prev = (
            lake.read_table("exports", f"_state/{ds.name}", prev_dates[-1]) if prev_dates else None
        )
        prev_manifest = _manifest(lake, ds.name, prev_dates[-1]) if prev_dates else None
        first_seq = (prev_manifest or {}).get("last_change_seq", 0) + 1
        diff = diff_states(
            _rows_by_key(prev, ds.key), _rows_by_key(current, ds.key), day, first_seq
        )
        files = {
            "diff.parquet": to_parquet_bytes(diff),
            "diff.csv": to_csv_bytes(diff),
            "diff.jsonl": to_jsonl_bytes(diff),
        }
        base = f"exports/{ds.name}/date={day}"
        manifest = {
            "dataset": ds.name,
            "business_date": day,
            "schema_version": SCHEMA_VERSION,
            "key": ds.key,
            "rows": diff.num_rows,
            "counts": {
                op: int(sum(1 for o in diff.column("op").to_pylist() if o == op))
                for op in ("insert", "update", "delete")
            },
            "first_change_seq": first_seq if diff.num_rows else None,
            "last_change_seq": first_seq + diff.num_rows - 1,
            "files": {name: {"sha256": _sha(b), "bytes": len(b)} for name, b in files.items()},
            "previous_manifest": f"exports/{ds.name}/date={prev_dates[-1]}/manifest.json"
            if prev_dates
            else None,
            "run_id": run_id,
        }
        existing = _manifest(lake, ds.name, day)
        summary[ds.name] = {"rows": diff.num_rows, **manifest["counts"]}
        if existing and existing.get("files") == manifest["files"]:
            continue  # same content already published: no second version
        later = [d for d in lake.dates("exports", f"_state/{ds.name}") if d > day]
        if existing and later:
            # change_seq of later days was numbered after this day's: rewriting it would
            # make the cursors that apps hold ambiguous
            raise ZhongtaiError(
                f"export of {ds.name} for {day} changed but later days ({later[0]} …) are "
                f"already published; re-export from {day} onwards in order after removing "
                f"exports/{ds.name}/date>={day}"
            )
        for name, b in files.items():
            lake.write_bytes(f"{base}/{name}", b)
        state = current if current is not None else pa.table({ds.key: pa.array([], pa.string())})
        lake.publish_table("exports", f"_state/{ds.name}", business_date, state, run_id)
        lake.write_json(f"{base}/manifest.json", manifest)
        wrote_any = True
    return ExportReport(business_date, summary, wrote_any)


def _manifest(lake: Lake, dataset: str, day: str) -> dict | None:
    rel = f"exports/{dataset}/date={day}/manifest.json"
    return lake.read_json(rel) if lake.exists(rel) else None
