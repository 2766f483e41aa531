"""landing → raw / quarantine / ledger for one feed and business date.

For every delivery in ``landing/<feed>/<source>/<date>/``: checksum and
duplicate check, read (any format, encoding, packing), header mapping, exact
duplicate rows, typing and row rules by the contract. Good rows of all the
day's deliveries go to ``raw/<feed>/date=D`` in one partition, bad rows to
``quarantine/<feed>/date=D`` with a reason, and one ledger row per delivery to
``ledger/deliveries_<feed>/date=D``. Per delivery, rows_in = rows_loaded +
rows_quarantined + rows_duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.contracts.model import Contract, load_contract
from zhongtai.ingest.deliveries import (
    Delivery,
    delivery_id,
    discover,
    file_sha256,
    ledger_table,
    registry_get,
    registry_put,
    unsafe_name_reason,
)
from zhongtai.ingest.headers import map_headers
from zhongtai.ingest.limits import IngestLimits
from zhongtai.ingest.readers import DeliveryRejected, MemberData, open_members, read_member
from zhongtai.ingest.validate import RowCheck, check_rows
from zhongtai.ingest.values import arrow_type, as_text
from zhongtai.lake.store import DatasetVersion, Lake
from zhongtai.settings import Settings

log = logging.getLogger(__name__)

LINEAGE = [
    ("_delivery_id", pa.string()),
    ("_source", pa.string()),
    ("_source_file", pa.string()),
    ("_file_sha256", pa.string()),
    ("_line_number", pa.int64()),
    ("_ingested_at", pa.timestamp("us", tz="UTC")),
    ("_business_date", pa.date32()),
    ("_issues", pa.list_(pa.string())),
]
QUARANTINE_SCHEMA = pa.schema(
    [
        ("_delivery_id", pa.string()),
        ("_source", pa.string()),
        ("_source_file", pa.string()),
        ("_file_sha256", pa.string()),
        ("_line_number", pa.int64()),
        ("reason_code", pa.string()),
        ("rule", pa.string()),
        ("rule_version", pa.string()),
        ("column", pa.string()),
        ("message", pa.string()),
        ("raw_record", pa.string()),
    ]
)


@dataclass
class IngestReport:
    """What one ingestion run did."""

    feed: str
    business_date: dt.date
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    raw_version: DatasetVersion | None = None
    quarantine_version: DatasetVersion | None = None
    ledger_version: DatasetVersion | None = None


def raw_schema(contract: Contract) -> pa.Schema:
    """The raw-zone schema of a feed: contract columns, then lineage."""
    return pa.schema([(c.name, arrow_type(c)) for c in contract.columns] + LINEAGE)


@dataclass
class _Outcome:
    ledger: dict[str, Any]
    raw: pa.Table | None = None
    quarantine: pa.Table | None = None
    register: dict[str, Any] | None = None


@dataclass
class _Ctx:
    lake: Lake
    contract: Contract
    business_date: dt.date
    run_id: str
    limits: IngestLimits
    tz: str
    ingested_at: dt.datetime
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)


def ingest_feed(
    settings: Settings,
    feed: str,
    business_date: dt.date,
    run_id: str,
    *,
    limits: IngestLimits | None = None,
    ingested_at: dt.datetime | None = None,
) -> IngestReport:
    """Ingest every delivery of ``feed`` for ``business_date``.

    Args:
        settings: platform settings (lake, time zone).
        feed: contract id, e.g. ``nucleic_acid``.
        business_date: the landing date folder to ingest.
        run_id: the run id; the published partitions are written under it.
        limits: safety caps (defaults: :class:`IngestLimits`).
        ingested_at: the ingestion timestamp recorded in lineage (default: now, UTC).

    Returns:
        The report; ``deliveries`` are the ledger rows.

    Raises:
        ContractError: unknown feed.
    """
    contract = load_contract(feed)
    lake = Lake(settings)
    lake.ensure()
    now = ingested_at or dt.datetime.now(dt.UTC)
    ctx = _Ctx(
        lake,
        contract,
        business_date,
        run_id,
        limits or IngestLimits(),
        settings.timezone,
        now.astimezone(dt.UTC),
    )
    outcomes = [_ingest_delivery(ctx, d) for d in discover(lake, feed, business_date)]

    rs = raw_schema(contract)
    raws = [o.raw for o in outcomes if o.raw is not None and o.raw.num_rows]
    raw = pa.concat_tables(raws) if raws else rs.empty_table()
    quars = [o.quarantine for o in outcomes if o.quarantine is not None and o.quarantine.num_rows]
    quarantine = pa.concat_tables(quars) if quars else QUARANTINE_SCHEMA.empty_table()
    ledger_rows = [o.ledger for o in outcomes]
    report = IngestReport(feed, business_date, ledger_rows)
    for row in ledger_rows:
        report.rows_in += row["rows_in"]
        report.rows_loaded += row["rows_loaded"]
        report.rows_quarantined += row["rows_quarantined"]
        report.rows_duplicate += row["rows_duplicate"]
    meta = {"contract_version": contract.version, "deliveries": len(ledger_rows)}
    report.raw_version = lake.publish_table("raw", feed, business_date, raw, run_id, meta)
    report.quarantine_version = lake.publish_table(
        "quarantine", feed, business_date, quarantine, run_id, meta
    )
    report.ledger_version = lake.publish_table(
        "ledger", f"deliveries_{feed}", business_date, ledger_table(ledger_rows), run_id, meta
    )
    # only after publishing: a failed run must not mark files as seen
    for o in outcomes:
        if o.register:
            registry_put(lake, feed, o.register)
    log.info(
        "ingest %s %s: %d deliveries, %d rows in, %d loaded, %d quarantined, %d duplicate",
        feed,
        business_date,
        len(ledger_rows),
        report.rows_in,
        report.rows_loaded,
        report.rows_quarantined,
        report.rows_duplicate,
    )
    return report


def _ledger_row(ctx: _Ctx, d: Delivery, sha: str, **kw: Any) -> dict[str, Any]:
    row = {
        "delivery_id": delivery_id(ctx.contract.feed, ctx.business_date, d.path, sha),
        "feed": ctx.contract.feed,
        "source": d.source,
        "business_date": ctx.business_date,
        "file": d.path,
        "file_sha256": sha,
        "size_bytes": d.size,
        "format": None,
        "encoding": None,
        "status": "loaded",
        "rows_in": 0,
        "rows_loaded": 0,
        "rows_quarantined": 0,
        "rows_duplicate": 0,
        "message": "",
        "ingested_at": ctx.ingested_at,
    }
    row.update(kw)
    return row


def _ingest_delivery(ctx: _Ctx, d: Delivery) -> _Outcome:
    contract = ctx.contract
    why = unsafe_name_reason(d)
    if why:
        return _Outcome(
            _ledger_row(
                ctx, d, "", status="rejected", message=f"unsafe_path: the file {why}; refused"
            )
        )
    if contract.sources and d.source not in contract.sources:
        return _Outcome(
            _ledger_row(
                ctx,
                d,
                "",
                status="rejected",
                message=f"unknown_source: folder {d.source!r} is not a source of "
                f"{contract.feed}; use one of {', '.join(contract.sources)} "
                f"(data_contracts/{contract.feed}.odcs.yaml)",
            )
        )
    sha = file_sha256(ctx.lake, d.path)
    first = ctx.seen.get(sha) or registry_get(ctx.lake, contract.feed, sha)
    if first and (first["business_date"], first["path"]) != (ctx.business_date.isoformat(), d.path):
        n = int(first.get("rows_in", 0))
        return _Outcome(
            _ledger_row(
                ctx,
                d,
                sha,
                status="duplicate",
                rows_in=n,
                rows_duplicate=n,
                message=f"identical to {first['path']} (business date {first['business_date']}, "
                f"delivery {first['delivery_id']}); not loaded again",
            )
        )
    out = _read_and_check(ctx, d, sha)
    entry = {
        "sha256": sha,
        "feed": contract.feed,
        "business_date": ctx.business_date.isoformat(),
        "path": d.path,
        "delivery_id": out.ledger["delivery_id"],
        "rows_in": out.ledger["rows_in"],
        "status": out.ledger["status"],
        "run_id": ctx.run_id,
    }
    ctx.seen.setdefault(sha, entry)
    out.register = entry
    return out


def _read_and_check(ctx: _Ctx, d: Delivery, sha: str) -> _Outcome:
    contract = ctx.contract
    did = delivery_id(contract.feed, ctx.business_date, d.path, sha)
    fmt = enc = None
    try:
        packing, members = open_members(
            lambda: ctx.lake.open_input(d.path), d.name, d.size, ctx.limits
        )
        datas = [read_member(m, ctx.limits) for m in members]
    except DeliveryRejected as e:
        return _Outcome(_ledger_row(ctx, d, sha, status="rejected", message=str(e)))
    if datas:
        fmt = datas[0].format + ("" if packing == "plain" else f"+{packing}")
        encs = sorted({m.encoding for m in datas if m.encoding})
        enc = ",".join(encs) or None
    rows_in = sum(m.rows_in for m in datas)
    base = {"format": fmt, "encoding": enc, "rows_in": rows_in}
    if rows_in == 0:
        return _Outcome(
            _ledger_row(
                ctx, d, sha, status="empty", message="no data rows (empty or header only)", **base
            )
        )
    filled = (contract.source_column,) if contract.source_column else ()
    notes: list[str] = []
    problems: list[str] = []
    mappings = []
    for m in datas:
        hm = map_headers(contract, m.table.column_names, filled)
        mappings.append(hm)
        label = f"member {m.name!r}: " if m.name else ""
        if m.table.num_rows == 0 and not m.table.column_names:
            continue
        if hm.missing_required:
            problems.append(
                f"{label}missing required column(s) {', '.join(hm.missing_required)} "
                f"(see data_contracts/{contract.feed}.odcs.yaml for accepted header names)"
            )
        for canonical, headers in hm.conflicts.items():
            problems.append(f"{label}columns {headers} all map to {canonical}; keep one")
        if hm.extra:
            notes.append(f"{label}extra column(s) ignored: {', '.join(hm.extra)}")
        if hm.missing_optional:
            notes.append(f"{label}optional column(s) absent: {', '.join(hm.missing_optional)}")
    if problems:
        q = _reject_all(ctx, d, sha, did, datas, "; ".join(problems))
        return _Outcome(
            _ledger_row(
                ctx,
                d,
                sha,
                status="rejected",
                rows_quarantined=rows_in,
                message="delivery_rejected: " + "; ".join(problems + notes),
                **base,
            ),
            quarantine=q,
        )
    return _load(ctx, d, sha, did, datas, mappings, base, notes)


def _source_file(d: Delivery, m: MemberData) -> str:
    return f"{d.path}!{m.name}" if m.name else d.path


def _records(table: pa.Table, idx: np.ndarray) -> list[str]:
    rows = table.take(pa.array(idx, pa.int64())).to_pylist() if len(idx) else []
    return [json.dumps(r, ensure_ascii=False, default=str) for r in rows]


def _quarantine_table(
    ctx: _Ctx, d: Delivery, sha: str, did: str, cols: dict[str, list[Any]]
) -> pa.Table:
    n = len(cols["_line_number"])
    full = {
        "_delivery_id": [did] * n,
        "_source": [d.source] * n,
        "_file_sha256": [sha] * n,
        "rule_version": [ctx.contract.version] * n,
        **cols,
    }
    return pa.Table.from_pydict(
        {f.name: full[f.name] for f in QUARANTINE_SCHEMA}, schema=QUARANTINE_SCHEMA
    )


def _bad_line_cols(
    d: Delivery, m: MemberData, reason: str | None = None, message: str | None = None
) -> dict[str, list[Any]]:
    rules = {
        "undecodable": "encoding",
        "line_too_long": "max_line_bytes",
        "wrong_field_count": "field_count",
        "malformed_json": "json_object",
    }
    return {
        "_source_file": [_source_file(d, m)] * len(m.bad_lines),
        "_line_number": [b.line_number for b in m.bad_lines],
        "reason_code": [reason or b.reason for b in m.bad_lines],
        "rule": ["delivery" if reason else rules.get(b.reason, b.reason) for b in m.bad_lines],
        "column": [None] * len(m.bad_lines),
        "message": [
            (message + f" (line also {b.reason})") if message else _bad_line_message(b.reason)
            for b in m.bad_lines
        ],
        "raw_record": [json.dumps({"_line": b.text}, ensure_ascii=False) for b in m.bad_lines],
    }


def _bad_line_message(reason: str) -> str:
    return {
        "undecodable": "bytes do not decode in the file's encoding (UTF-8 or GB18030)",
        "line_too_long": "line longer than the line cap; not parsed",
        "wrong_field_count": "number of fields differs from the header",
        "malformed_json": "not a JSON object",
    }.get(reason, reason)


def _merge(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for p in parts:
        for k, v in p.items():
            out.setdefault(k, []).extend(v)
    return out


def _reject_all(
    ctx: _Ctx, d: Delivery, sha: str, did: str, datas: list[MemberData], problem: str
) -> pa.Table:
    parts = []
    for m in datas:
        n = m.table.num_rows
        parts.append(
            {
                "_source_file": [_source_file(d, m)] * n,
                "_line_number": m.line_numbers.tolist(),
                "reason_code": ["delivery_rejected"] * n,
                "rule": ["delivery"] * n,
                "column": [None] * n,
                "message": [problem] * n,
                "raw_record": _records(m.table, np.arange(n)),
            }
        )
        parts.append(_bad_line_cols(d, m, "delivery_rejected", problem))
    return _sorted_quarantine(_quarantine_table(ctx, d, sha, did, _merge(parts)))


def _sorted_quarantine(t: pa.Table) -> pa.Table:
    return t.sort_by([("_source_file", "ascending"), ("_line_number", "ascending")])


def _first_occurrences(delivered: dict[str, pa.Array], n: int) -> np.ndarray:
    """Indices of the first occurrence of each distinct delivered row, ascending."""
    if not delivered or n == 0:
        return np.arange(n, dtype=np.int64)
    keys = {f"k{i}": a for i, a in enumerate(delivered.values())}
    t = pa.table({**keys, "__i": pa.array(np.arange(n, dtype=np.int64))})
    g = t.group_by(list(keys), use_threads=False).aggregate([("__i", "min")])
    return np.sort(np.asarray(g.column("__i_min").to_numpy(), dtype=np.int64))


def _load(
    ctx: _Ctx,
    d: Delivery,
    sha: str,
    did: str,
    datas: list[MemberData],
    mappings: list[Any],
    base: dict[str, Any],
    notes: list[str],
) -> _Outcome:
    contract = ctx.contract
    text_mode = len(datas) > 1
    per_col: dict[str, list[pa.Array]] = {c.name: [] for c in contract.columns}
    lines, member_of, local_idx = [], [], []
    member_files = pa.array([_source_file(d, m) for m in datas], pa.string())
    for k, (m, hm) in enumerate(zip(datas, mappings, strict=True)):
        n = m.table.num_rows
        for c in contract.columns:
            header = hm.columns.get(c.name)
            if header is None:
                arr = pa.nulls(n, pa.string())
            else:
                arr = m.table.column(header)
                arr = as_text(arr) if text_mode else arr
            per_col[c.name].append(arr)
        lines.append(m.line_numbers)
        member_of.append(np.full(n, k, dtype=np.int64))
        local_idx.append(np.arange(n, dtype=np.int64))
    delivered: dict[str, pa.ChunkedArray] = {}
    for name, arrs in per_col.items():
        flat = [c for a in arrs for c in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])]
        if len({c.type for c in flat}) > 1:
            flat = [as_text(c) for c in flat]
        delivered[name] = pa.chunked_array(flat, type=flat[0].type if flat else pa.string())
    n_rows = sum(m.table.num_rows for m in datas)
    present = {
        name: a for name, a in delivered.items() if any(name in hm.columns for hm in mappings)
    }
    keep = _first_occurrences(present, n_rows)
    n_dup = n_rows - len(keep)
    take = pa.array(keep)
    firsts = {
        name: pc.take(a, take).combine_chunks()
        if isinstance(a, pa.ChunkedArray)
        else pc.take(a, take)
        for name, a in present.items()
    }
    line_no = np.concatenate(lines)[keep] if lines else np.zeros(0, np.int64)
    member_arr = np.concatenate(member_of)[keep]
    file_arr = pc.take(member_files, pa.array(member_arr))
    local_arr = np.concatenate(local_idx)[keep]
    check: RowCheck = check_rows(contract, firsts, len(keep), d.source, ctx.tz)

    good = ~check.quarantine
    gi = pa.array(np.flatnonzero(good))
    n_good = int(good.sum())
    raw_cols: dict[str, Any] = {name: pc.take(check.columns[name], gi) for name in check.columns}
    raw_cols.update(
        {
            "_delivery_id": pa.repeat(pa.scalar(did, pa.string()), n_good),
            "_source": pa.repeat(pa.scalar(d.source, pa.string()), n_good),
            "_source_file": pc.take(file_arr, gi),
            "_file_sha256": pa.repeat(pa.scalar(sha, pa.string()), n_good),
            "_line_number": pa.array(line_no[good], pa.int64()),
            "_ingested_at": pa.repeat(
                pa.scalar(ctx.ingested_at, pa.timestamp("us", tz="UTC")), n_good
            ),
            "_business_date": pa.repeat(pa.scalar(ctx.business_date, pa.date32()), n_good),
            "_issues": pc.take(check.issues, gi),
        }
    )
    raw = pa.table(raw_cols, schema=raw_schema(contract))

    qi = np.flatnonzero(check.quarantine)
    records: dict[int, str] = {}
    for k, m in enumerate(datas):
        rows = qi[member_arr[qi] == k]
        for r, rec in zip(rows, _records(m.table, local_arr[rows]), strict=True):
            records[int(r)] = rec
    firsts_f = [check.first_failure(int(r)) for r in qi]
    rows_part = {
        "_source_file": pc.take(file_arr, pa.array(qi, pa.int64())).to_pylist(),
        "_line_number": line_no[qi].tolist(),
        "reason_code": [f.reason for f in firsts_f],
        "rule": [f.rule for f in firsts_f],
        "column": [f.column for f in firsts_f],
        "message": [
            "; ".join(f"{f.column}:{f.reason}" for f in check.all_failures(int(r))) for r in qi
        ],
        "raw_record": [records[int(r)] for r in qi],
    }
    parts = [rows_part] + [_bad_line_cols(d, m) for m in datas]
    quarantine = _sorted_quarantine(_quarantine_table(ctx, d, sha, did, _merge(parts)))
    n_bad = sum(len(m.bad_lines) for m in datas)
    ledger = _ledger_row(
        ctx,
        d,
        sha,
        status="loaded",
        rows_loaded=n_good,
        rows_quarantined=len(qi) + n_bad,
        rows_duplicate=n_dup,
        message="; ".join(notes),
        **base,
    )
    assert ledger["rows_in"] == n_good + len(qi) + n_bad + n_dup, "row conservation"
    return _Outcome(ledger, raw=raw, quarantine=quarantine)
