"""Deliveries: discovery in landing, file checksums, the SHA-256 registry and the ledger.

The registry remembers every file ingested, keyed by its SHA-256, with the
business date and path where it was first seen
(``ledger/registry/<feed>/<sha256>.json``). A file with a known checksum is a
duplicate unless it is that first (date, path) again: then it is a re-run of
the same day and is ingested again, identically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from zhongtai.lake.store import Lake

LEDGER_SCHEMA = pa.schema(
    [
        ("delivery_id", pa.string()),
        ("feed", pa.string()),
        ("source", pa.string()),
        ("business_date", pa.date32()),
        ("file", pa.string()),
        ("file_sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("format", pa.string()),
        ("encoding", pa.string()),
        ("status", pa.string()),
        ("rows_in", pa.int64()),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("rows_duplicate", pa.int64()),
        ("message", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)

STATUSES = ("loaded", "duplicate", "rejected", "empty", "failed")


@dataclass(frozen=True)
class Delivery:
    """One file found in landing for a feed and business date."""

    path: str
    source: str
    name: str
    size: int
    nested: bool = False


def discover(lake: Lake, feed: str, business_date: dt.date) -> list[Delivery]:
    """All files under ``landing/<feed>/<source>/<YYYY-MM-DD>/``, sorted by path."""
    day = business_date.isoformat()
    out = []
    for source in lake.list_dirs(f"landing/{feed}"):
        base = f"landing/{feed}/{source}/{day}/"
        for f in lake.list_files(base):
            rest = f.path[len(base) :]
            out.append(Delivery(f.path, source, rest, f.size, nested="/" in rest))
    return sorted(out, key=lambda d: d.path)


def unsafe_name_reason(d: Delivery) -> str | None:
    """Why a delivery's name is refused, or None when it is acceptable."""
    if d.nested:
        return "is in a sub-folder; deliveries go directly in landing/<feed>/<source>/<date>/"
    name = d.name
    if name.startswith("."):
        return "is a hidden or temporary file"
    if "\\" in name or ".." in name or any(ord(c) < 32 or c == "\x7f" for c in name):
        return "has '..', a backslash or control characters in its name"
    return None


def file_sha256(lake: Lake, path: str) -> str:
    """SHA-256 hex of a lake file, streamed."""
    h = hashlib.sha256()
    with lake.open_input(path) as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def delivery_id(feed: str, business_date: dt.date, path: str, sha256: str) -> str:
    """Stable id of a delivery: the same file at the same place and day keeps its id."""
    key = f"{feed}|{business_date.isoformat()}|{path}|{sha256}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def registry_path(feed: str, sha256: str) -> str:
    """Lake path of a file's registry entry."""
    return f"ledger/registry/{feed}/{sha256}.json"


def registry_get(lake: Lake, feed: str, sha256: str) -> dict[str, Any] | None:
    """The registry entry of a checksum, or None."""
    rel = registry_path(feed, sha256)
    return lake.read_json(rel) if lake.exists(rel) else None


def registry_put(lake: Lake, feed: str, entry: dict[str, Any]) -> None:
    """Record a file as ingested (first sighting wins; existing entries are kept)."""
    rel = registry_path(feed, entry["sha256"])
    if not lake.exists(rel):
        lake.write_json(rel, entry)


def ledger_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Ledger rows as an Arrow table in :data:`LEDGER_SCHEMA`."""
    return pa.Table.from_pylist(rows, schema=LEDGER_SCHEMA)
