"""landing → raw / quarantine / ledger for one feed and business date.

For every delivery in ``landing/<feed>/<source>/<date>/``: checksum and
duplicate check, read (any format, encoding, packing), header mapping, exact
duplicate rows, typing and row rules by the contract. Good rows of all the
day's deliveries go to ``raw/<feed>/date=D`` in one partition, bad rows to
``quarantine/<feed>/date=D`` with a reason, and one ledger row per delivery to
``ledger/deliveries_<feed>/date=D``.

Deliveries are *streamed*: read, typed, checked and written ``chunk_rows`` rows
at a time into local staging files, one set per delivery, so memory does not
grow with the size of a delivery (see ``bench/bench_ingest.py``). Exact
duplicate rows are found across chunks by 128-bit row fingerprints
(:mod:`zhongtai.ingest.dedup`). The staged files are published only after
every delivery is done, then the partition pointers are written: nothing
becomes visible before that.

Per delivery, ``rows_in = rows_loaded + rows_quarantined + rows_duplicate``,
where ``rows_in`` is counted by the readers and the other three are the rows
actually written (or recognised as duplicates). A delivery for which this does
not hold is not loaded, its ledger row says ``failed``, and ``ingest_feed``
raises :class:`~zhongtai.errors.ZhongtaiError` after publishing the others.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.contracts.model import Contract, load_contract
from zhongtai.errors import ZhongtaiError
from zhongtai.ingest.dedup import RowSeen
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
from zhongtai.ingest.readers import (
    BadLine,
    Chunk,
    DeliveryRejected,
    MemberStream,
    open_members,
    prefetched,
    stream_member,
)
from zhongtai.ingest.records import json_records
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
_BAD_LINE_RULES = {
    "undecodable": "encoding",
    "line_too_long": "max_line_bytes",
    "wrong_field_count": "field_count",
    "malformed_json": "json_object",
}
_BAD_LINE_MESSAGES = {
    "undecodable": "bytes do not decode in the file's encoding (UTF-8 or GB18030)",
    "line_too_long": "line longer than the line cap; not parsed",
    "wrong_field_count": "number of fields differs from the header",
    "malformed_json": "not a JSON object",
}


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
    stage: Path
    raw_schema: pa.Schema
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class _Sink:
    """The staged raw and quarantine Parquet files of one delivery.

    Writes run on one background thread (Parquet encoding releases the GIL), so
    the next chunk is typed while the last one is compressed; at most two
    writes wait, which bounds the memory they hold. Row counts are taken after
    a write succeeded.
    """

    _MAX_PENDING = 2

    def __init__(self, ctx: _Ctx, index: int):
        from concurrent.futures import ThreadPoolExecutor

        self.ctx = ctx
        self.prefix = f"d{index:05d}"
        self.files: list[Path] = []
        self.raw_rows = 0
        self.quarantine_rows = 0
        self._raw: Any = None
        self._raw_file_rows = 0
        self._quarantine: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-write")
        self._pending: list[Any] = []

    def _open(self, zone: str, schema: pa.Schema) -> Any:
        import pyarrow.parquet as pq

        folder = self.ctx.stage / zone
        folder.mkdir(parents=True, exist_ok=True)
        part = sum(p.parent.name == zone for p in self.files)
        path = folder / f"{self.prefix}-{part:05d}.parquet"
        self.files.append(path)
        return pq.ParquetWriter(path, schema, compression="zstd")

    def _submit(self, fn: Any, table: pa.Table) -> None:
        while len(self._pending) >= self._MAX_PENDING:
            self._pending.pop(0).result()
        self._pending.append(self._pool.submit(fn, table))

    def _write_raw(self, table: pa.Table) -> None:
        if self._raw is not None and self._raw_file_rows >= self.ctx.limits.rows_per_file:
            self._raw.close()
            self._raw = None
        if self._raw is None:
            self._raw = self._open("raw", self.ctx.raw_schema)
            self._raw_file_rows = 0
        self._raw.write_table(table)
        self._raw_file_rows += table.num_rows
        self.raw_rows += table.num_rows

    def _write_quarantine(self, table: pa.Table) -> None:
        if self._quarantine is None:
            self._quarantine = self._open("quarantine", QUARANTINE_SCHEMA)
        self._quarantine.write_table(table)
        self.quarantine_rows += table.num_rows

    def raw(self, table: pa.Table) -> None:
        """Append good rows."""
        if table.num_rows:
            self._submit(self._write_raw, table)

    def quarantine(self, table: pa.Table) -> None:
        """Append quarantined rows."""
        if table.num_rows:
            self._submit(self._write_quarantine, table)

    def flush(self) -> None:
        """Wait for every write; raises the first write error."""
        while self._pending:
            self._pending.pop(0).result()

    def close(self) -> None:
        """Finish every write and close the files."""
        try:
            self.flush()
        finally:
            for w in (self._raw, self._quarantine):
                if w is not None:
                    w.close()
            self._raw = self._quarantine = None
            self._pool.shutdown(wait=True)

    def discard(self) -> None:
        """Drop everything staged for the delivery (it is rejected or failed)."""
        for f in self._pending:
            f.exception()
        self._pending = []
        for w in (self._raw, self._quarantine):
            if w is not None:
                w.close()
        self._raw = self._quarantine = None
        for p in self.files:
            p.unlink(missing_ok=True)
        self.files = []
        self.raw_rows = self.quarantine_rows = 0


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
        limits: safety caps and chunk sizes (defaults: :class:`IngestLimits`).
        ingested_at: the ingestion timestamp recorded in lineage (default: now, UTC).

    Returns:
        The report; ``deliveries`` are the ledger rows.

    Raises:
        ContractError: unknown feed.
        ZhongtaiError: a delivery's rows do not add up (rows in differ from rows
            loaded + quarantined + duplicate). The other deliveries are published
            and the ledger records that delivery as ``failed``, not loaded.
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
        lake.new_staging_dir(f"ingest-{feed}-{business_date.isoformat()}"),
        raw_schema(contract),
    )
    try:
        report = _ingest_all(ctx, feed, business_date)
    finally:
        shutil.rmtree(ctx.stage, ignore_errors=True)
    if ctx.failures:
        raise ZhongtaiError(
            f"ingest {feed} {business_date}: " + "; ".join(ctx.failures) + ". The delivery is "
            f"recorded as failed in ledger/deliveries_{feed} and was not loaded; the other "
            "deliveries were published. This is a bug in zhongtai: report it with the "
            "delivery id, then re-run the day."
        )
    return report


def _ingest_all(ctx: _Ctx, feed: str, business_date: dt.date) -> IngestReport:
    lake, contract, run_id = ctx.lake, ctx.contract, ctx.run_id
    outcomes = [
        _ingest_delivery(ctx, d, i) for i, d in enumerate(discover(lake, feed, business_date))
    ]
    ledger_rows = [o.ledger for o in outcomes]
    report = IngestReport(feed, business_date, ledger_rows)
    for row in ledger_rows:
        report.rows_in += row["rows_in"]
        report.rows_loaded += row["rows_loaded"]
        report.rows_quarantined += row["rows_quarantined"]
        report.rows_duplicate += row["rows_duplicate"]
    meta = {"contract_version": contract.version, "deliveries": len(ledger_rows)}
    report.raw_version = lake.publish_dir(
        "raw", feed, business_date, _staged(ctx, "raw", ctx.raw_schema), run_id, meta
    )
    report.quarantine_version = lake.publish_dir(
        "quarantine",
        feed,
        business_date,
        _staged(ctx, "quarantine", QUARANTINE_SCHEMA),
        run_id,
        meta,
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


def _staged(ctx: _Ctx, zone: str, schema: pa.Schema) -> Path:
    """The staging folder of a zone, with an empty file if no delivery wrote to it."""
    import pyarrow.parquet as pq

    folder = ctx.stage / zone
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.glob("*.parquet")):
        pq.write_table(schema.empty_table(), folder / "empty.parquet", compression="zstd")
    return folder


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


def _ingest_delivery(ctx: _Ctx, d: Delivery, index: int) -> _Outcome:
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
    sink = _Sink(ctx, index)
    try:
        out = _read_and_check(ctx, d, sha, sink)
    except BaseException:
        sink.discard()
        sink.close()
        raise
    sink.close()
    if out.ledger["status"] == "failed":
        return out
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


class _HeaderProblems(Exception):
    """A member's headers make the whole delivery unloadable."""


@dataclass
class _Tally:
    """What one delivery's pass counted."""

    rows_in: int = 0
    duplicates: int = 0
    formats: list[str] = field(default_factory=list)
    encodings: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _header_findings(
    contract: Contract, headers: list[str], label: str
) -> tuple[list[str], list[str]]:
    """(problems that reject the delivery, notes for the ledger) of one member's headers."""
    if not headers:
        return [], []
    filled = (contract.source_column,) if contract.source_column else ()
    hm = map_headers(contract, headers, filled)
    problems, notes = [], []
    if hm.missing_required:
        problems.append(
            f"{label}missing required column(s) {', '.join(hm.missing_required)} "
            f"(see data_contracts/{contract.feed}.odcs.yaml for accepted header names)"
        )
    for canonical, hs in hm.conflicts.items():
        problems.append(f"{label}columns {hs} all map to {canonical}; keep one")
    if hm.extra:
        notes.append(f"{label}extra column(s) ignored: {', '.join(hm.extra)}")
    if hm.missing_optional:
        notes.append(f"{label}optional column(s) absent: {', '.join(hm.missing_optional)}")
    return problems, notes


def _label(ms: MemberStream) -> str:
    return f"member {ms.name!r}: " if ms.name else ""


def _read_and_check(ctx: _Ctx, d: Delivery, sha: str, sink: _Sink) -> _Outcome:
    did = delivery_id(ctx.contract.feed, ctx.business_date, d.path, sha)
    tally = _Tally()
    try:
        packing, members = open_members(
            lambda: ctx.lake.open_input(d.path), d.name, d.size, ctx.limits
        )
        try:
            _load_members(ctx, d, sha, did, members, sink, tally)
            status, problems = "loaded", []
        except _HeaderProblems:
            sink.discard()
            tally = _Tally()
            problems = _reject_members(ctx, d, sha, did, members, sink, tally)
            status = "rejected"
    except DeliveryRejected as e:
        sink.discard()
        return _Outcome(_ledger_row(ctx, d, sha, status="rejected", message=str(e)))
    fmt = None
    if tally.formats:
        fmt = tally.formats[0] + ("" if packing == "plain" else f"+{packing}")
    enc = ",".join(sorted(tally.encodings)) or None
    base = {"format": fmt, "encoding": enc, "rows_in": tally.rows_in}
    if tally.rows_in == 0:
        return _Outcome(
            _ledger_row(
                ctx, d, sha, status="empty", message="no data rows (empty or header only)", **base
            )
        )
    sink.flush()
    accounted = sink.raw_rows + sink.quarantine_rows + tally.duplicates
    if tally.rows_in != accounted:
        why = (
            f"row_conservation: delivery {did} ({d.path}) read {tally.rows_in} rows but "
            f"accounted for {accounted} (loaded {sink.raw_rows}, quarantined "
            f"{sink.quarantine_rows}, duplicate {tally.duplicates})"
        )
        sink.discard()
        log.error("ingest %s %s: %s", ctx.contract.feed, ctx.business_date, why)
        ctx.failures.append(why)
        return _Outcome(_ledger_row(ctx, d, sha, status="failed", message=why, **base))
    if status == "rejected":
        return _Outcome(
            _ledger_row(
                ctx,
                d,
                sha,
                status="rejected",
                rows_quarantined=sink.quarantine_rows,
                message="delivery_rejected: " + "; ".join(problems + tally.notes),
                **base,
            )
        )
    return _Outcome(
        _ledger_row(
            ctx,
            d,
            sha,
            status="loaded",
            rows_loaded=sink.raw_rows,
            rows_quarantined=sink.quarantine_rows,
            rows_duplicate=tally.duplicates,
            message="; ".join(tally.notes),
            **base,
        )
    )


def _source_file(d: Delivery, ms: MemberStream) -> str:
    return f"{d.path}!{ms.name}" if ms.name else d.path


def _load_members(
    ctx: _Ctx,
    d: Delivery,
    sha: str,
    did: str,
    members: list[Any],
    sink: _Sink,
    tally: _Tally,
) -> None:
    """Stream every member into the sink; raises _HeaderProblems to reject the delivery."""
    seen = RowSeen()
    for m in members:
        ms = stream_member(m, ctx.limits)
        tally.formats.append(ms.format)
        if ms.header_known:
            problems, notes = _header_findings(ctx.contract, ms.headers, _label(ms))
            if problems:
                raise _HeaderProblems()
            tally.notes += notes
        with closing(prefetched(ms.chunks())) as chunks:
            for chunk in chunks:
                clash = not ms.header_known and map_headers(ctx.contract, chunk.table.column_names)
                if clash and clash.conflicts:
                    raise _HeaderProblems()  # JSON keys seen so far already clash
                _load_chunk(ctx, d, sha, did, _source_file(d, ms), chunk, seen, sink, tally)
        if not ms.header_known:
            problems, notes = _header_findings(ctx.contract, ms.headers, _label(ms))
            if problems:
                raise _HeaderProblems()
            tally.notes += notes
        if ms.encoding:
            tally.encodings.add(ms.encoding)


def _reject_members(
    ctx: _Ctx,
    d: Delivery,
    sha: str,
    did: str,
    members: list[Any],
    sink: _Sink,
    tally: _Tally,
) -> list[str]:
    """Quarantine every row of a delivery whose headers are unusable; returns the problems."""
    problems: list[str] = []
    for m in members:
        ms = stream_member(m, ctx.limits)
        if not ms.header_known:
            for _ in ms.chunks():
                pass
        p, notes = _header_findings(ctx.contract, ms.headers, _label(ms))
        problems += p
        tally.notes += notes
    problem = "; ".join(problems)
    for m in members:
        ms = stream_member(m, ctx.limits)
        tally.formats.append(ms.format)
        source_file = _source_file(d, ms)
        for chunk in ms.chunks():
            tally.rows_in += chunk.rows_in
            n = chunk.table.num_rows
            cols = {
                "_source_file": [source_file] * n,
                "_line_number": chunk.line_numbers.tolist(),
                "reason_code": ["delivery_rejected"] * n,
                "rule": ["delivery"] * n,
                "column": [None] * n,
                "message": [problem] * n,
                "raw_record": _records(chunk.table, np.arange(n)),
            }
            bad = _bad_line_cols(source_file, chunk.bad_lines, "delivery_rejected", problem)
            sink.quarantine(_quarantine_table(ctx, d, sha, did, [cols, bad]))
        if ms.encoding:
            tally.encodings.add(ms.encoding)
    return problems


def _records(table: pa.Table, idx: np.ndarray) -> pa.Array:
    if len(idx) == table.num_rows:
        return json_records(table)
    return json_records(table.take(pa.array(idx, pa.int64())))


def _quarantine_table(
    ctx: _Ctx, d: Delivery, sha: str, did: str, parts: list[dict[str, Any]]
) -> pa.Table:
    """One quarantine table from column parts, sorted by line number."""
    tables = []
    for cols in parts:
        n = len(cols["_line_number"])
        if n == 0:
            continue
        full = {
            "_delivery_id": pa.repeat(pa.scalar(did, pa.string()), n),
            "_source": pa.repeat(pa.scalar(d.source, pa.string()), n),
            "_file_sha256": pa.repeat(pa.scalar(sha, pa.string()), n),
            "rule_version": pa.repeat(pa.scalar(ctx.contract.version, pa.string()), n),
            **cols,
        }
        tables.append(
            pa.table(
                {f.name: pa.array(full[f.name], f.type) for f in QUARANTINE_SCHEMA},
                schema=QUARANTINE_SCHEMA,
            )
        )
    if not tables:
        return QUARANTINE_SCHEMA.empty_table()
    t = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return t.sort_by([("_source_file", "ascending"), ("_line_number", "ascending")])


def _bad_line_cols(
    source_file: str,
    bad_lines: list[BadLine],
    reason: str | None = None,
    message: str | None = None,
) -> dict[str, list[Any]]:
    return {
        "_source_file": [source_file] * len(bad_lines),
        "_line_number": [b.line_number for b in bad_lines],
        "reason_code": [reason or b.reason for b in bad_lines],
        "rule": [
            "delivery" if reason else _BAD_LINE_RULES.get(b.reason, b.reason) for b in bad_lines
        ],
        "column": [None] * len(bad_lines),
        "message": [
            (message + f" (line also {b.reason})")
            if message
            else _BAD_LINE_MESSAGES.get(b.reason, b.reason)
            for b in bad_lines
        ],
        "raw_record": [json.dumps({"_line": b.text}, ensure_ascii=False) for b in bad_lines],
    }


def _text_columns(
    ctx: _Ctx, chunk: Chunk, columns: dict[str, str]
) -> tuple[dict[str, pa.Array], list[pa.Array]]:
    """(delivered columns by canonical name, every contract column as text) of a chunk."""
    n = chunk.table.num_rows
    delivered: dict[str, pa.Array] = {}
    texts: list[pa.Array] = []
    for c in ctx.contract.columns:
        header = columns.get(c.name)
        if header is None:
            texts.append(pa.nulls(n, pa.string()))
            continue
        col = chunk.table.column(header)
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        delivered[c.name] = arr
        texts.append(as_text(arr))
    return delivered, texts


def _failure_cols(check: RowCheck, qi: np.ndarray) -> dict[str, Any]:
    """reason_code, rule, column and message of the quarantined rows ``qi``, vectorised."""
    fails = check.failures
    masks = np.stack([f.mask[qi] for f in fails])
    first = pa.array(masks.argmax(axis=0))
    parts = [
        pc.if_else(pa.array(masks[k]), f"{f.column}:{f.reason}", pa.scalar(None, pa.string()))
        for k, f in enumerate(fails)
    ]
    message = (
        pc.binary_join_element_wise(*parts, "; ", null_handling="skip")
        if len(parts) > 1
        else parts[0]
    )
    return {
        "reason_code": pc.take(pa.array([f.reason for f in fails], pa.string()), first),
        "rule": pc.take(pa.array([f.rule for f in fails], pa.string()), first),
        "column": pc.take(pa.array([f.column for f in fails], pa.string()), first),
        "message": message,
    }


def _load_chunk(
    ctx: _Ctx,
    d: Delivery,
    sha: str,
    did: str,
    source_file: str,
    chunk: Chunk,
    seen: RowSeen,
    sink: _Sink,
    tally: _Tally,
) -> None:
    """Deduplicate, type, check and write one chunk."""
    contract = ctx.contract
    tally.rows_in += chunk.rows_in
    n = chunk.table.num_rows
    filled = (contract.source_column,) if contract.source_column else ()
    hm = map_headers(contract, chunk.table.column_names, filled)
    delivered, texts = _text_columns(ctx, chunk, hm.columns)
    keep = seen.keep(texts, n)
    ki = np.flatnonzero(keep)
    tally.duplicates += n - len(ki)
    take = pa.array(ki)
    firsts = {name: a.take(take) for name, a in delivered.items()}
    check = check_rows(contract, firsts, len(ki), d.source, ctx.tz)
    lines = chunk.line_numbers[ki]

    good = np.flatnonzero(~check.quarantine)
    n_good = len(good)
    gi = pa.array(good)
    raw_cols: dict[str, Any] = {name: check.columns[name].take(gi) for name in check.columns}
    raw_cols.update(
        {
            "_delivery_id": pa.repeat(pa.scalar(did, pa.string()), n_good),
            "_source": pa.repeat(pa.scalar(d.source, pa.string()), n_good),
            "_source_file": pa.repeat(pa.scalar(source_file, pa.string()), n_good),
            "_file_sha256": pa.repeat(pa.scalar(sha, pa.string()), n_good),
            "_line_number": pa.array(lines[good], pa.int64()),
            "_ingested_at": pa.repeat(
                pa.scalar(ctx.ingested_at, pa.timestamp("us", tz="UTC")), n_good
            ),
            "_business_date": pa.repeat(pa.scalar(ctx.business_date, pa.date32()), n_good),
            "_issues": check.issues.take(gi),
        }
    )
    sink.raw(pa.table(raw_cols, schema=ctx.raw_schema))

    qi = np.flatnonzero(check.quarantine)
    parts: list[dict[str, Any]] = []
    if len(qi):
        parts.append(
            {
                "_source_file": pa.repeat(pa.scalar(source_file, pa.string()), len(qi)),
                "_line_number": pa.array(lines[qi], pa.int64()),
                **_failure_cols(check, qi),
                "raw_record": _records(chunk.table, ki[qi]),
            }
        )
    parts.append(_bad_line_cols(source_file, chunk.bad_lines))
    sink.quarantine(_quarantine_table(ctx, d, sha, did, parts))
