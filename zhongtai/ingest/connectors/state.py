"""Connector state in the lake: the watermark or cursor of each (feed, source), and pull reports.

A pull connector remembers how far it got in ``ledger/connectors/<feed>/<source>.json``,
written atomically with :meth:`Lake.write_json`. The state is advanced only after
the delivery file it covers has been written to landing, so a crash between the two
re-pulls the same range, never skips one. The state holds watermarks and cursors
only, never record values.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.store import Lake

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass
class PullReport:
    """What one pull did.

    Attributes:
        feed: contract id.
        source: the sending system (landing ``<source>`` folder).
        business_date: the landing date folder written.
        kind: ``folder``, ``postgres_table`` or ``http_api``.
        rows: data rows written to landing by this pull.
        files: lake-relative landing paths written, in order.
        before: watermark or cursor before the pull (None: from the start).
        after: watermark or cursor after the pull.
        pages: HTTP pages fetched (http_api only).
        retries: requests retried after a transient failure (http_api only).
        notes: things an operator should know (e.g. rows without a watermark), no values.
    """

    feed: str
    source: str
    business_date: dt.date
    kind: str
    rows: int = 0
    files: list[str] = field(default_factory=list)
    before: str | None = None
    after: str | None = None
    pages: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)


def state_path(feed: str, source: str) -> str:
    """Lake path of the state of one (feed, source): ``ledger/connectors/<feed>/<source>.json``."""
    for label, value in (("feed", feed), ("source", source)):
        if not _NAME.match(value):
            raise ZhongtaiError(
                f"{label} {value!r} is not a plain name; use letters, digits, '_', '-' or '.'"
            )
    return f"ledger/connectors/{feed}/{source}.json"


def read_state(lake: Lake, feed: str, source: str) -> dict[str, Any]:
    """The stored state of a (feed, source), or ``{}`` before its first pull.

    Raises:
        ZhongtaiError: the state file is not a JSON object (damaged).
    """
    rel = state_path(feed, source)
    if not lake.exists(rel):
        return {}
    try:
        state = lake.read_json(rel)
    except ValueError:
        state = None
    if not isinstance(state, dict):
        raise ZhongtaiError(
            f"connector state {lake.uri(rel)} is damaged (not a JSON object); restore it from "
            "backup or delete it to pull the source again from the start"
        )
    return state


def write_state(lake: Lake, feed: str, source: str, state: dict[str, Any]) -> None:
    """Replace the stored state of a (feed, source) atomically."""
    lake.write_json(state_path(feed, source), state)


def check_kind(state: dict[str, Any], kind: str, feed: str, source: str, **identity: Any) -> None:
    """Refuse to continue a state written by another connector or for another object.

    Args:
        state: the stored state (``{}`` is always accepted).
        kind: the connector kind about to use it.
        feed: contract id (for the message).
        source: source name (for the message).
        **identity: what the state must be about (e.g. ``table=...``); keys absent from
            the stored state are accepted.

    Raises:
        ZhongtaiError: the state belongs to another kind or object.
    """
    if not state:
        return
    where = f"ledger/connectors/{feed}/{source}.json"
    if state.get("kind") not in (None, kind):
        raise ZhongtaiError(
            f"{where} was written by a {state.get('kind')} connector, not {kind}; give this "
            "source another name or delete the state to start over"
        )
    for key, value in identity.items():
        stored = state.get(key)
        if stored is not None and stored != value:
            raise ZhongtaiError(
                f"{where} tracks {key}={stored!r}, not {value!r}; give this source another "
                "name or delete the state to start over"
            )


def require_source(feed: str, source: str) -> None:
    """Refuse a source the feed's contract does not list (as the folder connector does).

    Raises:
        ZhongtaiError: unknown feed or source.
    """
    from zhongtai.contracts.model import load_contract

    state_path(feed, source)
    contract = load_contract(feed)
    if contract.sources and source not in contract.sources:
        raise ZhongtaiError(
            f"source {source!r} is not a source of {feed}; use one of {', '.join(contract.sources)}"
        )
