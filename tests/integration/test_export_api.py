"""The read-only export HTTP API over a local lake with three published days."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import threading

import pyarrow as pa
import pytest

from zhongtai.errors import ConfigError
from zhongtai.export import api
from zhongtai.export.api import make_server
from zhongtai.export.client import ExportClient
from zhongtai.export.diff import export_day
from zhongtai.lake import Lake

TOKEN = "tok-" + "a" * 28
DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]
CODES = [
    [("P1", "green"), ("P2", "yellow"), ("P3", "green")],
    [("P1", "red"), ("P2", "yellow"), ("P4", "yellow")],  # P1 update, P3 delete, P4 insert
    [("P1", "green"), ("P4", "yellow"), ("P5", "red"), ("P6", "green")],  # P1, -P2, +P5, +P6
]
PERSONS = [  # day 2 has no change at all
    [("P1", "110105"), ("P2", "110106")],
    [("P1", "110105"), ("P2", "110106")],
    [("P1", "110105"), ("P2", "110107")],
]


def _codes(rows):
    return pa.Table.from_pylist([{"person_key": k, "code": c} for k, c in rows])


def _persons(rows):
    return pa.Table.from_pylist([{"person_key": k, "community_code": c} for k, c in rows])


@pytest.fixture
def published(settings):
    for i, day in enumerate(DAYS):
        export_day(
            settings,
            dt.date.fromisoformat(day),
            f"run-{i}",
            {
                "person_codes": lambda i=i: _codes(CODES[i]),
                "persons": lambda i=i: _persons(PERSONS[i]),
            },
        )
    return settings


@pytest.fixture
def server(published):
    srv = make_server(published, "127.0.0.1", 0, tokens=[TOKEN, "other-token-0123456789"])
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)


@pytest.fixture
def base_url(server):
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def _request(server, path, method="GET", token=TOKEN):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request(method, path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def test_lists_manifests_by_date(base_url):
    manifests = ExportClient(base_url, TOKEN).manifests("person_codes")
    assert [m["business_date"] for m in manifests] == DAYS
    assert [m["rows"] for m in manifests] == [3, 3, 4]
    assert [(m["first_change_seq"], m["last_change_seq"]) for m in manifests] == [
        (1, 3),
        (4, 6),
        (7, 10),
    ]


def test_fetches_a_day_in_each_format_with_its_sha256(server, base_url, published):
    client = ExportClient(base_url, TOKEN)
    manifest = client.manifest("person_codes", "2026-11-02")
    for fmt in ("jsonl", "csv", "parquet"):
        data = client.fetch_day("person_codes", "2026-11-02", fmt)
        assert hashlib.sha256(data).hexdigest() == manifest["files"][f"diff.{fmt}"]["sha256"]
    rows = [
        json.loads(line) for line in client.fetch_day("person_codes", "2026-11-02").splitlines()
    ]
    assert [(r["key"], r["op"], r["change_seq"]) for r in rows] == [
        ("P1", "update", 4),
        ("P3", "delete", 5),
        ("P4", "insert", 6),
    ]
    assert client.fetch_day("person_codes", "2026-11-02", "csv").startswith(b"\xef\xbb\xbf")
    status, headers, body = _request(
        server, "/v1/datasets/person_codes/days/2026-11-02/diff", method="HEAD"
    )
    assert status == 200 and body == b""
    assert headers["X-Content-SHA256"] == manifest["files"]["diff.jsonl"]["sha256"]


def test_app_offline_two_days_catches_up_to_the_exact_state(base_url):
    client = ExportClient(base_url, TOKEN)
    # The app pulled day 1 as a file, then went offline for days 2 and 3.
    day1 = [json.loads(line) for line in client.fetch_day("person_codes", DAYS[0]).splitlines()]
    state = client.apply({}, day1)
    cursor = client.manifest("person_codes", DAYS[0])["last_change_seq"]
    assert cursor == 3

    changes, cursor = client.changes_since("person_codes", cursor)
    client.apply(state, changes)

    assert [c["change_seq"] for c in changes] == [4, 5, 6, 7, 8, 9, 10]
    assert cursor == 10
    assert state == {k: {"person_key": k, "code": c} for k, c in CODES[2]}
    # Nothing new: same cursor, no changes.
    assert client.changes_since("person_codes", cursor) == ([], 10)


def test_replay_from_zero_and_days_without_changes(base_url):
    client = ExportClient(base_url, TOKEN)
    state: dict = {}
    changes, cursor = client.changes_since("persons", 0)
    client.apply(state, changes)
    assert [(c["key"], c["op"], c["business_date"]) for c in changes] == [
        ("P1", "insert", DAYS[0]),
        ("P2", "insert", DAYS[0]),
        ("P2", "update", DAYS[2]),
    ]
    assert cursor == 3
    assert state == {k: {"person_key": k, "community_code": c} for k, c in PERSONS[2]}


def test_paging_with_limit(base_url):
    client = ExportClient(base_url, TOKEN)
    pages, cursor = [], 0
    while True:
        page = client.changes_page("person_codes", cursor, limit=4)
        pages.append(([c["change_seq"] for c in page.changes], page.next_cursor, page.has_more))
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert pages == [([1, 2, 3, 4], 4, True), ([5, 6, 7, 8], 8, True), ([9, 10], 10, False)]
    # A page that ends exactly at the last change says there is no more.
    last = client.changes_page("person_codes", 6, limit=4)
    assert ([c["change_seq"] for c in last.changes], last.has_more) == ([7, 8, 9, 10], False)
    # Paging with small pages gives what one big page gives.
    assert client.changes_since("person_codes", 0, page_size=3) == client.changes_since(
        "person_codes", 0, page_size=1000
    )


def test_changes_read_only_the_days_needed(published, monkeypatch):
    read = []
    original = api._read_day_changes

    def spy(lake, m):
        read.append(m["business_date"])
        return original(lake, m)

    monkeypatch.setattr(api, "_read_day_changes", spy)
    page = api.changes_since(Lake(published), "person_codes", 6, limit=100)
    assert [c["change_seq"] for c in page.changes] == [7, 8, 9, 10]
    assert read == [DAYS[2]]
    read.clear()
    api.changes_since(Lake(published), "person_codes", 2, limit=2)
    assert read == [DAYS[0], DAYS[1]]


def test_token_is_required(server):
    for token in (None, "wrong-token-0123456789", ""):
        status, headers, body = _request(server, "/v1/datasets/person_codes/manifests", token=token)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert b"P1" not in body
    # Without a token nothing tells which datasets or days exist.
    assert _request(server, "/v1/datasets/nope/manifests", token=None)[0] == 401
    status, _, _ = _request(server, "/v1/datasets", token="other-token-0123456789")
    assert status == 200
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/v1/datasets", headers={"Authorization": f"Basic {TOKEN}"})
    assert conn.getresponse().status == 401
    conn.close()


def test_unknown_things_are_404_and_traversal_is_refused(server):
    paths = [
        "/v1/datasets/nope/manifests",
        "/v1/datasets/_state/person_codes/manifests",
        "/v1/datasets/_state/manifests",
        "/v1/datasets/person_codes/days/2026-11-09/manifest",
        "/v1/datasets/person_codes/days/2026-02-30/manifest",
        "/v1/datasets/person_codes/days/..%2F..%2F_state/manifest",
        "/v1/datasets/..%2F..%2Fraw%2Fpopulation/manifests",
        "/v1/datasets/person_codes/../../raw/manifests",
        "/v1/datasets/%2e%2e/days/2026-11-01/diff",
        "/etc/passwd",
        "/v1/datasets/person_codes/days/2026-11-01/diff/../../../_state",
    ]
    for path in paths:
        status, _, body = _request(server, path)
        assert status == 404, path
        assert "error" in json.loads(body)


def test_read_only_methods(server):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _ = _request(server, "/v1/datasets/person_codes/manifests", method=method)
        assert status == 405
        assert headers["Allow"] == "GET, HEAD"


def test_bad_parameters_are_400_and_cursor_errors_say_what_to_do(server):
    cases = {
        "/v1/datasets/person_codes/changes": 400,
        "/v1/datasets/person_codes/changes?since=abc": 400,
        "/v1/datasets/person_codes/changes?since=-1": 400,
        "/v1/datasets/person_codes/changes?since=0&limit=0": 400,
        "/v1/datasets/person_codes/changes?since=0&limit=10001": 400,
        "/v1/datasets/person_codes/days/2026-11-01/diff?format=xlsx": 400,
        "/v1/datasets/person_codes/changes?since=11": 409,
    }
    for path, expected in cases.items():
        status, _, body = _request(server, path)
        assert status == expected, path
        assert json.loads(body)["error"]
    status, _, body = _request(server, "/v1/datasets/verification_tasks/changes?since=0")
    assert status == 200 and json.loads(body)["changes"] == []


def test_cursor_older_than_retained_days_is_gone(server, published):
    Lake(published).delete("exports/person_codes/date=2026-11-01")
    status, _, body = _request(server, "/v1/datasets/person_codes/changes?since=0")
    assert status == 410
    assert "re-sync" in json.loads(body)["error"]
    status, _, body = _request(server, "/v1/datasets/person_codes/changes?since=3")
    assert status == 200
    assert [c["change_seq"] for c in json.loads(body)["changes"]] == [4, 5, 6, 7, 8, 9, 10]


def test_damaged_file_is_an_error_not_bad_data(server, published):
    Lake(published).write_bytes("exports/person_codes/date=2026-11-02/diff.parquet", b"damaged")
    status, _, body = _request(server, "/v1/datasets/person_codes/changes?since=3")
    assert status == 500
    assert "re-run the export" in json.loads(body)["error"]
    assert b"Traceback" not in body


def test_server_refuses_to_start_without_good_tokens(settings, monkeypatch):
    monkeypatch.delenv("ZT_EXPORT_API_TOKENS", raising=False)
    with pytest.raises(ConfigError, match="ZT_EXPORT_API_TOKENS"):
        make_server(settings, "127.0.0.1", 0)
    with pytest.raises(ConfigError, match="shorter"):
        make_server(settings, "127.0.0.1", 0, tokens=["short"])
    monkeypatch.setenv("ZT_EXPORT_API_TOKENS", f" {TOKEN} ,")
    srv = make_server(settings, "127.0.0.1", 0)
    try:
        assert srv.tokens.accepts(f"Bearer {TOKEN}")
        assert not srv.tokens.accepts("Bearer x" + TOKEN)
    finally:
        srv.server_close()


def test_a_reexported_day_is_not_served_from_the_cache(settings):
    day = dt.date(2026, 11, 1)
    export_day(settings, day, "run-a", {"person_codes": lambda: _codes([("P1", "green")])})
    lake = Lake(settings)
    first = api.changes_since(lake, "person_codes", 0)
    assert [json.loads(c["after"])["code"] for c in first.changes] == ["green"]
    assert api.changes_since(lake, "person_codes", 0) == first  # from the cache
    export_day(settings, day, "run-b", {"person_codes": lambda: _codes([("P1", "red")])})
    again = api.changes_since(lake, "person_codes", 0)
    assert [json.loads(c["after"])["code"] for c in again.changes] == ["red"]


def test_a_missing_middle_day_is_reported_not_skipped(server, published):
    Lake(published).delete("exports/person_codes/date=2026-11-02")
    status, _, body = _request(server, "/v1/datasets/person_codes/changes?since=3")
    assert status == 500
    assert json.loads(body)["error"].startswith("changes 4..6 of person_codes are not in")
    status, _, body = _request(server, "/v1/datasets/person_codes/changes?since=6")
    assert status == 200
    assert [c["change_seq"] for c in json.loads(body)["changes"]] == [7, 8, 9, 10]
