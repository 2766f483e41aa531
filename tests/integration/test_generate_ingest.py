"""Every generated feed is readable by the project's own ingestion, and each file-level kind
of dirt the generator injected is met with the ledger status it calls for."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pyarrow.parquet as pq
import pytest

from zhongtai.contracts import feed_names
from zhongtai.generate import GenerateConfig, generate
from zhongtai.generate.config import DirtConfig
from zhongtai.ingest import ingest_feed

pytestmark = pytest.mark.integration
DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from zhongtai.settings import Settings

    tmp = tmp_path_factory.mktemp("gen-ingest")
    settings = Settings(lake=str(tmp / "lake"), state_dir=str(tmp / "state"),
                        truth_dir=str(tmp / "truth"), _pseudonym_key="k")
    dirt = DirtConfig(header_only_file=0.25, empty_file=0.15, truncated_gzip=0.25,
                      duplicate_delivery=0.3, gbk_in_utf8=0.95)
    generate(settings, GenerateConfig(start=DAYS[0], end=DAYS[-1], persons=600, seed=7, dirt=dirt))
    ledger = []
    for day in DAYS:
        for feed in feed_names():
            rep = ingest_feed(settings, feed, day, f"run-{day}")
            ledger.extend(rep.deliveries)
    truth = pq.read_table(f"{settings.truth_dir}/deliveries.parquet").to_pylist()
    return settings, ledger, truth


def _by_file(ledger):
    out = defaultdict(list)
    for row in ledger:
        out[row["file"].split("!")[0]].append(row)
    return out


def test_every_delivered_file_is_in_the_ledger_and_the_books_balance(generated):
    _, ledger, truth = generated
    files = _by_file(ledger)
    delivered = [t for t in truth if t["status"] != "missing"]
    assert delivered
    for t in delivered:
        assert t["file"] in files, f"{t['file']} was not ingested"
    for row in ledger:
        out = row["rows_loaded"] + row["rows_quarantined"] + row["rows_duplicate"]
        assert row["rows_in"] == out


def test_file_level_dirt_gets_the_right_status(generated):
    _, ledger, truth = generated
    files = _by_file(ledger)
    seen = defaultdict(int)
    originals = {t["duplicate_of"] for t in truth if t["duplicate_of"]}
    for t in truth:
        if t["status"] == "missing":
            continue
        statuses = {r["status"] for r in files[t["file"]]}
        dirt = set(t["file_dirt"] or [])
        if "file:truncated_gzip" in dirt:
            assert statuses == {"rejected"}, t["file"]
            seen["truncated"] += 1
        elif t["status"] in ("header_only", "empty"):
            assert statuses == {"empty"}, t["file"]
            seen["empty"] += 1
        elif t["duplicate_of"]:
            # the same bytes twice load once: which copy counts as the duplicate depends on
            # the order files are met, so assert on the pair
            pair = statuses | {r["status"] for r in files[t["duplicate_of"]]}
            assert "duplicate" in pair and "loaded" in pair, (t["file"], pair)
            seen["duplicate"] += 1
        elif not dirt and t["file"] not in originals:
            assert statuses == {"loaded"}, t["file"]
            assert sum(r["rows_in"] for r in files[t["file"]]) == t["rows"], t["file"]
            seen["clean"] += 1
    assert seen["truncated"] and seen["empty"] and seen["duplicate"] and seen["clean"], dict(seen)


def test_gbk_rows_in_a_utf8_file_are_quarantined_not_replaced(generated):
    from zhongtai.lake import Lake

    settings, _, truth = generated
    lake = Lake(settings)
    assert any("file:gbk_in_utf8" in (t["file_dirt"] or []) for t in truth)
    for feed in feed_names():
        for day in DAYS:
            raw = lake.read_table("raw", feed, day)
            if raw is None:
                continue
            for col in raw.column_names:
                if raw.schema.field(col).type == "string":
                    values = raw.column(col).to_pylist()
                    assert not any("\ufffd" in v for v in values if v), (feed, col)
    reasons = set()
    for day in DAYS:
        for feed in feed_names():
            q = lake.read_table("quarantine", feed, day)
            if q is not None:
                reasons |= set(q.column("reason_code").to_pylist())
    assert "undecodable" in reasons
