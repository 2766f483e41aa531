"""Synthetic feeds with known truth (``zt generate``): a district, its people, their records.

``generate(settings, config)`` builds a synthetic district under a real county code,
its residents in households, legal entities and every day's tests, vaccinations,
appeals and rounds; writes every feed into ``landing/`` as its source systems
deliver it (formats, encodings, headers, dirt); and writes the truth beside the
lake under ``settings.truth_dir``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.generate.config import DirtConfig, GenerateConfig, GenerateReport
from zhongtai.generate.persons import NON_RESIDENT
from zhongtai.generate.writers import Style
from zhongtai.settings import Settings

__all__ = ["DirtConfig", "GenerateConfig", "GenerateReport", "STYLES", "generate"]

# How each source delivers (formats="varied").
STYLES: dict[tuple[str, str], Style] = {
    ("population", "hukou"): Style("csv", "gbk", None, chinese=True),
    ("population", "census"): Style("parquet"),
    ("population", "grid"): Style("xlsx", chinese=True),
    ("population", "self_report"): Style("jsonl", "utf-8", "gz"),
    ("legal_entity", "market_regulation"): Style("csv", "utf-8-sig", None, chinese=True),
    ("legal_entity", "tax"): Style("tsv", "gb18030", None, chinese=True),
    ("legal_entity", "civil_affairs"): Style("xlsx", chinese=True),
    ("legal_entity", "grid"): Style("csv", "utf-8", "zip", chinese=True),
    ("divisions", "civil_affairs"): Style("csv", "utf-8-sig", None, chinese=True),
    ("addresses", "address_registry"): Style("parquet"),
    ("grids", "grid_office"): Style("xlsx", chinese=True),
    ("nucleic_acid", "city"): Style("csv", "utf-8", "gz", chinese=True),
    ("nucleic_acid", "national"): Style("jsonl", "utf-8", "gz"),
    ("vaccination", "immunization"): Style("tsv", "gbk", None, chinese=True),
    ("appeals", "health_code_service"): Style("jsonl"),
    ("testing_rounds", "command_centre"): Style("csv", "utf-8", None, chinese=True),
}
PLAIN = Style("csv")
XLSX_MAX_ROWS = 1_000_000


def _style(config: GenerateConfig, feed: str, source: str) -> Style:
    return PLAIN if config.formats == "csv" else STYLES[(feed, source)]


def generate(
    settings: Settings, config: GenerateConfig, *, overwrite: bool = True
) -> GenerateReport:
    """Generate every feed for the days of ``config`` into the lake, and the truth beside it.

    Args:
        settings: where the lake and the truth folder are.
        config: size, days, seed, dirt and formats.
        overwrite: replace earlier generated deliveries of the same days; when False,
            refuse (ZhongtaiError) if landing already holds any of those days.

    Returns:
        The files written (lake-relative), rows per feed and source, the truth folder
        and the seconds taken.
    """
    from zhongtai.contracts.model import all_contracts
    from zhongtai.generate import feeds
    from zhongtai.generate.deliver import Deliverer
    from zhongtai.generate.divisions import build_district
    from zhongtai.generate.entities import build_entities
    from zhongtai.generate.persons import build_persons
    from zhongtai.generate.truth import TruthWriter
    from zhongtai.lake.store import Lake

    config.validate()
    t0 = time.perf_counter()
    lake = Lake(settings)
    lake.ensure()
    days = config.days
    contracts = all_contracts()
    _clear(lake, contracts, days, overwrite)
    truth = TruthWriter(settings.truth_dir)
    report = GenerateReport(truth_dir=str(truth.root))
    truth.config(
        config.dirt.to_dict(),
        {
            "start": config.start,
            "end": config.end,
            "persons": config.persons,
            "seed": config.seed,
            "tests_per_day": config.daily_tests,
            "county_code": config.county_code,
            "formats": config.formats,
        },
    )
    rng = feeds.rng_for(config.seed, "world")
    district = build_district(rng, config.county_code, config.persons)
    persons = build_persons(rng, district, config.persons, config.start, len(days))
    entities = build_entities(rng, district, persons, district.province)
    w = feeds.World(cfg=config, district=district, persons=persons, entities=entities)
    feeds.plan_rounds(w)
    dl = Deliverer(lake, truth, report, config.dirt, config.end)

    def send(batch, landing_day: dt.date | None = None, file_dirt: bool = True) -> None:  # noqa: ANN001
        if len(batch) == 0:
            return  # nothing changed: a delta day without records sends no file
        style = _style(config, batch.feed, batch.source)
        r = feeds.rng_for(config.seed, "deliver", batch.feed, batch.source, batch.day, batch.stem)
        if style.fmt == "xlsx" and len(batch) > XLSX_MAX_ROWS:
            style = Style("csv", "utf-8-sig", None, chinese=True)
        dl.deliver(batch, style, r, landing_day=landing_day, file_dirt=file_dirt)

    def timed(feed: str, t: float) -> None:
        report.seconds_by_feed[feed] = (
            report.seconds_by_feed.get(feed, 0.0) + time.perf_counter() - t
        )

    try:
        _days(w, dl, send, timed, contracts)
    finally:
        dl.close()
    _write_world_truth(truth, w)
    truth.close()
    report.seconds = time.perf_counter() - t0
    return report


def _clear(lake, contracts, days: list[dt.date], overwrite: bool) -> None:  # noqa: ANN001
    for feed, c in contracts.items():
        for source in c.sources:
            for day in days:
                rel = f"landing/{feed}/{source}/{day.isoformat()}"
                if lake.exists(rel) and lake.list_files(rel):
                    if not overwrite:
                        raise ZhongtaiError(
                            f"{rel} already holds deliveries; generate into an empty lake "
                            "or allow overwrite"
                        )
                    for f in lake.list_files(rel):
                        lake.delete(f.path)


TRUTH_ROW_GROUP = 1 << 20  # rows per piece of the persons truth (pq.write_table's row group)


def _persons_truth(w, lo: int, hi: int) -> pa.Table:  # noqa: ANN001
    """The true persons ``lo`` to ``hi`` (one piece, so that millions never sit in memory)."""
    from zhongtai.generate.persons import EPOCH, ID_TYPES
    from zhongtai.generate.text import take, to_pa

    p, d = w.persons, w.district
    idx = np.arange(lo, hi)
    addr = p.address[lo:hi]
    no_addr = addr < 0
    a = np.maximum(addr, 0)
    com = d.address_community[a]
    status = p.status[lo:hi]
    leave = p.leave_day[lo:hi]
    start = np.datetime64(w.cfg.start, "D")
    text = pa.string()
    return pa.table(
        {
            "person_id": p.pids(idx),
            "id_type": take(ID_TYPES, p.id_type_code[lo:hi]),
            "id_number": to_pa(p.id_number_ascii[lo:hi]),
            "name": pa.array(p.name[lo:hi], text),
            "gender": pa.array(np.where(p.male[lo:hi], "male", "female"), text),
            "birth_date": pa.array(
                (EPOCH + p.birth_days[lo:hi].astype("timedelta64[D]")).astype("datetime64[D]")
            ),
            "phone": to_pa(p.phone_ascii[lo:hi]),
            "phone_is_landline": pa.array(p.landline[lo:hi]),
            "household_id": pa.array(
                np.where(p.household[lo:hi] >= 0, p.household[lo:hi], -1).astype(np.int64)
            ),
            "head_person_id": p.pids(p.head[lo:hi]),
            "address_id": pa.array(d.address_id[a], text, mask=no_addr),
            "community_code": pa.array(d.community_code[com], text, mask=no_addr),
            "grid_id": pa.array(d.grid_id[d.address_grid[a]], text, mask=no_addr),
            "is_resident": pa.array(status != NON_RESIDENT),
            "residence_status": pa.array(
                np.array(["permanent", "floating", "away"])[np.clip(status, 0, 2)],
                text,
                mask=status < 0,
            ),
            "arrive_date": pa.array(start + p.arrive_day[lo:hi].astype("timedelta64[D]")),
            "leave_date": pa.array(
                np.where(
                    leave < 10**6,
                    start + np.minimum(leave, 10**6).astype("timedelta64[D]"),
                    np.datetime64("NaT"),
                )
            ),
        }
    )


def _addresses_truth(d) -> Iterator[pa.Table]:  # noqa: ANN001
    """The standard addresses, a row group at a time."""
    n = len(d.address_id)
    for lo in range(0, n, TRUTH_ROW_GROUP):
        hi = min(n, lo + TRUTH_ROW_GROUP)
        yield pa.table(
            {
                "address_id": d.address_id[lo:hi],
                "full_address": d.address_text(np.arange(lo, hi)),
                "community_code": d.community_code[d.address_community[lo:hi]],
                "grid_id": d.grid_id[d.address_grid[lo:hi]],
            }
        )


def _write_world_truth(truth, w) -> None:  # noqa: ANN001
    p, d, e = w.persons, w.district, w.entities
    n = len(p)
    truth.write_pieces(
        "persons",
        (
            _persons_truth(w, lo, min(n, lo + TRUTH_ROW_GROUP))
            for lo in range(0, n, TRUTH_ROW_GROUP)
        ),
    )
    truth.write(
        "entities",
        pa.table(
            {
                "entity_id": e.entity_id,
                "uscc": e.uscc,
                "entity_name": e.name,
                "representative_person_id": p.pids(e.representative),
                "registered_address_id": d.address_id[e.registered_address],
                "business_address_id": d.address_id[e.business_address],
                "status": e.status,
            }
        ),
    )
    truth.write_pieces("addresses", _addresses_truth(d))
    truth.write(
        "infections",
        pa.table(
            {
                "person_id": p.pids(np.array([i for i, _ in w.infections], dtype=np.int64)),
                "date": pa.array([day for _, day in w.infections], pa.date32()),
            }
        ),
    )
    truth.write(
        "rounds",
        pa.table(
            {
                "round_id": [r.round_id for r in w.rounds],
                "scope": [";".join(r.scope) for r in w.rounds],
                "starts_at_local": pa.array([r.starts for r in w.rounds], pa.int64()).cast(
                    pa.timestamp("s")
                ),
                "ends_at_local": pa.array([r.ends for r in w.rounds], pa.int64()).cast(
                    pa.timestamp("s")
                ),
            }
        ),
    )


def _send_each(batches, send, **kw) -> None:  # noqa: ANN001
    """Send every batch, dropping each before the next is built (one part in memory)."""
    it = iter(batches)
    while (batch := next(it, None)) is not None:
        send(batch, **kw)
        del batch


def _days(w, dl, send, timed, contracts) -> None:  # noqa: ANN001
    """Every feed, day by day (the first day full extracts, later days deltas)."""
    from zhongtai.generate import feeds

    config = w.cfg
    days = config.days
    for k, day in enumerate(days):
        t = time.perf_counter()
        if k == 0:
            send(feeds.divisions(w, day), file_dirt=False)
            send(feeds.grids(w, day), file_dirt=False)
            _send_each(feeds.addresses(w, day), send, file_dirt=False)
        timed("geographic", t)
        for feed, make in (("population", feeds.population), ("legal_entity", feeds.legal_entity)):
            t = time.perf_counter()
            for source in contracts[feed].sources:
                _send_each(make(w, source, k, day), send)
            timed(feed, t)
        t = time.perf_counter()
        rounds = feeds.testing_rounds(w, day)
        if rounds is not None:
            send(rounds, file_dirt=False)
        timed("testing_rounds", t)
        t = time.perf_counter()
        events = feeds.test_events(w, k, day)
        w.tested[day] = events
        infected = feeds.infections(w, k, day, events)
        seq = 0
        for part, a, b in feeds.chunks(len(events), config.chunk_rows):
            tp = feeds.test_part(w, k, day, part, events[a:b], infected, seq)
            seq += 2 * len(tp.person) + 1
            for batch in feeds.test_batches(w, tp, k, day, part):
                late_rng = feeds.rng_for(config.seed, "late", batch.source, k, batch.stem)
                late = k + 1 < len(days) and late_rng.random() < config.dirt.late_file
                send(batch, landing_day=day + dt.timedelta(days=1) if late else None)
            del tp, batch  # let the part go before the next one is built
        dl.flush()
        timed("nucleic_acid", t)
        for feed, make in (("vaccination", feeds.vaccination), ("appeals", feeds.appeals)):
            t = time.perf_counter()
            source = contracts[feed].sources[0]
            if (
                k > 0
                and feeds.rng_for(config.seed, "missing", feed, k).random()
                < config.dirt.missing_delivery
            ):
                dl.missing(feed, source, day)
                continue
            out = make(w, k, day)
            _send_each([out] if hasattr(out, "feed") else out, send)
            del out
            timed(feed, t)
        w.tested.pop(day, None)
