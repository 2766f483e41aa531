"""A small downstream client of the export HTTP API (standard library only).

An app keeps two things: its local state (key → row) and a cursor (the last
``change_seq`` it applied). After any time offline it catches up with::

    client = ExportClient("https://exports.example.gov", token)
    changes, cursor = client.changes_since("person_codes", cursor)
    client.apply(state, changes)

``apply`` checks every update and delete against the row the app holds, so a
skipped or doubled change is reported instead of silently corrupting the state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from zhongtai.errors import ZhongtaiError


@dataclass(frozen=True)
class ChangesPage:
    """One page of changes as the API returned it."""

    changes: list[dict[str, Any]]
    next_cursor: int
    has_more: bool


class ExportClient:
    """Pull manifests, days and changes from the export API with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0):
        """Create a client.

        Args:
            base_url: e.g. ``http://127.0.0.1:8088`` (no trailing ``/v1``).
            token: a bearer token the server accepts.
            timeout: seconds per request.
        """
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ExportClient({self.base_url!r})"  # never the token

    # -- transport --
    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[bytes, Any]:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        req = Request(url, headers={"Authorization": f"Bearer {self._token}"})
        try:
            with urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - http(s) base URL
                return resp.read(), resp.headers
        except HTTPError as e:
            try:
                msg = json.loads(e.read()).get("error", "")
            except ValueError:
                msg = ""
            raise ZhongtaiError(
                f"export API refused {path} with {e.code}: {msg or e.reason}"
            ) from None
        except (URLError, OSError) as e:
            raise ZhongtaiError(f"export API at {self.base_url} is not reachable: {e}") from None

    def _json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return json.loads(self._get(path, params)[0])

    @staticmethod
    def _ds(dataset: str) -> str:
        return quote(dataset, safe="")

    # -- API --
    def manifests(self, dataset: str) -> list[dict[str, Any]]:
        """Published manifests of ``dataset``, oldest day first."""
        return list(self._json(f"/v1/datasets/{self._ds(dataset)}/manifests")["manifests"])

    def manifest(self, dataset: str, day: str) -> dict[str, Any]:
        """The manifest of one day."""
        return dict(self._json(f"/v1/datasets/{self._ds(dataset)}/days/{quote(day)}/manifest"))

    def fetch_day(self, dataset: str, day: str, format: str = "jsonl") -> bytes:  # noqa: A002
        """The diff file of one day, checked against the SHA-256 the server sends.

        Raises:
            ZhongtaiError: on a refused request or a checksum mismatch.
        """
        data, headers = self._get(
            f"/v1/datasets/{self._ds(dataset)}/days/{quote(day)}/diff", {"format": format}
        )
        expected = headers.get("X-Content-SHA256")
        if not expected or hashlib.sha256(data).hexdigest() != expected:
            raise ZhongtaiError(
                f"the {format} diff of {dataset} for {day} arrived damaged (SHA-256 differs); "
                "fetch it again"
            )
        return data

    def changes_page(self, dataset: str, cursor: int, limit: int = 1000) -> ChangesPage:
        """One page of changes after ``cursor``."""
        doc = self._json(
            f"/v1/datasets/{self._ds(dataset)}/changes", {"since": int(cursor), "limit": int(limit)}
        )
        return ChangesPage(list(doc["changes"]), int(doc["next_cursor"]), bool(doc["has_more"]))

    def changes_since(
        self, dataset: str, cursor: int, page_size: int = 1000
    ) -> tuple[list[dict[str, Any]], int]:
        """All changes after ``cursor``, following pages; returns (changes, next_cursor)."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.changes_page(dataset, cursor, page_size)
            out.extend(page.changes)
            if page.next_cursor < cursor or (page.has_more and page.next_cursor == cursor):
                raise ZhongtaiError("the export API returned a cursor that does not advance")
            cursor = page.next_cursor
            if not page.has_more:
                return out, cursor

    @staticmethod
    def apply(state: dict[str, Any], changes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Apply changes in order to ``state`` (key → row dict), in place; returns it.

        Raises:
            ZhongtaiError: when a change does not fit the state (an insert of a
                key already held, an update or delete whose ``before`` differs
                from the held row): the local state has diverged; re-sync.
        """
        for ch in sorted(changes, key=lambda c: int(c["change_seq"])):
            op, key, seq = ch["op"], str(ch["key"]), int(ch["change_seq"])
            before = json.loads(ch["before"]) if ch.get("before") else None
            after = json.loads(ch["after"]) if ch.get("after") else None
            if op == "insert":
                if key in state:
                    raise ZhongtaiError(f"change {seq} inserts a key already held; re-sync")
                state[key] = after
            elif op in ("update", "delete"):
                if key not in state or state[key] != before:
                    raise ZhongtaiError(
                        f"change {seq} ({op}) does not match the held row; the local state "
                        "has diverged: re-sync from change 0"
                    )
                if op == "update":
                    state[key] = after
                else:
                    del state[key]
            else:
                raise ZhongtaiError(f"change {seq} has an unknown op {op!r}")
        return state
