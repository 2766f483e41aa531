"""A small read-only HTTP API over the published daily diff exports.

The library part (:func:`list_manifests`, :func:`read_manifest`,
:func:`changes_since`) reads the lake through :class:`~zhongtai.lake.Lake`;
the HTTP part (:func:`make_server`, :func:`serve`) is a thin shell over it on
the standard library's ``ThreadingHTTPServer``::

    GET /v1/datasets                                        exported datasets
    GET /v1/datasets/<dataset>/manifests                    published manifests, by date
    GET /v1/datasets/<dataset>/days/<date>/manifest         one day's manifest
    GET /v1/datasets/<dataset>/days/<date>/diff?format=jsonl|csv|parquet
    GET /v1/datasets/<dataset>/changes?since=<change_seq>&limit=<n>

Every request needs ``Authorization: Bearer <token>`` with a token from
``ZT_EXPORT_API_TOKENS`` (comma-separated); only SHA-256 digests of the tokens
are kept in memory. Only GET and HEAD exist. Dataset names come from an
allow-list and dates must be ``YYYY-MM-DD``, so no request reaches a path
outside ``exports/<dataset>/``.

``change_seq`` numbers every change of a dataset across days without gaps, so
an app that was offline keeps the last ``change_seq`` it applied as its cursor
and asks for what came after; the manifests' first/last change numbers tell
which days hold those changes, so only those days are read.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.export.diff import EXPORT_DATASETS
from zhongtai.export.presign import check_dataset, check_day
from zhongtai.lake import Lake
from zhongtai.settings import Settings

log = logging.getLogger(__name__)

TOKENS_ENV = "ZT_EXPORT_API_TOKENS"
MIN_TOKEN_LENGTH = 16
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000
CHUNK = 1 << 16
FORMATS = {
    "jsonl": ("diff.jsonl", "application/x-ndjson; charset=utf-8"),
    "csv": ("diff.csv", "text/csv; charset=utf-8"),
    "parquet": ("diff.parquet", "application/vnd.apache.parquet"),
}


class ExportApiError(ZhongtaiError):
    """A request the API cannot answer; ``status`` is the HTTP status it maps to."""

    status = HTTPStatus.BAD_REQUEST


class ExportNotFound(ExportApiError):
    """No such dataset, day or file."""

    status = HTTPStatus.NOT_FOUND


class ExportCorrupt(ExportApiError):
    """A published file does not match its manifest."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR


class CursorGone(ExportApiError):
    """The cursor is older than the oldest change still published."""

    status = HTTPStatus.GONE


class CursorAhead(ExportApiError):
    """The cursor is past the latest published change (the export history was reset)."""

    status = HTTPStatus.CONFLICT


@dataclass(frozen=True)
class ChangesPage:
    """One page of changes after a cursor.

    Attributes:
        changes: change rows (change_seq, op, key, before, after, business_date), in order.
        next_cursor: the cursor to ask with next (the last change_seq returned, or ``since``).
        has_more: True when more changes follow ``next_cursor``.
        latest_change_seq: the last change_seq published for the dataset.
    """

    changes: list[dict[str, Any]]
    next_cursor: int
    has_more: bool
    latest_change_seq: int


# -- library ------------------------------------------------------------------------------
def list_manifests(lake: Lake, dataset: str) -> list[dict[str, Any]]:
    """All published manifests of ``dataset``, oldest business date first.

    A day whose ``manifest.json`` is not written yet is not listed: the
    manifest is written last, after the files it describes.
    """
    check_dataset(dataset)
    found = [
        f.path
        for f in lake.list_files(f"exports/{dataset}")
        if f.path.endswith("/manifest.json") and "/date=" in f.path
    ]
    manifests = [lake.read_json(p) for p in found]
    return sorted(manifests, key=lambda m: str(m["business_date"]))


def read_manifest(lake: Lake, dataset: str, day: str) -> dict[str, Any]:
    """The published manifest of one day.

    Raises:
        ExportNotFound: when the day has no published manifest.
    """
    rel = f"exports/{check_dataset(dataset)}/date={check_day(day)}/manifest.json"
    if not lake.exists(rel):
        raise ExportNotFound(f"no published export of {dataset} for {day}")
    return dict(lake.read_json(rel))


def _before_first(m: Mapping[str, Any]) -> int:
    """The change_seq right before the first change of a manifest's day."""
    return int(m["last_change_seq"]) - int(m["rows"])


_DAY_CACHE: OrderedDict[tuple[str, str], Any] = OrderedDict()
_DAY_CACHE_LOCK = threading.Lock()
DAY_CACHE_SIZE = 4


def _read_day_changes(lake: Lake, m: Mapping[str, Any]) -> Any:
    """A day's changes as an Arrow table sorted by change_seq (checked, then cached).

    Paging through a big day reads it once: the cache is keyed by the file's
    SHA-256 from the manifest, so a re-exported day is never served stale.
    """
    import pyarrow.parquet as pq

    rel = f"exports/{m['dataset']}/date={m['business_date']}/diff.parquet"
    expected = str(m["files"]["diff.parquet"]["sha256"])
    key = (lake.uri(rel), expected)
    with _DAY_CACHE_LOCK:
        if key in _DAY_CACHE:
            _DAY_CACHE.move_to_end(key)
            return _DAY_CACHE[key]
    data = lake.read_bytes(rel)
    if hashlib.sha256(data).hexdigest() != expected:
        raise ExportCorrupt(
            f"{rel} does not match its manifest's sha256; re-run the export of that day"
        )
    table = pq.read_table(io.BytesIO(data)).sort_by("change_seq")
    with _DAY_CACHE_LOCK:
        _DAY_CACHE[key] = table
        while len(_DAY_CACHE) > DAY_CACHE_SIZE:
            _DAY_CACHE.popitem(last=False)
    return table


def changes_since(lake: Lake, dataset: str, since: int, limit: int = DEFAULT_LIMIT) -> ChangesPage:
    """The changes of ``dataset`` with ``change_seq > since``, across days, in order.

    Args:
        lake: the lake holding ``exports/``.
        dataset: an exported dataset name.
        since: the last change_seq the caller has applied (0 for none).
        limit: at most this many changes (1..10000).

    Returns:
        One page; ask again with ``next_cursor`` while ``has_more``.

    Raises:
        CursorGone: ``since`` is older than the oldest published change (re-sync from a day).
        CursorAhead: ``since`` is past the latest published change.
        ExportApiError: ``since`` or ``limit`` out of range.
    """
    if since < 0:
        raise ExportApiError("since must be a change_seq >= 0")
    if not 1 <= limit <= MAX_LIMIT:
        raise ExportApiError(f"limit must be between 1 and {MAX_LIMIT}")
    manifests = list_manifests(lake, dataset)
    if not manifests:
        if since > 0:
            raise CursorAhead(f"{dataset} has no published export, but the cursor is {since}")
        return ChangesPage([], 0, False, 0)
    latest = int(manifests[-1]["last_change_seq"])
    oldest = _before_first(manifests[0])
    if since < oldest:
        raise CursorGone(
            f"changes of {dataset} after {since} are no longer published (the oldest day starts "
            f"after {oldest}); re-sync from a full state and continue from its cursor"
        )
    if since > latest:
        raise CursorAhead(
            f"cursor {since} is past the latest published change {latest} of {dataset}; "
            "the export history was reset: re-sync from change 0"
        )
    out: list[dict[str, Any]] = []
    has_more = False
    for m in manifests:
        if int(m["rows"]) == 0 or int(m["last_change_seq"]) <= since:
            continue
        if len(out) >= limit:
            has_more = True
            break
        table = _read_day_changes(lake, m)
        seqs = table.column("change_seq").to_numpy()
        start = int(np.searchsorted(seqs, since, side="right"))
        room = limit - len(out)
        out.extend(table.slice(start, room).to_pylist())
        if table.num_rows - start > room:
            has_more = True
            break
    for i, row in enumerate(out):  # change_seq has no gaps: a hole means a day went missing
        if int(row["change_seq"]) != since + 1 + i:
            raise ExportCorrupt(
                f"changes {since + 1 + i}..{int(row['change_seq']) - 1} of {dataset} are not in "
                "any published day; re-run the export of the missing days"
            )
    next_cursor = int(out[-1]["change_seq"]) if out else since
    return ChangesPage(out, next_cursor, has_more, latest)


# -- tokens -------------------------------------------------------------------------------
class TokenSet:
    """Bearer tokens, kept only as SHA-256 digests."""

    def __init__(self, tokens: Iterable[str]):
        clean = [t.strip() for t in tokens if t.strip()]
        if not clean:
            raise ConfigError(
                f"no API token configured; set {TOKENS_ENV} to one or more comma-separated "
                f"random tokens (at least {MIN_TOKEN_LENGTH} characters each)"
            )
        if any(len(t) < MIN_TOKEN_LENGTH for t in clean):
            raise ConfigError(
                f"{TOKENS_ENV} holds a token shorter than {MIN_TOKEN_LENGTH} characters; "
                "use long random tokens, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe())'`"
            )
        self._digests = tuple(hashlib.sha256(t.encode()).digest() for t in clean)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenSet:
        """Tokens from ``ZT_EXPORT_API_TOKENS``."""
        env = os.environ if environ is None else environ
        return cls(env.get(TOKENS_ENV, "").split(","))

    def accepts(self, authorization: str | None) -> bool:
        """True when an ``Authorization`` header carries one of the tokens."""
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        digest = hashlib.sha256(token.strip().encode()).digest()
        ok = False
        for d in self._digests:  # no early exit: time does not tell which token matched
            ok |= hmac.compare_digest(digest, d)
        return ok


# -- HTTP ---------------------------------------------------------------------------------
class ExportApiServer(ThreadingHTTPServer):
    """The HTTP server, holding the lake and the tokens for its handlers."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], lake: Lake, tokens: TokenSet):
        self.lake = lake
        self.tokens = tokens
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: ExportApiServer
    server_version = "zhongtai-exports/1"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self._handle(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(body=False)

    def _refuse_method(self) -> None:
        self.close_connection = True  # a request body may follow that we do not read
        self._send_json(
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"error": "read-only API: use GET or HEAD"},
            extra={"Allow": "GET, HEAD"},
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # Request lines hold dataset, date and cursor only; tokens are in headers, never logged.
        log.info("%s " + format, self.client_address[0], *args)

    # -- dispatch --
    def _handle(self, body: bool) -> None:
        try:
            if not self.server.tokens.accepts(self.headers.get("Authorization")):
                self._send_json(
                    HTTPStatus.UNAUTHORIZED,
                    {"error": "missing or wrong bearer token"},
                    extra={"WWW-Authenticate": 'Bearer realm="zhongtai-exports"'},
                )
                return
            self._route(body)
        except ExportApiError as e:
            self._send_json(e.status, {"error": str(e)}, body=body)
        except ZhongtaiError as e:
            # Unknown dataset, bad date: the request named something that does not exist.
            self._send_json(HTTPStatus.NOT_FOUND, {"error": str(e)}, body=body)
        except Exception as e:  # the client gets no traceback; the server log gets the type
            log.error("export API error on %s: %s", self.path.split("?")[0], type(e).__name__)
            self._send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"error": "internal error; see the server log"},
                body=body,
            )

    def _route(self, body: bool) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        lake = self.server.lake
        match parts:
            case ["v1", "datasets"]:
                self._send_json(
                    HTTPStatus.OK, {"datasets": [d.name for d in EXPORT_DATASETS]}, body=body
                )
            case ["v1", "datasets", ds, "manifests"]:
                self._send_json(
                    HTTPStatus.OK, {"dataset": ds, "manifests": list_manifests(lake, ds)}, body=body
                )
            case ["v1", "datasets", ds, "days", day, "manifest"]:
                self._send_json(HTTPStatus.OK, read_manifest(lake, ds, day), body=body)
            case ["v1", "datasets", ds, "days", day, "diff"]:
                self._send_diff(ds, day, query.get("format", "jsonl"), body)
            case ["v1", "datasets", ds, "changes"]:
                since = _int_param(query, "since", None)
                limit = _int_param(query, "limit", DEFAULT_LIMIT)
                page = changes_since(lake, ds, since, limit)
                self._send_json(
                    HTTPStatus.OK,
                    {
                        "dataset": ds,
                        "since": since,
                        "changes": page.changes,
                        "next_cursor": page.next_cursor,
                        "has_more": page.has_more,
                        "latest_change_seq": page.latest_change_seq,
                    },
                    body=body,
                )
            case _:
                raise ExportNotFound("no such resource; see /v1/datasets")

    def _send_diff(self, dataset: str, day: str, fmt: str, body: bool) -> None:
        if fmt not in FORMATS:
            raise ExportApiError(f"format must be one of {', '.join(FORMATS)}")
        name, ctype = FORMATS[fmt]
        manifest = read_manifest(self.server.lake, dataset, day)
        meta = manifest["files"].get(name)
        if meta is None:
            raise ExportNotFound(f"the {dataset} export of {day} has no {name}")
        rel = f"exports/{dataset}/date={day}/{name}"
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(meta["bytes"]))
        self.send_header("Content-Disposition", f'attachment; filename="{dataset}-{day}.{fmt}"')
        self.send_header("X-Content-SHA256", meta["sha256"])
        self.send_header("ETag", f'"{meta["sha256"]}"')
        self.send_header("Cache-Control", "private, no-store")
        self.end_headers()
        if not body:
            return
        with self.server.lake.open_input(rel) as f:
            while chunk := f.read(CHUNK):
                self.wfile.write(chunk)

    def _send_json(
        self, status: int, obj: Any, body: bool = True, extra: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "private, no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(data)


def _int_param(query: Mapping[str, str], name: str, default: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        if default is None:
            raise ExportApiError(f"the {name} parameter is required (a change_seq, 0 for all)")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ExportApiError(f"{name}={raw!r} is not an integer") from None


def make_server(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8088,
    tokens: Iterable[str] | None = None,
) -> ExportApiServer:
    """A bound, not yet serving, export API server (port 0 picks a free port).

    Args:
        settings: whose lake holds ``exports/``; on S3, give it the export-reader keys.
        host: interface to bind.
        port: TCP port.
        tokens: accepted bearer tokens; from ``ZT_EXPORT_API_TOKENS`` when None.

    Raises:
        ConfigError: no or too short tokens.
        ZhongtaiError: the address cannot be bound.
    """
    token_set = TokenSet(tokens) if tokens is not None else TokenSet.from_env()
    try:
        return ExportApiServer((host, port), Lake(settings), token_set)
    except OSError as e:
        raise ZhongtaiError(
            f"cannot listen on {host}:{port} ({e.strerror}); pick another port"
        ) from None


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8088,
    tokens: Iterable[str] | None = None,
) -> None:
    """Serve the export API until interrupted (Ctrl-C).

    Args:
        settings: whose lake holds ``exports/``.
        host: interface to bind; keep loopback behind a TLS-terminating proxy.
        port: TCP port.
        tokens: accepted bearer tokens; from ``ZT_EXPORT_API_TOKENS`` when None.
    """
    server = make_server(settings, host, port, tokens)
    log.info("export API on http://%s:%d/v1/datasets", *server.server_address[:2])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
