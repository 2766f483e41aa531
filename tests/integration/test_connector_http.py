"""pull_http_api against a small department API served on loopback by the test, with faults."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.ingest import ingest_feed
from zhongtai.ingest.connectors.http_api import pull_http_api, redact_url
from zhongtai.ingest.connectors.state import read_state
from zhongtai.lake.store import Lake

FEED, SOURCE = "nucleic_acid", "city"
D1 = dt.date(2026, 11, 1)
TOKEN = "t0k3n-do-not-print"
ENV = {"CITY_API_TOKEN": TOKEN}
AT = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
ITEMS = [
    {
        "平台": "city",
        "样本编号": f"S{i}",
        "采样时间": f"2026-11-01 0{i}:00",
        "检测结果": "阴性",
        "身份证号": f"1101051990010112{i:02d}",
        "姓名": f"人{i}",
        "混采数": 10,
        "温度": "@NUM",  # sent as the JSON number 36.60 (see Api.reply)
    }
    for i in range(1, 8)
]


class Api:
    """The department's API: pages by offset cursor, a token, and a queue of faults."""

    def __init__(self) -> None:
        self.items = {"2026-11-01": ITEMS}
        self.faults: list[str] = []
        self.requests: list[str | None] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                with api.lock:
                    api.requests.append(q.get("cursor"))
                    fault = api.faults.pop(0) if api.faults else None
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.reply(401, {"error": "unauthorized"})
                if fault == "drop":
                    self.close_connection = True
                    return None  # connection closed without a response
                if fault == "503":
                    return self.reply(503, {"error": "busy"})
                if fault == "429":
                    return self.reply(429, {"error": "slow down"}, {"Retry-After": "7"})
                if fault == "404":
                    return self.reply(404, {"error": "no such endpoint"})
                items = api.items.get(q.get("date", ""), [])
                off = int((q.get("cursor") or "c0")[1:])
                limit = int(q["limit"])
                nxt = f"c{off + limit}" if off + limit < len(items) else None
                return self.reply(200, {"items": items[off : off + limit], "next_cursor": nxt})

            def reply(self, status: int, body: dict, headers: dict | None = None) -> None:
                text = json.dumps(body, ensure_ascii=False)
                data = text.replace('"@NUM"', "36.60").encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def api():
    state = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/tests"
    yield state
    server.shutdown()
    server.server_close()


def pull(settings, api, sleeps=None, **kw):
    return pull_http_api(
        settings, FEED, SOURCE, D1, api.url, token_env="CITY_API_TOKEN", page_size=3,
        max_retries=kw.pop("max_retries", 5), sleep=(sleeps if sleeps is not None else []).append,
        rng=lambda: 0.5, environ=ENV, **kw,
    )  # fmt: skip


def landed_ids(settings) -> list[str]:
    lake = Lake(settings)
    out = []
    for f in lake.list_files(f"landing/{FEED}/{SOURCE}/2026-11-01/"):
        out += [json.loads(x)["样本编号"] for x in lake.read_bytes(f.path).decode().splitlines()]
    return out


def test_faults_are_retried_with_backoff_and_rows_land_once(settings, api):
    api.faults = ["503", "429", "drop"]
    sleeps: list[float] = []
    r = pull(settings, api, sleeps)
    # 503: backoff 0.5 s jittered to 0.375; 429: Retry-After 7; drop: 2.0 s jittered to 1.5
    assert sleeps == [0.375, 7.0, 1.5]
    assert (r.retries, r.pages, r.rows, r.before, r.after) == (3, 3, 7, None, None)
    assert api.requests == [None, None, None, None, "c3", "c6"]
    assert sorted(landed_ids(settings)) == [f"S{i}" for i in range(1, 8)]
    assert len(r.files) == 3 and r.files[0].endswith(".jsonl")
    first = Lake(settings).read_bytes(r.files[0]).decode().splitlines()[0]
    assert '"混采数":10' in first and '"温度":"36.60"' in first  # numbers kept exactly
    day = read_state(Lake(settings), FEED, SOURCE)["days"]["2026-11-01"]
    assert day == {"cursor": None, "pages": 3, "rows": 7, "complete": True}

    # a completed day is not pulled again
    again = pull(settings, api)
    assert (again.rows, again.files, again.pages) == (0, [], 0)
    assert len(api.requests) == 6

    # restart re-pulls the same pages into the same files with the same bytes
    before = {f: Lake(settings).read_bytes(f) for f in r.files}
    redo = pull(settings, api, restart=True)
    assert {f: Lake(settings).read_bytes(f) for f in redo.files} == before

    rep = ingest_feed(settings, FEED, D1, "r1", ingested_at=AT)
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined, rep.rows_duplicate) == (7, 7, 0, 0)
    raw = Lake(settings).read_table("raw", FEED, D1).sort_by("sample_id")
    assert raw.column("sample_id").to_pylist() == [f"S{i}" for i in range(1, 8)]
    assert raw.column("pool_size").to_pylist() == [10] * 7
    assert raw.column("result").to_pylist() == ["negative"] * 7


@pytest.mark.parametrize("event", ["written", "committed"])
def test_crash_resumes_from_stored_cursor(settings, api, event):
    def crash(what: str, page: int) -> None:
        if (what, page) == (event, 2):
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        pull(settings, api, on_event=crash)
    day = read_state(Lake(settings), FEED, SOURCE)["days"]["2026-11-01"]
    stored = "c6" if event == "committed" else "c3"
    assert day["cursor"] == stored and day["complete"] is False
    api.requests.clear()
    r = pull(settings, api)
    assert api.requests[0] == stored and r.before == stored and r.after is None
    assert sorted(landed_ids(settings)) == [f"S{i}" for i in range(1, 8)]  # none lost or doubled


def test_token_and_client_errors_are_clear_and_not_retried(settings, api):
    with pytest.raises(ZhongtaiError, match="CITY_API_TOKEN .* is not set"):
        pull_http_api(settings, FEED, SOURCE, D1, api.url, token_env="CITY_API_TOKEN", environ={})
    sleeps: list[float] = []
    with pytest.raises(ZhongtaiError) as e:
        pull_http_api(
            settings, FEED, SOURCE, D1, api.url + "?api_key=zzz", token_env="CITY_API_TOKEN",
            environ={"CITY_API_TOKEN": "wrong-token"}, sleep=sleeps.append,
        )  # fmt: skip
    msg = str(e.value)
    assert "HTTP 401" in msg and "/v1/tests" in msg and "api_key=***" in msg
    assert "zzz" not in msg and "wrong-token" not in msg and sleeps == []
    api.faults = ["404"]
    with pytest.raises(ZhongtaiError, match="HTTP 404"):
        pull(settings, api, sleeps)
    assert sleeps == []
    with pytest.raises(ZhongtaiError, match="carries credentials"):
        pull_http_api(settings, FEED, SOURCE, D1, "http://u:pw@127.0.0.1:1/x")


def test_retries_exhausted_keeps_state_and_says_so(settings, api):
    api.faults = ["503", "503", "503"]
    sleeps: list[float] = []
    with pytest.raises(ZhongtaiError, match="failed 3 times .*HTTP 503.* run the pull again"):
        pull(settings, api, sleeps, max_retries=2)
    assert sleeps == [0.375, 0.75]
    assert landed_ids(settings) == []
    r = pull(settings, api)  # the API recovered: the day completes from the start
    assert r.rows == 7


def test_redact_url():
    assert (
        redact_url("https://u:p@h.example:8443/a?access_token=abc&cursor=c1&sig=9")
        == "https://h.example:8443/a?access_token=***&cursor=c1&sig=***"
    )
