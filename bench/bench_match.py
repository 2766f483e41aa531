"""Benchmark of the person linker: F1 against the generator's truth, and throughput.

Generates a district (default 50,000 persons, default dirt) into a scratch lake, ingests
and cleans it, then times ``build_person_master`` and scores it with ``zt eval-match``'s
metrics (with ``--libraries``, also the address and entity masters). Figures go to stdout
and, as JSON, to ``--out``.

    .venv/bin/python bench/bench_match.py                       # 50k persons, one day
    .venv/bin/python bench/bench_match.py --persons 1000000 --tests-per-day 2000000
    .venv/bin/python bench/bench_match.py --libraries persons,addresses,entities

This is a benchmark, not a test: nothing asserts; the figures are for the README.
Splink, the peer to compare with, is not a dependency of the project: the side-by-side run
is bench/bench_vs_splink.py, with Splink in its own environment .venv-bench built from
bench/requirements-splink.txt (``make bench-splink``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

# what the person linker needs (the geography first: addresses resolve against it)
FEEDS_CLEAN = (
    "divisions",
    "grids",
    "addresses",
    "population",
    "nucleic_acid",
    "vaccination",
    "appeals",
)
ENTITY_FEEDS = ("legal_entity",)  # also needed by the address and entity libraries
BENCH_DAY = dt.date(2026, 11, 1)


def bench_settings(work: Path, driver_memory: str | None = None) -> Any:
    """The scratch settings of a benchmark working folder."""
    from zhongtai.settings import Settings

    extra = {"spark_driver_memory": driver_memory} if driver_memory else {}
    return Settings(
        **extra,
        lake=str(work / "lake"),
        warehouse=str(work / "wh" / "zt.duckdb"),
        state_dir=str(work / "state"),
        truth_dir=str(work / "truth"),
        _pseudonym_key="bench-key-not-secret",
    )


def prepare(
    settings: Any,
    day: dt.date,
    persons: int,
    seed: int,
    tests_per_day: int | None,
    reuse: bool,
    feeds: tuple[str, ...] = FEEDS_CLEAN,
) -> float | None:
    """Generate, ingest and clean one day of a district; seconds taken, or None if reused."""
    from zhongtai.clean import clean_feed
    from zhongtai.generate import GenerateConfig, generate
    from zhongtai.ingest import ingest_feed
    from zhongtai.lake import Lake

    if reuse and Lake(settings).dates("clean", "population"):
        return None
    t = time.perf_counter()
    generate(
        settings,
        GenerateConfig(start=day, end=day, persons=persons, seed=seed, tests_per_day=tests_per_day),
    )
    for feed in feeds:
        ingest_feed(settings, feed, day, "bench")
    for feed in feeds:
        clean_feed(settings, feed, day, "bench")
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=50_000)
    p.add_argument("--tests-per-day", type=int, default=None)
    p.add_argument("--seed", type=int, default=20221101)
    p.add_argument("--workdir", default=None, help="scratch folder (default: a temp folder)")
    p.add_argument("--reuse", action="store_true", help="skip generate/ingest/clean if present")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    p.add_argument(
        "--libraries",
        default="persons",
        help="comma-separated: persons, addresses, entities (default: persons)",
    )
    p.add_argument(
        "--skip-feeds",
        default="",
        help="comma-separated person-bearing feeds not to ingest and link (e.g. vaccination: "
        "then the run is the population library plus the tests)",
    )
    p.add_argument("--prepare-only", action="store_true", help="stop after generate/ingest/clean")
    p.add_argument(
        "--driver-memory", default=None, help="Spark driver memory (default: the settings' 4g)"
    )
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("zhongtai.match").setLevel(logging.INFO)  # time of each linking step

    from zhongtai.clean import clean_feed
    from zhongtai.ingest import ingest_feed
    from zhongtai.lake import Lake
    from zhongtai.match import build_person_master
    from zhongtai.match.evaluate import evaluate_person_master

    work = Path(args.workdir or tempfile.mkdtemp(prefix="zt-bench-match-"))
    s = bench_settings(work, args.driver_memory)
    day = BENCH_DAY
    lake = Lake(s)
    figures: dict[str, object] = {"persons": args.persons, "workdir": str(work)}
    skip = {x.strip() for x in args.skip_feeds.split(",") if x.strip()}
    unknown = skip - {"population", "nucleic_acid", "vaccination", "appeals"}
    if unknown:
        p.error(f"--skip-feeds: not a person-bearing feed: {', '.join(sorted(unknown))}")
    feeds = tuple(f for f in FEEDS_CLEAN if f not in skip)
    took = prepare(s, day, args.persons, args.seed, args.tests_per_day, args.reuse, feeds)
    if took is not None:
        figures["prepare_seconds"] = round(took, 1)
    if args.prepare_only:
        print(json.dumps(figures))
        return 0
    libraries = [x.strip() for x in args.libraries.split(",") if x.strip()]
    if {"addresses", "entities"} & set(libraries) and not lake.dates("clean", "legal_entity"):
        for feed in ENTITY_FEEDS:
            ingest_feed(s, feed, day, "bench")
            clean_feed(s, feed, day, "bench")
    if "persons" in libraries:
        t = time.perf_counter()
        report = build_person_master(s, day, f"bench-{int(time.time())}")
        seconds = time.perf_counter() - t
        q = evaluate_person_master(s, day)
        figures |= {
            "records": report.records,
            "persons_linked": report.persons,
            "certain": report.linked_certain,
            "possible": report.linked_possible,
            "new": report.new_records,
            "model": report.model_version,
            "match_seconds": round(seconds, 1),
            "records_per_second": round(report.records / seconds, 1) if seconds else None,
            "precision": round(q.precision, 6),
            "recall": round(q.recall, 6),
            "f1": round(q.f1, 6),
            "bcubed_f1": round(q.bcubed_f1, 6),
        }
    for lib in ("addresses", "entities"):
        if lib not in libraries:
            continue
        if lib == "addresses":
            from zhongtai.match.addresses import build_address_master as build
            from zhongtai.match.addresses import evaluate_address_master as evaluate
        else:
            from zhongtai.match.entities import build_entity_master as build
            from zhongtai.match.entities import evaluate_entity_master as evaluate
        t = time.perf_counter()
        rep = build(s, day, f"bench-{lib}-{int(time.time())}")
        seconds = time.perf_counter() - t
        q = evaluate(s, day)
        figures |= {
            f"{lib}_records": rep.records,
            f"{lib}_masters": rep.masters,
            f"{lib}_certain_possible_new": (rep.certain, rep.possible, rep.new),
            f"{lib}_seconds": round(seconds, 1),
            f"{lib}_f1": round(q.f1, 6),
            f"{lib}_bcubed_f1": round(q.bcubed_f1, 6),
        }
    figures["cores"] = os.cpu_count()
    for k, v in figures.items():
        print(f"{k:>20}: {v}")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
