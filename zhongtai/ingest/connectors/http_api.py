"""Pull a department's HTTP JSON API page by page into landing, resumably.

The API is asked for one business date at a time (``?date=D&limit=N&cursor=C``,
names configurable) and answers ``{"items": [...], "next_cursor": "..." | null}``
(field names configurable, dotted paths allowed). Every page with items is written
as its own part file of the day's delivery,
``landing/<feed>/<source>/<D>/<name>-<page:05d>-<hash of the request cursor>.jsonl``,
and only then is the next cursor stored in ``ledger/connectors/<feed>/<source>.json``.
A crash therefore resumes at the first page not yet stored: a page written but not
yet committed is fetched again and rewritten under the same name, so no row is lost
or landed twice. ``next_cursor: null`` completes the day; a completed day is not
pulled again unless ``restart=True`` (which rewrites the same files when the API
answers the same).

Transient failures (connection errors, timeouts, unparsable bodies, HTTP 429 and
5xx) are retried with exponential backoff and jitter, honouring ``Retry-After``;
other 4xx stop with a clear error. The token is read from an environment variable,
sent in a header that is not forwarded on redirects, and never appears in messages.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import http.client
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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

KIND = "http_api"
_SECRET_WORDS = ("token", "key", "secret", "password", "passwd", "sig", "auth", "credential")


class _Transient(Exception):
    """A failure worth retrying; ``wait`` is a server-requested delay in seconds."""

    def __init__(self, what: str, wait: float | None = None):
        super().__init__(what)
        self.wait = wait


def pull_http_api(
    settings: Settings,
    feed: str,
    source: str,
    business_date: dt.date,
    base_url: str,
    token_env: str | None = None,
    page_size: int = 1000,
    max_retries: int = 5,
    backoff_base: float = 0.5,
    timeout: float = 30,
    *,
    items_field: str = "items",
    cursor_field: str = "next_cursor",
    cursor_param: str = "cursor",
    limit_param: str = "limit",
    date_param: str | None = "date",
    params: Mapping[str, str] | None = None,
    auth_header: str = "Authorization",
    auth_scheme: str = "Bearer",
    max_backoff: float = 60.0,
    max_retry_after: float = 600.0,
    max_pages: int = 1_000_000,
    name: str = "api",
    restart: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    environ: Mapping[str, str] | None = None,
    on_event: Callable[[str, int], None] | None = None,
) -> PullReport:
    """Pull every page of one business date from a cursor-paginated JSON API.

    Args:
        settings: platform settings (lake).
        feed: contract id.
        source: the sending system; one of the contract's sources.
        business_date: D; sent as ``date_param`` and used as the landing date folder.
        base_url: the endpoint, e.g. ``https://api.example.gov.cn/v1/tests``; must not
            carry credentials.
        token_env: name of the environment variable holding the API token (None: no auth).
        page_size: items per page, sent as ``limit_param``.
        max_retries: retries per request after the first attempt.
        backoff_base: first backoff delay in seconds; doubles per retry, with jitter.
        timeout: socket timeout per request, in seconds.
        items_field: where the page's items are in the response (dotted path).
        cursor_field: where the next cursor is (dotted path); null or absent ends the day.
        cursor_param: query parameter carrying the cursor (omitted on the first page).
        limit_param: query parameter carrying ``page_size``.
        date_param: query parameter carrying D (None: not sent).
        params: extra fixed query parameters (no secrets: use ``token_env``).
        auth_header: header that carries the token.
        auth_scheme: prefix before the token (``""``: the bare token).
        max_backoff: cap on one backoff delay, in seconds.
        max_retry_after: longest ``Retry-After`` honoured; a longer one stops the pull.
        max_pages: safety cap on pages per pull.
        name: delivery part-file name prefix.
        restart: pull D again from the first page even if it was completed.
        sleep: how to wait between retries (tests inject a recorder).
        rng: jitter source in [0, 1).
        environ: where ``token_env`` is looked up (default: ``os.environ``).
        on_event: test hook called with (``"written"`` | ``"committed"``, page number)
            after a page's file is written and after its cursor is stored.

    Returns:
        The pull report; ``before``/``after`` are the stored cursor before and after
        (``after`` is None once the day is complete).

    Raises:
        ZhongtaiError: missing token, HTTP 4xx, retries exhausted, malformed pages.
    """
    require_source(feed, source)
    if page_size < 1 or max_retries < 0 or backoff_base < 0:
        raise ZhongtaiError("page_size must be >= 1, max_retries and backoff_base >= 0")
    shown = redact_url(base_url)
    if urlsplit(base_url).username or urlsplit(base_url).password:
        raise ZhongtaiError(
            f"base_url {shown} carries credentials; put the token in an environment "
            "variable and name it in token_env"
        )
    headers = {"Accept": "application/json", "User-Agent": "zhongtai-connector"}
    secret: dict[str, str] = {}
    if token_env:
        token = (os.environ if environ is None else environ).get(token_env, "")
        if not token:
            raise ZhongtaiError(
                f"environment variable {token_env} (the API token for {feed}/{source}) is "
                "not set; set it before pulling"
            )
        secret[auth_header] = f"{auth_scheme} {token}".strip()

    lake = Lake(settings)
    lake.ensure()
    state = read_state(lake, feed, source)
    check_kind(state, KIND, feed, source, base_url=shown)
    days: dict[str, Any] = dict(state.get("days") or {})
    key = business_date.isoformat()
    day = dict(days.get(key) or {})
    if restart or not day:
        day = {"cursor": None, "pages": 0, "rows": 0, "complete": False}
    report = PullReport(feed, source, business_date, KIND)
    report.before = report.after = day["cursor"]
    if day["complete"]:
        report.notes.append("day already complete; pass restart=True to pull it again")
        return report

    fetch = _Fetcher(headers, secret, timeout, max_retries, backoff_base, max_backoff,
                     max_retry_after, sleep, rng, report)  # fmt: skip
    while True:
        if report.pages >= max_pages:
            raise ZhongtaiError(
                f"{shown}: more than {max_pages} pages in one pull; raise max_pages if real"
            )
        cursor = day["cursor"]
        query = dict(params or {})
        if date_param:
            query[date_param] = key
        query[limit_param] = str(page_size)
        if cursor is not None:
            query[cursor_param] = str(cursor)
        body = fetch.get_json(_with_query(base_url, query))
        items = _dig(body, items_field)
        nxt = _dig(body, cursor_field)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ZhongtaiError(f"{shown}: '{items_field}' in the response is not a list")
        if nxt is not None and (isinstance(nxt, bool) or not isinstance(nxt, (str, int))):
            raise ZhongtaiError(f"{shown}: '{cursor_field}' is neither text, a number nor null")
        nxt = None if nxt is None else str(nxt)
        if nxt is not None and nxt == cursor:
            raise ZhongtaiError(
                f"{shown}: the API returned the same cursor again; stopping to avoid a loop"
            )
        page = day["pages"] + 1
        report.pages += 1
        if items:
            h = hashlib.sha256(json.dumps(cursor).encode()).hexdigest()[:12]
            rel = landing_path(feed, source, business_date, f"{name}-{page:05d}-{h}.jsonl")
            lake.write_bytes(rel, _jsonl(items))
            report.files.append(rel)
            report.rows += len(items)
            if on_event is not None:
                on_event("written", page)
        day = {
            "cursor": nxt,
            "pages": page,
            "rows": int(day["rows"]) + len(items),
            "complete": nxt is None,
        }
        days[key] = day
        # the cursor moves on only once the page it covers is in landing
        write_state(lake, feed, source, {"kind": KIND, "base_url": shown, "days": days})
        report.after = nxt
        if on_event is not None:
            on_event("committed", page)
        if nxt is None:
            break
    log.info(
        "pull %s/%s %s: %d rows in %d page(s), %d retries",
        feed,
        source,
        business_date,
        report.rows,
        report.pages,
        report.retries,
    )
    return report


class _Fetcher:
    def __init__(
        self,
        headers: dict[str, str],
        secret: dict[str, str],
        timeout: float,
        max_retries: int,
        backoff_base: float,
        max_backoff: float,
        max_retry_after: float,
        sleep: Callable[[float], None],
        rng: Callable[[], float],
        report: PullReport,
    ):
        self.headers = headers
        self.secret = secret
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.rng = rng
        self.report = report
        # the token goes in an unredirected header: a redirect does not carry it elsewhere
        self.opener = urllib.request.build_opener()

    def get_json(self, url: str) -> Any:
        shown = redact_url(url)
        attempt = 0
        while True:
            try:
                return self._once(url, shown)
            except _Transient as t:
                if attempt >= self.max_retries:
                    raise ZhongtaiError(
                        f"GET {shown} failed {attempt + 1} times (last: {t}); pages already "
                        "stored are kept: run the pull again to resume"
                    ) from None
                if t.wait is not None:
                    if t.wait > self.max_retry_after:
                        raise ZhongtaiError(
                            f"GET {shown}: the API asks to wait {t.wait:.0f} s (Retry-After); "
                            "run the pull again later"
                        ) from None
                    delay = t.wait
                else:
                    cap = min(self.max_backoff, self.backoff_base * 2**attempt)
                    delay = cap / 2 + cap / 2 * self.rng()
                log.warning("GET %s: %s; retry %d in %.2f s", shown, t, attempt + 1, delay)
                self.sleep(delay)
                attempt += 1
                self.report.retries += 1

    def _once(self, url: str, shown: str) -> Any:
        req = urllib.request.Request(url, headers=self.headers)
        for k, v in self.secret.items():
            req.add_unredirected_header(k, v)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                data = resp.read()
        except urllib.error.HTTPError as e:
            status, reason, retry_after = e.code, e.reason, e.headers.get("Retry-After")
            e.close()
            if status == 429 or 500 <= status < 600:
                raise _Transient(f"HTTP {status}", _retry_after(retry_after)) from None
            hint = (
                "check the token in the environment variable named by token_env"
                if status in (401, 403)
                else "check base_url and the query parameters"
            )
            raise ZhongtaiError(f"GET {shown} returned HTTP {status} {reason}; {hint}") from None
        except urllib.error.URLError as e:
            raise _Transient(f"connection failed: {type(e.reason).__name__}") from None
        except (OSError, http.client.HTTPException) as e:
            raise _Transient(f"connection failed: {type(e).__name__}") from None
        try:
            return json.loads(data, parse_float=str, parse_constant=str)
        except ValueError:
            raise _Transient("response is not valid JSON (truncated?)") from None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _dig(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _jsonl(items: list[Any]) -> bytes:
    return "".join(
        json.dumps(it, ensure_ascii=False, separators=(",", ":")) + "\n" for it in items
    ).encode("utf-8")


def _with_query(base_url: str, query: Mapping[str, str]) -> str:
    parts = urlsplit(base_url)
    merged = parse_qsl(parts.query, keep_blank_values=True) + list(query.items())
    return urlunsplit(parts._replace(query=urlencode(merged)))


def redact_url(url: str) -> str:
    """A URL fit for messages: no user info, secret-looking query values masked."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = [
        (k, "***" if any(w in k.lower() for w in _SECRET_WORDS) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))
