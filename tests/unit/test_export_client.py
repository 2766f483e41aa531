"""The downstream client: applying changes, checksums, errors and paging (stub server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.export.client import ExportClient


def _ch(seq, op, key, before=None, after=None):
    dump = lambda v: None if v is None else json.dumps(v, sort_keys=True)  # noqa: E731
    return {
        "change_seq": seq,
        "op": op,
        "key": key,
        "before": dump(before),
        "after": dump(after),
        "business_date": "2026-11-01",
    }


def test_apply_insert_update_delete_in_seq_order():
    p1g, p1r = {"person_key": "P1", "code": "green"}, {"person_key": "P1", "code": "red"}
    p2 = {"person_key": "P2", "code": "yellow"}
    changes = [  # deliberately out of order: apply sorts by change_seq
        _ch(3, "delete", "P2", before=p2),
        _ch(1, "insert", "P1", after=p1g),
        _ch(2, "insert", "P2", after=p2),
        _ch(4, "update", "P1", before=p1g, after=p1r),
    ]
    state: dict = {}
    out = ExportClient.apply(state, changes)
    assert out is state
    assert state == {"P1": {"person_key": "P1", "code": "red"}}


@pytest.mark.parametrize(
    "state, change",
    [
        ({}, _ch(5, "update", "P1", before={"c": 1}, after={"c": 2})),
        ({"P1": {"c": 9}}, _ch(5, "update", "P1", before={"c": 1}, after={"c": 2})),
        ({"P1": {"c": 9}}, _ch(5, "delete", "P1", before={"c": 1})),
        ({"P1": {"c": 1}}, _ch(5, "insert", "P1", after={"c": 1})),
        ({}, _ch(5, "upsert", "P1", after={"c": 1})),
    ],
)
def test_apply_refuses_a_change_that_does_not_fit(state, change):
    with pytest.raises(ZhongtaiError, match="change 5"):
        ExportClient.apply(dict(state), [change])


class _Stub(BaseHTTPRequestHandler):
    """Answers from a table of path -> (status, headers, body); records queries."""

    routes: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        self.seen.append((url.path, parse_qs(url.query), self.headers.get("Authorization")))
        status, headers, body = self.routes[url.path](parse_qs(url.query))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    _Stub.routes, _Stub.seen = {}, []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Stub
    srv.shutdown()
    srv.server_close()
    t.join(timeout=10)


def test_fetch_day_checks_the_sha256(stub):
    url, s = stub
    body = b'{"change_seq": 1}\n'
    real = "af52209ad6ac3dd29963dfb5deab0eeece7f3b8ebd42c01748c8ea3f5e79aad8"  # sha256 of body
    other = "0" * 64
    s.routes["/v1/datasets/person_codes/days/2026-11-01/diff"] = lambda q: (
        200,
        {"X-Content-SHA256": real if q["format"] == ["jsonl"] else other},
        body,
    )
    client = ExportClient(url, "secret-token-123456")
    assert client.fetch_day("person_codes", "2026-11-01", "jsonl") == body
    with pytest.raises(ZhongtaiError, match="damaged"):
        client.fetch_day("person_codes", "2026-11-01", "csv")
    assert s.seen[0][2] == "Bearer secret-token-123456"


def test_errors_carry_the_servers_message_not_the_token(stub):
    url, s = stub
    s.routes["/v1/datasets/person_codes/manifests"] = lambda q: (
        401,
        {"Content-Type": "application/json"},
        b'{"error": "missing or wrong bearer token"}',
    )
    client = ExportClient(url + "/", "secret-token-123456")
    with pytest.raises(ZhongtaiError) as e:
        client.manifests("person_codes")
    assert "401" in str(e.value) and "bearer token" in str(e.value)
    assert "secret-token" not in str(e.value) and "secret-token" not in repr(client)


def test_unreachable_server_is_a_clear_error():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ZhongtaiError, match="not reachable"):
        ExportClient(f"http://127.0.0.1:{port}", "t" * 20, timeout=2).manifests("persons")


def test_changes_since_follows_pages(stub):
    url, s = stub
    pages = {0: ([1, 2], 2, True), 2: ([3, 4], 4, True), 4: ([5], 5, False)}

    def changes(q):
        seqs, nxt, more = pages[int(q["since"][0])]
        doc = {
            "changes": [_ch(i, "insert", f"K{i}", after={"k": i}) for i in seqs],
            "next_cursor": nxt,
            "has_more": more,
        }
        return 200, {}, json.dumps(doc).encode()

    s.routes["/v1/datasets/persons/changes"] = changes
    rows, cursor = ExportClient(url, "t" * 20).changes_since("persons", 0, page_size=2)
    assert [r["change_seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert cursor == 5
    assert [(q["since"], q["limit"]) for _, q, _ in s.seen] == [
        (["0"], ["2"]),
        (["2"], ["2"]),
        (["4"], ["2"]),
    ]


def test_a_cursor_that_does_not_advance_stops_the_loop(stub):
    url, s = stub
    s.routes["/v1/datasets/persons/changes"] = lambda q: (
        200,
        {},
        json.dumps({"changes": [], "next_cursor": 7, "has_more": True}).encode(),
    )
    with pytest.raises(ZhongtaiError, match="does not advance"):
        ExportClient(url, "t" * 20).changes_since("persons", 7)
