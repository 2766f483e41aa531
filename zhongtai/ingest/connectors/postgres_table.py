"""Pull a Postgres table incrementally by a watermark column into landing as JSON Lines.

One pull for business date D selects the rows whose watermark is after the stored
watermark and not after the end of D (in the business time zone), ordered by
(watermark, key), through a server-side cursor in one snapshot. The rows are written
as ``landing/<feed>/<source>/<D>/<table>__<from>__<to>.jsonl`` (``from`` exclusive,
``to`` the last watermark written), then the watermark advances to ``to``. Large
pulls are split into several such files, only where the watermark changes, and the
watermark advances after each.

Crash safety: a crash after a file is written but before the watermark advances
leaves a file whose name starts with the stored watermark; the next pull adopts it
(advances to its ``to``) instead of pulling a second, overlapping file. A re-pull
of the same range writes the same bytes under the same name, which the ingestion's
SHA-256 registry recognises.

Known limit: a transaction that commits a row later with a watermark older than
one already pulled is missed (as with any watermark pull); let the source set the
watermark at commit time, or pull after the day has settled.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import logging
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

from zhongtai.errors import ZhongtaiError
from zhongtai.ingest.connectors.folder import landing_path
from zhongtai.ingest.connectors.state import (
    PullReport,
    check_kind,
    read_state,
    require_source,
    write_state,
)
from zhongtai.lake.store import Lake
from zhongtai.settings import Settings

log = logging.getLogger(__name__)

KIND = "postgres_table"
START = "start"
_TIMESTAMP_TYPES = {"timestamp with time zone", "timestamp without time zone", "date"}


def pull_postgres_table(
    settings: Settings,
    feed: str,
    source: str,
    business_date: dt.date,
    dsn: str,
    table: str,
    watermark_column: str = "updated_at",
    batch_rows: int = 50_000,
    *,
    key_columns: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    max_rows_per_file: int = 250_000,
    name: str | None = None,
    on_event: Callable[[str, str], None] | None = None,
) -> PullReport:
    """Pull the rows of ``table`` changed since the stored watermark, up to the end of D.

    Args:
        settings: platform settings (lake, business time zone).
        feed: contract id.
        source: the sending system; one of the contract's sources.
        business_date: D; rows with a watermark up to the end of D are pulled and
            landed under D's folder.
        dsn: libpq connection string or URL (from the environment, never from code).
        table: ``table`` or ``schema.table`` (quoted safely, any characters).
        watermark_column: a ``timestamptz``, ``timestamp`` (naive = business time zone)
            or ``date`` column; rows where it is null are never pulled and counted in
            the report's notes.
        batch_rows: rows fetched per round trip from the server-side cursor.
        key_columns: tie-break order within one watermark value (default: the primary
            key, else every pulled column) so that a re-pull yields the same bytes.
        columns: columns to pull (default: all, in table order).
        max_rows_per_file: split point for large pulls (applied at a watermark change).
        name: delivery file name prefix (default: the table name).
        on_event: test hook called with (``"written"``, path) after each file is
            written and before the watermark advances.

    Returns:
        The pull report; ``before``/``after`` are the watermark (ISO text with offset,
        or a date) before and after the pull.

    Raises:
        ZhongtaiError: unknown source, unreachable server, missing table or column,
            unsupported watermark type, or a state file for another table.
    """
    import psycopg2
    from psycopg2 import sql

    require_source(feed, source)
    if batch_rows < 1 or max_rows_per_file < 1:
        raise ZhongtaiError("batch_rows and max_rows_per_file must be at least 1")
    parts = table.split(".")
    if len(parts) not in (1, 2) or not all(parts):
        raise ZhongtaiError(f"table {table!r}: give 'table' or 'schema.table'")
    tz = settings.tz
    lake = Lake(settings)
    lake.ensure()
    state = read_state(lake, feed, source)
    check_kind(state, KIND, feed, source, table=table, watermark_column=watermark_column)
    before: str | None = state.get("watermark")
    report = PullReport(feed, source, business_date, KIND, before=before, after=before)
    prefix = _safe_name(name or parts[-1])

    try:
        conn = psycopg2.connect(dsn)
    except psycopg2.Error as e:
        raise ZhongtaiError(
            f"cannot connect to Postgres at {_where(dsn)}: {_first_line(e)}; check the DSN "
            "and that the server is reachable"
        ) from None
    try:
        conn.set_session(readonly=True, isolation_level="REPEATABLE READ")  # one snapshot
        with conn.cursor() as cur:
            cur.execute("select set_config('TimeZone', %s, false)", (settings.timezone,))
            ident = sql.Identifier(*parts)
            qualified = ident.as_string(conn)
            cur.execute("select to_regclass(%s)::oid", (qualified,))
            oid = cur.fetchone()[0]
            if oid is None:
                raise ZhongtaiError(
                    f"table {table!r} not found (or not visible to this user); check the "
                    "connector's table option"
                )
            cur.execute(
                "select attname, format_type(atttypid, atttypmod) from pg_attribute "
                "where attrelid = %s and attnum > 0 and not attisdropped order by attnum",
                (oid,),
            )
            types = dict(cur.fetchall())
            wm_type = types.get(watermark_column)
            if wm_type is None:
                raise ZhongtaiError(
                    f"table {table!r} has no column {watermark_column!r}; set watermark_column"
                )
            if wm_type not in _TIMESTAMP_TYPES:
                raise ZhongtaiError(
                    f"watermark column {watermark_column!r} is {wm_type}; use a timestamptz, "
                    "timestamp or date column"
                )
            pulled = list(columns) if columns else list(types)
            unknown = [c for c in [*pulled, *(key_columns or [])] if c not in types]
            if unknown:
                raise ZhongtaiError(f"table {table!r} has no column(s) {', '.join(unknown)}")
            keys = list(key_columns) if key_columns else _primary_key(cur, oid) or pulled
            keys = [k for k in keys if k != watermark_column]

            hi = _day_end(business_date, wm_type, tz)
            wm = sql.Identifier(watermark_column)
            cur.execute(sql.SQL("select count(*) from {} where {} is null").format(ident, wm))
            n_null = int(cur.fetchone()[0])
            if n_null:
                report.notes.append(
                    f"{n_null} row(s) have no {watermark_column} and are not pulled; "
                    "ask the source to fill it"
                )
                log.warning("pull %s/%s: %d rows without watermark", feed, source, n_null)

        # a crash after writing a file but before advancing: adopt that file
        before = _adopt_landed(lake, feed, source, business_date, prefix, before, wm_type, tz)
        if before != report.before:
            write_state(lake, feed, source, _new_state(table, watermark_column, before))
            report.notes.append("adopted a file landed by an interrupted pull")
        report.after = before

        where = [sql.SQL("{} < %(hi)s").format(wm)]
        params: dict[str, Any] = {"hi": hi}
        if before is not None:
            where.append(sql.SQL("{} > %(lo)s").format(wm))
            params["lo"] = _from_text(before, wm_type, tz)
        # the watermark is needed to split files and to advance: select it last if not pulled
        selected = pulled if watermark_column in pulled else [*pulled, watermark_column]
        query = sql.SQL("select {cols} from {t} where {cond} order by {order}").format(
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in selected),
            t=ident,
            cond=sql.SQL(" and ").join(where),
            order=sql.SQL(", ").join(sql.Identifier(c) for c in [watermark_column, *keys]),
        )
        wm_index = selected.index(watermark_column)
        width = len(pulled)
        with conn.cursor(name=f"zt_pull_{uuid.uuid4().hex[:12]}") as cur:
            cur.itersize = batch_rows
            cur.execute(query, params)
            buf: list[bytes] = []
            last_wm: Any = None
            for row in _batches(cur, batch_rows):
                row_wm = row[wm_index]
                if len(buf) >= max_rows_per_file and row_wm != last_wm:
                    before = _flush(
                        lake, report, table, watermark_column, prefix, before,
                        last_wm, wm_type, tz, buf, on_event,
                    )  # fmt: skip
                    buf = []
                buf.append(_json_line(pulled, row[:width], tz))
                last_wm = row_wm
            if buf:
                _flush(
                    lake, report, table, watermark_column, prefix, before,
                    last_wm, wm_type, tz, buf, on_event,
                )  # fmt: skip
        conn.rollback()
    except psycopg2.Error as e:
        raise ZhongtaiError(
            f"pulling {table!r} from {_where(dsn)} failed: {_first_line(e)}"
        ) from None
    finally:
        conn.close()
    log.info(
        "pull %s/%s %s: %d rows in %d file(s), watermark %s -> %s",
        feed,
        source,
        business_date,
        report.rows,
        len(report.files),
        report.before,
        report.after,
    )
    return report


def _new_state(table: str, watermark_column: str, watermark: str | None) -> dict[str, Any]:
    return {
        "kind": KIND,
        "table": table,
        "watermark_column": watermark_column,
        "watermark": watermark,
    }


def _flush(
    lake: Lake,
    report: PullReport,
    table: str,
    watermark_column: str,
    prefix: str,
    before: str | None,
    last_wm: Any,
    wm_type: str,
    tz: dt.tzinfo,
    lines: list[bytes],
    on_event: Callable[[str, str], None] | None,
) -> str:
    after = _to_text(last_wm, wm_type, tz)
    name = f"{prefix}__{_tag(before, wm_type)}__{_tag(after, wm_type)}.jsonl"
    rel = landing_path(report.feed, report.source, report.business_date, name)
    lake.write_bytes(rel, b"".join(lines))
    if on_event is not None:
        on_event("written", rel)
    # only after the file exists: a crash before this line re-pulls (or adopts) the range
    write_state(lake, report.feed, report.source, _new_state(table, watermark_column, after))
    report.files.append(rel)
    report.rows += len(lines)
    report.after = after
    return after


def _batches(cur: Any, n: int) -> Iterable[tuple[Any, ...]]:
    while rows := cur.fetchmany(n):
        yield from rows


def _primary_key(cur: Any, oid: int) -> list[str]:
    cur.execute(
        "select a.attname from pg_index i "
        "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
        "where i.indrelid = %s and i.indisprimary "
        "order by array_position(i.indkey::int2[], a.attnum)",
        (oid,),
    )
    return [r[0] for r in cur.fetchall()]


def _day_end(day: dt.date, wm_type: str, tz: dt.tzinfo) -> Any:
    """The exclusive upper bound: the start of the next business day."""
    nxt = day + dt.timedelta(days=1)
    if wm_type == "date":
        return nxt
    start = dt.datetime.combine(nxt, dt.time(), tzinfo=tz)
    return start if wm_type == "timestamp with time zone" else start.replace(tzinfo=None)


def _to_text(value: Any, wm_type: str, tz: dt.tzinfo) -> str:
    if wm_type == "date":
        return value.isoformat()
    aware = value.replace(tzinfo=tz) if value.tzinfo is None else value
    return aware.astimezone(tz).isoformat(timespec="microseconds")


def _from_text(text: str, wm_type: str, tz: dt.tzinfo) -> Any:
    try:
        if wm_type == "date":
            return dt.date.fromisoformat(text)
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ZhongtaiError(
            f"stored watermark {text!r} is not a {wm_type}; fix or delete the connector state"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    if wm_type == "timestamp with time zone":
        return value
    return value.astimezone(tz).replace(tzinfo=None)


def _tag(text: str | None, wm_type: str) -> str:
    """File-name form of a watermark: ``start``, ``YYYYMMDD`` or UTC ``YYYYMMDDTHHMMSSffffffZ``."""
    if text is None:
        return START
    if wm_type == "date":
        return dt.date.fromisoformat(text).strftime("%Y%m%d")
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _untag(tag: str, wm_type: str, tz: dt.tzinfo) -> str | None:
    try:
        if wm_type == "date":
            return dt.datetime.strptime(tag, "%Y%m%d").date().isoformat()
        utc = dt.datetime.strptime(tag, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return utc.astimezone(tz).isoformat(timespec="microseconds")


def _adopt_landed(
    lake: Lake,
    feed: str,
    source: str,
    day: dt.date,
    prefix: str,
    before: str | None,
    wm_type: str,
    tz: dt.tzinfo,
) -> str | None:
    """Follow files already landed from the stored watermark on (an interrupted pull)."""
    folder = f"landing/{feed}/{source}/{day.isoformat()}/"
    ends: dict[str, str] = {}
    for f in lake.list_files(folder, recursive=False):
        stem = f.path[len(folder) :]
        if not (stem.startswith(prefix + "__") and stem.endswith(".jsonl")):
            continue
        bits = stem[len(prefix) + 2 : -len(".jsonl")].split("__")
        if len(bits) == 2 and _untag(bits[1], wm_type, tz) is not None:
            ends[bits[0]] = bits[1]
    seen = set()
    while (start := _tag(before, wm_type)) in ends and start not in seen:
        seen.add(start)
        before = _untag(ends[start], wm_type, tz)
    return before


def _json_line(names: Sequence[str], values: Sequence[Any], tz: dt.tzinfo) -> bytes:
    obj = {n: _json_value(v, tz) for n, v in zip(names, values, strict=True)}
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _json_value(v: Any, tz: dt.tzinfo) -> Any:
    """A database value as JSON, lossless: exact numbers and times as text."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, dt.datetime):
        aware = v.replace(tzinfo=tz) if v.tzinfo is None else v
        return aware.astimezone(tz).isoformat()
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v.total_seconds())
    if isinstance(v, (bytes, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, (list, tuple)):
        return [_json_value(x, tz) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x, tz) for k, x in v.items()}
    return str(v)


def _safe_name(s: str) -> str:
    out = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s).strip("_")
    return out or "table"


def _where(dsn: str) -> str:
    """host:port/db of a DSN, without user or password."""
    if "://" in dsn:
        u = urlparse(dsn)
        return f"{u.hostname or 'localhost'}:{u.port or 5432}{u.path or ''}"
    fields = dict(p.split("=", 1) for p in dsn.split() if "=" in p)
    host, port = fields.get("host", "localhost"), fields.get("port", "5432")
    return f"{host}:{port}/{fields.get('dbname', '')}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
