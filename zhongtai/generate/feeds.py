"""Build the records of every feed for one business day from the true world.

Each builder yields :class:`Batch` objects (at most ``chunk_rows`` records each) so
that memory stays bounded however large the day; :mod:`zhongtai.generate.deliver`
turns each batch into a file.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from zhongtai.generate import dirt
from zhongtai.generate.config import DirtConfig, GenerateConfig
from zhongtai.generate.deliver import Batch
from zhongtai.generate.dirt import DirtLog
from zhongtai.generate.divisions import District
from zhongtai.generate.entities import INDUSTRIES, KINDS, Entities
from zhongtai.generate.persons import (
    EPOCH,
    ID_TYPES,
    NON_RESIDENT,
    STATUS_AWAY,
    STATUS_NAMES,
    Persons,
)
from zhongtai.generate.text import constant, numbered, patch, replace, take, to_pa, zfill

S = np.strings
DAY_S = 86400
LABS = np.array(
    [
        "北京金域医学检验实验室",
        "北京迪安医学检验实验室",
        "北京华大医学检验所",
        "北京艾迪康医学检验实验室",
        "区疾病预防控制中心实验室",
        "北京凯普医学检验实验室",
    ]
)
VACCINES = (
    ("新冠病毒灭活疫苗(Vero细胞)", "北京生物制品研究所有限责任公司"),
    ("新冠病毒灭活疫苗(Vero细胞)", "北京科兴中维生物技术有限公司"),
    ("重组新冠病毒蛋白疫苗(CHO细胞)", "安徽智飞龙科马生物制药有限公司"),
    ("重组新冠病毒疫苗(5型腺病毒载体)", "康希诺生物股份公司"),
)
POOL_SIZES = np.array([1, 5, 10, 20])
POOL_P = np.array([0.10, 0.25, 0.50, 0.15])
RESULTS = np.array(sorted(["negative", "positive", "suspect", "invalid", "pending"]))
REASONS = np.array(["medical", "school", "urgent_departure", "other"])
GENDER_STYLE = {
    "hukou": ("男", "女"),
    "census": ("M", "F"),
    "grid": ("1", "2"),
    "self_report": ("男", "女"),
}
BIRTH_STYLE = {"hukou": "iso", "census": "compact", "grid": "slash", "self_report": "iso"}
POP_COVERAGE = {"hukou": 0.97, "census": 0.93, "grid": 0.75, "self_report": 0.2}


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """An independent, reproducible generator for one purpose (feed, day, chunk...)."""
    words = [seed] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def day_start(day: dt.date) -> int:
    """Seconds from 1970-01-01 to local midnight of ``day`` (naive local time)."""
    return int((np.datetime64(day, "D") - EPOCH).astype(np.int64)) * DAY_S


@dataclass
class Round:
    """A testing round announced by the command centre."""

    round_id: str
    name: str
    starts: int  # local seconds
    ends: int
    scope: list[str]
    announced: dt.date


@dataclass
class World:
    """The truth everything is generated from."""

    cfg: GenerateConfig
    district: District
    persons: Persons
    entities: Entities
    rounds: list[Round] = field(default_factory=list)
    infections: list[tuple[int, dt.date]] = field(default_factory=list)
    tested: dict[dt.date, np.ndarray] = field(default_factory=dict)

    _arrow: dict[str, pa.Array] = field(default_factory=dict)

    @property
    def dirt(self) -> DirtConfig:
        return self.cfg.dirt

    def arrow(self, attr: str) -> pa.Array:
        """A person attribute (``name``) as an Arrow array, built once."""
        if attr not in self._arrow:
            self._arrow[attr] = to_pa(getattr(self.persons, attr))
        return self._arrow[attr]

    def community_of(self, pidx: np.ndarray) -> np.ndarray:
        """Community index of persons (-1 without an address in the district)."""
        a = self.persons.address[pidx]
        return np.where(a >= 0, self.district.address_community[np.maximum(a, 0)], -1)

    def in_scope(self, rnd: Round) -> np.ndarray:
        """Persons living under the round's scope."""
        com = self.community_of(np.arange(len(self.persons)))
        # decided per community (few), then looked up per person
        hit = np.zeros(len(self.district.community_code), dtype=bool)
        for code in rnd.scope:
            prefix = code[:9] if code.endswith("000") else code
            hit |= S.startswith(self.district.community_code, prefix)
        return hit[np.maximum(com, 0)] & (com >= 0)

    def present(self, k: int) -> np.ndarray:
        """Residents living in the district on day index ``k``."""
        p = self.persons
        return p.is_resident & (p.status != STATUS_AWAY) & (p.arrive_day <= k) & (p.leave_day > k)


def chunks(n: int, size: int) -> Iterator[tuple[int, int, int]]:
    """(part number, start, stop) covering ``range(n)``."""
    for i, a in enumerate(range(0, max(n, 1), size)):
        yield i, a, min(n, a + size)


def person_fields(
    rng: np.random.Generator, w: World, pidx: np.ndarray, day: dt.date, log: DirtLog, children: bool
) -> dict[str, np.ndarray]:
    """id_type, id_number, name, phone of persons as a record carries them, with dirt."""
    p = w.persons
    ids = p.ids(pidx)
    types = p.id_types(pidx)
    child = (
        (p.age_of(pidx, day) < 14) & (p.head[pidx] != pidx)
        if children
        else np.zeros(len(pidx), bool)
    )
    other = p.ids(rng.integers(0, len(p), len(pidx)))
    born19 = S.startswith(S.slice(ids, 6, 8), "19")
    id_dirty = dirt.id_numbers(
        rng,
        ids,
        types,
        w.dirt,
        log,
        child=child,
        parent_ids=p.ids(p.head[pidx]),
        other_ids=other,
        born_19xx=born19,
    )
    names = p.name[pidx]
    name_dirty = dirt.names(
        rng, names, p.surname[pidx], p.given1[pidx], p.given2[pidx], p.minority[pidx], w.dirt, log
    )
    phones = p.phones(pidx)
    phone_dirty = dirt.phones(rng, phones, p.landline[pidx], w.dirt, log)
    return {
        "id_type": take(ID_TYPES, p.id_type_code[pidx]),
        "id_number": patch(to_pa(p.id_number_ascii[pidx]), ids, id_dirty),
        "name": patch(take(w.arrow("name"), pidx), names, name_dirty),
        "phone": patch(to_pa(p.phone_ascii[pidx]), phones, phone_dirty),
    }


# -- geographic ---------------------------------------------------------------------------


def divisions(w: World, day: dt.date) -> Batch:
    """Every division from the province down to the communities."""
    d = w.district
    c = d.county_code
    codes = [c[:2] + "0" * 10, c[:4] + "0" * 8, c + "0" * 6]
    names = [d.province, d.city, d.county]
    levels = ["province", "city", "county"]
    parents = ["", codes[0], codes[1]]
    codes += d.township_code.tolist() + d.community_code.tolist()
    names += d.township_name.tolist() + d.community_name.tolist()
    levels += ["township"] * len(d.township_code) + ["community"] * len(d.community_code)
    parents += [codes[2]] * len(d.township_code) + d.township_code[d.community_township].tolist()
    n = len(codes)
    arr = np.array(codes)
    return Batch(
        feed="divisions",
        source="civil_affairs",
        day=day,
        stem="统计用区划代码",
        cols={
            "division_code": arr,
            "name": np.array(names),
            "level": np.array(levels),
            "parent_code": np.array(parents),
            "valid_from": np.full(n, "2020-01-01"),
            "valid_to": np.full(n, ""),
        },
        record_id=arr,
        log=DirtLog(n),
        address_id=None,
    )


def grids(w: World, day: dt.date) -> Batch:
    """The grids of every community."""
    d = w.district
    n = len(d.grid_id)
    return Batch(
        feed="grids",
        source="grid_office",
        day=day,
        stem="网格划分",
        cols={
            "grid_id": d.grid_id,
            "community_code": d.community_code[d.grid_community],
            "grid_name": d.grid_name,
            "grid_worker_id": d.grid_worker_id,
        },
        record_id=d.grid_id,
        log=DirtLog(n),
    )


def addresses(w: World, day: dt.date) -> Iterator[Batch]:
    """Standard addresses (标准地址), clean: the registry is the reference."""
    d = w.district
    for part, a, b in chunks(len(d.address_id), w.cfg.chunk_rows):
        idx = np.arange(a, b)
        yield Batch(
            feed="addresses",
            source="address_registry",
            day=day,
            stem=f"standard_addresses-{part:04d}",
            cols={
                "address_id": d.address_id[idx],
                "full_address": d.address_text(idx),
                "community_code": d.community_code[d.address_community[idx]],
                "building": d.address_building[idx].astype("U3"),
                "unit": d.address_unit[idx].astype("U2"),
                "room": d.address_room[idx].astype("U5"),
                "longitude": d.address_lnglat[idx, 0].astype("U12"),
                "latitude": d.address_lnglat[idx, 1].astype("U12"),
                "grid_id": d.grid_id[d.address_grid[idx]],
            },
            record_id=d.address_id[idx],
            log=DirtLog(len(idx)),
            address_id=d.address_id[idx],
        )


# -- population ---------------------------------------------------------------------------


def coverage(w: World, source: str) -> np.ndarray:
    """Persons a population source knows about."""
    p = w.persons
    rng = rng_for(w.cfg.seed, "coverage", source)
    res = p.is_resident
    if source == "hukou":
        base = res & ((p.status == 0) | (p.status == STATUS_AWAY))
    elif source == "census":
        base = res & (p.status != STATUS_AWAY)
    else:
        base = res.copy()
    return base & (rng.random(len(p)) < POP_COVERAGE[source])


def population(w: World, source: str, k: int, day: dt.date) -> Iterator[Batch]:
    """Day 0: the source's full extract; later days: new, changed and removed records."""
    p = w.persons
    rng = rng_for(w.cfg.seed, "population", source, k)
    cov = coverage(w, source)
    removed = np.zeros(len(p), dtype=bool)
    if k == 0:
        sel = cov & (p.arrive_day == 0)
    elif source == "census":
        return
    elif source == "self_report":
        sel = w.present(k) & (rng.random(len(p)) < 0.0005)
    else:
        new = cov & (p.arrive_day == k)
        removed = cov & (p.leave_day == k)
        changed = cov & (p.arrive_day < k) & (p.leave_day > k) & (rng.random(len(p)) < 0.001)
        sel = new | removed | changed
    pidx = np.nonzero(sel)[0]
    for part, a, b in chunks(len(pidx), w.cfg.chunk_rows):
        yield _population_batch(w, source, k, day, pidx[a:b], removed, part)


def _population_batch(
    w: World, source: str, k: int, day: dt.date, pidx: np.ndarray, removed: np.ndarray, part: int
) -> Batch:
    p, d = w.persons, w.district
    rng = rng_for(w.cfg.seed, "population-batch", source, k, part)
    n = len(pidx)
    log = DirtLog(n)
    cols = person_fields(rng, w, pidx, day, log, children=False)
    male, female = GENDER_STYLE[source]
    cols["gender"] = np.where(p.male[pidx], male, female)
    cols["birth_date"] = dirt.dates(
        rng, p.birth_days[pidx], BIRTH_STYLE[source], w.dirt, log, "birth_date"
    )
    addr = p.address[pidx]
    cols["address"] = dirt.addresses(rng, d, addr, w.dirt, log)
    com = d.community_code[d.address_community[addr]]
    missing_com = rng.random(n) < (0.6 if source == "self_report" else 0.1)
    cols["community_code"] = np.where(missing_com, "", com)
    cols["residence_status"] = STATUS_NAMES[np.clip(p.status[pidx], 0, 2)]
    cols["record_status"] = np.where(removed[pidx], "removed", "active")
    if k == 0:
        upd = day_start(day) - rng.integers(DAY_S, 3 * 365 * DAY_S, n)
    else:
        upd = day_start(day) + rng.integers(8 * 3600, 20 * 3600, n)
    cols["updated_at"] = dirt.times(rng, upd, w.dirt, log, "updated_at")
    cols["source_system"] = np.full(n, source)
    if source == "self_report":
        rid = S.add(f"SR{day:%Y%m%d}", zfill(np.arange(n).astype("U8"), 8))
    else:
        rid = S.add(source[:2].upper(), zfill(pidx.astype("U9"), 9))
    cols["source_record_id"] = rid
    stem = {
        "hukou": "户籍人口",
        "census": "census_extract",
        "grid": "网格采集人口",
        "self_report": "self_report",
    }
    return Batch(
        feed="population",
        source=source,
        day=day,
        stem=f"{stem[source]}-{part:04d}" if part else stem[source],
        cols=cols,
        record_id=rid,
        log=log,
        person_id=p.pids(pidx),
        address_id=d.address_id[addr],
        protected=("id_number", "name"),
    )


# -- legal entities -----------------------------------------------------------------------

ENTITY_COVERAGE = {"market_regulation": 0.98, "tax": 0.85, "civil_affairs": 0.97, "grid": 0.6}


def legal_entity(w: World, source: str, k: int, day: dt.date) -> Iterator[Batch]:
    """Day 0: full extract of the source's entities; later days: status changes."""
    e, d = w.entities, w.district
    rng = rng_for(w.cfg.seed, "legal_entity", source, k)
    auth = e.authority
    base = {"market_regulation": auth == "9", "tax": auth == "9", "civil_affairs": auth == "5"}.get(
        source, np.ones(len(e), dtype=bool)
    )
    cov = base & (
        rng_for(w.cfg.seed, "entity-coverage", source).random(len(e)) < ENTITY_COVERAGE[source]
    )
    status = e.status.copy()
    if k > 0:
        change = cov & (rng.random(len(e)) < 0.002)
        status[change] = "deregistered"
        cov = change
    eidx = np.nonzero(cov)[0]
    for part, a, b in chunks(len(eidx), w.cfg.chunk_rows):
        idx = eidx[a:b]
        n = len(idx)
        r = rng_for(w.cfg.seed, "entity-batch", source, k, part)
        log = DirtLog(n)
        uscc = e.uscc[idx].astype("U24")
        kinds = [
            ("lowercase", 0.01),
            ("spaces", 0.005),
            ("typo", 0.005),
            ("missing", 0.3 if source == "grid" else 0.005),
        ]
        pick = dirt.draw(r, n, [x for _, x in kinds])
        for j, (code, _) in enumerate(kinds):
            sel = np.nonzero(pick == j)[0]
            if not len(sel):
                continue
            v = uscc[sel].astype("U18")
            if code == "lowercase":
                new = S.lower(v)
            elif code == "spaces":
                new = S.add(S.add(S.slice(v, 0, 8), " "), S.slice(v, 8, 18))
            elif code == "typo":
                c = np.ascontiguousarray(v).view(np.uint32).reshape(len(sel), 18).copy()
                pos = r.integers(0, 17, len(sel))
                rows = np.arange(len(sel))
                c[rows, pos] = np.where(c[rows, pos] == ord("8"), ord("3"), ord("8"))
                new = np.ascontiguousarray(c).view("U18").ravel()
            else:
                new = np.full(len(sel), "")
            uscc[sel] = new
            log.add(f"uscc:{code}", sel)
        name = e.name[idx].astype("U60")
        if source == "grid":
            short = r.random(n) < 0.3
            name[short] = replace(replace(name[short], "有限公司", ""), "北京", "")
            log.add("entity_name:abbreviated", short)
        rep = e.representative[idx]
        p = w.persons
        rep_name = dirt.names(
            r,
            p.name[rep],
            p.surname[rep],
            p.given1[rep],
            p.given2[rep],
            p.minority[rep],
            w.dirt,
            log,
        )
        cols = {
            "source_system": np.full(n, source),
            "source_record_id": S.add(source[:3].upper(), zfill(idx.astype("U8"), 8)),
            "uscc": uscc,
            "entity_name": name,
            "legal_representative": rep_name,
            "registered_address": dirt.addresses(r, d, e.registered_address[idx], w.dirt, log),
            "business_address": d.address_text(e.business_address[idx]),
            "entity_type": np.array([x[2] for x in KINDS])[e.kind[idx]],
            "industry_code": np.array([x[1] for x in INDUSTRIES])[e.industry[idx]],
            "status": status[idx],
            "established_date": dirt.dates(
                r, e.established_days[idx], "iso", w.dirt, log, "established_date"
            ),
            "contact_phone": dirt.phones(r, p.phones(rep), p.landline[rep], w.dirt, log),
            "employee_count": e.employees[idx].astype("U6"),
            "updated_at": dirt.times(
                r, day_start(day) + r.integers(8 * 3600, 18 * 3600, n), w.dirt, log, "updated_at"
            ),
        }
        stems = {
            "market_regulation": "市场主体登记",
            "tax": "纳税人信息",
            "civil_affairs": "社会组织",
            "grid": "网格法人",
        }
        yield Batch(
            feed="legal_entity",
            source=source,
            day=day,
            stem=stems[source] + (f"-{part:04d}" if part else ""),
            cols=cols,
            record_id=cols["source_record_id"],
            log=log,
            entity_id=e.entity_id[idx],
            person_id=p.pids(rep),
            true_value=status[idx],
            protected=("uscc",),
        )


# -- testing rounds -----------------------------------------------------------------------


def plan_rounds(w: World) -> None:
    """Day 0 has a round ending that day over part of the district; then one every third day."""
    d = w.district
    for k, day in enumerate(w.cfg.days):
        if k % 3:
            continue
        rng = rng_for(w.cfg.seed, "round", k)
        s = day_start(day)
        n_tw = len(d.township_code)
        if k == 0:
            scope = d.township_code[: max(1, n_tw // 2)].tolist()
            scope.append(d.community_code[-1])
        else:
            scope = d.township_code[rng.permutation(n_tw)[: max(1, n_tw // 3)]].tolist()
        w.rounds.append(
            Round(
                round_id=f"R{day:%Y%m%d}01",
                name=f"{day:%m月%d日}区域核酸检测",
                starts=s + 6 * 3600,
                ends=s + 22 * 3600,
                scope=scope,
                announced=day,
            )
        )


def testing_rounds(w: World, day: dt.date) -> Batch | None:
    """Rounds announced on ``day``."""
    rs = [r for r in w.rounds if r.announced == day]
    if not rs:
        return None
    n = len(rs)
    ids = np.array([r.round_id for r in rs])
    return Batch(
        feed="testing_rounds",
        source="command_centre",
        day=day,
        stem="检测轮次",
        cols={
            "round_id": ids,
            "name": np.array([r.name for r in rs]),
            "starts_at": dirt.format_times(np.array([r.starts for r in rs]), "iso"),
            "ends_at": dirt.format_times(np.array([r.ends for r in rs]), "iso"),
            "scope": np.array([";".join(r.scope) for r in rs]),
        },
        record_id=ids,
        log=DirtLog(n),
    )


# -- nucleic-acid tests -------------------------------------------------------------------


@dataclass
class TestPart:
    """One chunk of the day's test events, before splitting by platform."""

    person: np.ndarray
    sample_id: pa.Array
    tube_id: pa.Array
    pool: np.ndarray
    sampled: np.ndarray
    tested: np.ndarray
    site: np.ndarray  # community index, or number of communities + outside index
    lab: np.ndarray  # index into LABS
    result: np.ndarray
    platform: np.ndarray  # 0 both, 1 city, 2 national


def test_events(w: World, k: int, day: dt.date) -> np.ndarray:
    """Person of every test event of the day: round scope first, then the daily budget."""
    p = w.persons
    rng = rng_for(w.cfg.seed, "events", k)
    total = w.cfg.daily_tests
    present = w.present(k)
    picked = []
    for r in w.rounds:
        if r.starts // DAY_S * DAY_S == day_start(day):
            scope = w.in_scope(r) & present
            picked.append(np.nonzero(scope & (rng.random(len(p)) < 0.9))[0])
    first = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
    # the round takes at most 70 % of the day's budget; the rest is everyday testing
    first = first[rng.permutation(len(first))][: int(total * 0.7)]
    rest = total - len(first)
    weight = np.where(present, 1.0, 0.0)
    weight[p.status == STATUS_AWAY] = 0.6
    weight[p.status == NON_RESIDENT] = 0.5
    weight[(p.arrive_day > k) | (p.leave_day <= k)] = 0.0
    extra = (
        rng.choice(len(p), size=rest, p=weight / weight.sum())
        if rest > 0
        else np.empty(0, np.int64)
    )
    events = np.concatenate([first, extra])
    return events[rng.permutation(len(events))]


def infections(w: World, k: int, day: dt.date, events: np.ndarray) -> np.ndarray:
    """Which persons are truly infected that day (a few per 10,000 tested, at least 3)."""
    rng = rng_for(w.cfg.seed, "infections", k)
    inf = np.zeros(len(w.persons), dtype=bool)
    cand = np.unique(events)
    m = max(3, int(len(cand) * 0.0003)) if len(cand) else 0
    chosen = rng.choice(cand, size=min(m, len(cand)), replace=False) if m else np.empty(0, np.int64)
    inf[chosen] = True
    w.infections.extend((int(i), day) for i in chosen)
    return inf


def test_part(
    w: World, k: int, day: dt.date, part: int, pidx: np.ndarray, infected: np.ndarray, seq0: int
) -> TestPart:
    """Sites, pooled tubes, results and individual retests of one chunk of events."""
    p, d = w.persons, w.district
    rng = rng_for(w.cfg.seed, "tests", k, part)
    n = len(pidx)
    n_com = len(d.community_code)
    com = w.community_of(pidx)
    wander = rng.random(n) < 0.15
    com = np.where((com < 0) | wander, rng.integers(0, n_com, n), com)
    outside = (p.status[pidx] == STATUS_AWAY) | ((p.status[pidx] >= 0) & (rng.random(n) < 0.03))
    out_i = rng.integers(0, len(d.outside_codes), n)
    site_key = np.where(outside, n_com + out_i, com) * 2 + rng.integers(0, 2, n)
    s0 = day_start(day)
    sampled = s0 + 6 * 3600 + rng.integers(0, 15 * 3600, n)
    # pooled tubes: consecutive samples at one site share a tube of the site's pool size
    pool_of_site = POOL_SIZES[
        rng_for(w.cfg.seed, "pools").choice(4, size=2 * (n_com + 64), p=POOL_P)
    ]
    order = np.lexsort((sampled, site_key))
    pidx, site_key, sampled, outside, com, out_i = (
        a[order] for a in (pidx, site_key, sampled, outside, com, out_i)
    )
    pool = pool_of_site[site_key]
    block = np.r_[True, site_key[1:] != site_key[:-1]]
    bstart = np.maximum.accumulate(np.where(block, np.arange(n), 0))
    pos = np.arange(n) - bstart
    new_tube = block | (pos % pool == 0)
    tube = np.cumsum(new_tube) - 1
    n_tubes = int(tube[-1]) + 1 if n else 0
    # tube results: a tube with an infected member is positive; other tube outcomes by rate
    pos_tube = np.bincount(tube, weights=infected[pidx].astype(float), minlength=n_tubes) > 0
    u = rng.random(n_tubes)
    tube_result = np.select(
        [pos_tube, u < 0.003, u < 0.005, u < 0.009],
        ["positive", "suspect", "invalid", "pending"],
        "negative",
    )
    if k == 0 and part == 0 and n_tubes > 10:
        pooled = np.nonzero((np.bincount(tube, minlength=n_tubes) > 1) & ~pos_tube)[0]
        tube_result[pooled[:2]] = ["suspect", "pending"][: len(pooled[:2])]
    result = tube_result[tube]
    # members of positive and suspect tubes are retested one by one later that day
    again = np.nonzero(np.isin(result, ["positive", "suspect"]))[0]
    r_person = pidx[again]
    r_sampled = np.minimum(
        sampled[again] + rng.integers(2 * 3600, 5 * 3600, len(again)), s0 + DAY_S - 60
    )
    r_result = np.where(infected[r_person], "positive", "negative")
    person = np.concatenate([pidx, r_person])
    samp = np.concatenate([sampled, r_sampled])
    m = len(person)
    yymmdd = f"{day:%y%m%d}"
    seq = np.arange(seq0, seq0 + m)
    tube_no = np.concatenate([tube + seq0, seq0 + n_tubes + np.arange(len(again))])
    out_all = np.concatenate([outside, outside[again]])
    site = np.where(
        out_all, n_com + np.concatenate([out_i, out_i[again]]), np.concatenate([com, com[again]])
    )
    tested = samp + rng.integers(3 * 3600, 12 * 3600, m)
    platform = rng.choice(3, size=m, p=[0.6, 0.25, 0.15])
    return TestPart(
        person=person,
        sample_id=numbered(f"S{yymmdd}", seq, 9),
        tube_id=numbered(f"T{yymmdd}", tube_no, 9),
        pool=np.concatenate([pool, np.ones(len(again), dtype=np.int64)]),
        sampled=samp,
        tested=tested,
        site=site,
        lab=tube_no % len(LABS),
        result=np.concatenate([result, r_result]),
        platform=platform,
    )


def test_batches(w: World, tp: TestPart, k: int, day: dt.date, part: int) -> Iterator[Batch]:
    """The part as each platform delivers it, plus re-sent corrections of pending results."""
    for plat, code in (("city", 1), ("national", 2)):
        sel = np.nonzero((tp.platform == 0) | (tp.platform == code))[0]
        rng = rng_for(w.cfg.seed, "tests-batch", plat, k, part)
        yield _test_batch(w, tp, sel, plat, day, rng, f"part-{part:04d}", tp.result[sel], False)
        pend = sel[(tp.result[sel] == "pending") & (rng.random(len(sel)) < w.dirt.corrected_resend)]
        if len(pend):
            final = np.where(
                np.isin(tp.person[pend], [i for i, _ in w.infections]), "positive", "negative"
            )
            b = _test_batch(w, tp, pend, plat, day, rng, f"part-{part:04d}-更正", final, True)
            b.log.add("result:corrected_resend", np.arange(len(pend)))
            yield b


def _test_batch(
    w: World,
    tp: TestPart,
    sel: np.ndarray,
    plat: str,
    day: dt.date,
    rng: np.random.Generator,
    stem: str,
    result: np.ndarray,
    resend: bool,
) -> Batch:
    d = w.district
    n = len(sel)
    log = DirtLog(n)
    pidx = tp.person[sel]
    cols = person_fields(rng, w, pidx, day, log, children=True)
    tested = tp.tested[sel] + (6 * 3600 if resend else 0)
    site_codes = np.concatenate([d.community_code, d.outside_codes])
    site_names = np.concatenate(
        [S.add(d.community_name, "核酸采样点"), S.add(d.outside_names, "便民核酸采样点")]
    )
    sample_id = tp.sample_id.take(pa.array(sel))
    cols.update(
        source_platform=constant(plat, n),
        sample_id=sample_id,
        tube_id=tp.tube_id.take(pa.array(sel)),
        pool_size=to_pa(tp.pool[sel]),
        sampled_at=dirt.times(rng, tp.sampled[sel], w.dirt, log, "sampled_at"),
        sampling_site=take(site_names, tp.site[sel]),
        site_division_code=take(site_codes, tp.site[sel]),
        tested_at=dirt.times(rng, tested, w.dirt, log, "tested_at"),
        result=take(RESULTS, np.searchsorted(RESULTS, result)),
        lab_name=take(LABS, tp.lab[sel]),
    )
    return Batch(
        feed="nucleic_acid",
        source=plat,
        day=day,
        stem=stem,
        cols=cols,
        record_id=sample_id,
        log=log,
        person_id=w.persons.pids(pidx),
        true_value=result,
        resend=np.full(n, resend),
        protected=("id_number", "name", "result", "tube_id", "pool_size"),
    )


# -- vaccination --------------------------------------------------------------------------


def vaccination(w: World, k: int, day: dt.date) -> Iterator[Batch]:
    """Day 0: every dose so far; later days: the doses given that day."""
    p = w.persons
    rng = rng_for(w.cfg.seed, "vaccination", k)
    age = p.age_on(day)
    present = w.present(k) | (p.status == NON_RESIDENT)
    if k == 0:
        vacc = present & (age >= 3) & (rng.random(len(p)) < 0.88)
        doses = np.where(vacc, rng.choice([1, 2, 3, 4], size=len(p), p=[0.08, 0.3, 0.55, 0.07]), 0)
    else:
        doses = np.where(present & (age >= 18) & (rng.random(len(p)) < 0.002), 1, 0)
    vidx = np.nonzero(doses)[0]
    per = max(1000, w.cfg.chunk_rows // 3)
    for part, a, b in chunks(len(vidx), per):
        batch = _vaccination_batch(w, k, day, part, a, vidx[a:b], doses[vidx[a:b]])
        if batch is not None:
            yield batch
        del batch  # let the part go before the next one is built


def _vaccination_batch(
    w: World, k: int, day: dt.date, part: int, a: int, persons: np.ndarray, doses: np.ndarray
) -> Batch | None:
    p, d = w.persons, w.district
    r = rng_for(w.cfg.seed, "vaccination-batch", k, part)
    who = np.repeat(persons, doses)
    n = len(who)
    if n == 0:
        return None
    first = np.r_[True, who[1:] != who[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    dose_no = np.arange(n) - start + 1
    if k == 0:
        base = (np.datetime64("2021-03-01", "D") - EPOCH).astype(np.int64) * DAY_S
        when = base + (dose_no - 1) * 60 * DAY_S + r.integers(0, 40 * DAY_S, n) + 8 * 3600
        when = when - when % 60
    else:
        dose_no = dose_no + 3
        when = day_start(day) + r.integers(8 * 3600, 17 * 3600, n)
    log = DirtLog(n)
    cols = person_fields(r, w, who, day, log, children=True)
    prod = r.integers(0, len(VACCINES), n)
    com = w.community_of(who)
    com = np.where(com < 0, r.integers(0, len(d.community_code), n), com)
    tw = d.community_township[com]
    rid = S.add(f"V{day:%y%m%d}", zfill((np.arange(a * 4, a * 4 + n)).astype("U9"), 9))
    cols.update(
        source_system=np.full(n, "immunization"),
        record_id=rid,
        dose_number=dose_no.astype("U2"),
        vaccine_product=np.array([v[0] for v in VACCINES])[prod],
        manufacturer=np.array([v[1] for v in VACCINES])[prod],
        batch_no=S.add("2021", zfill(r.integers(0, 999999, n).astype("U6"), 6)),
        vaccinated_at=dirt.times(r, when, w.dirt, log, "vaccinated_at"),
        site_name=S.add(d.township_name[tw], "社区卫生服务中心"),
        site_division_code=d.township_code[tw],
    )
    return Batch(
        feed="vaccination",
        source="immunization",
        day=day,
        stem=f"接种记录-{part:04d}",
        cols=cols,
        record_id=rid,
        log=log,
        person_id=p.pids(who),
        protected=("id_number",),
    )


# -- appeals ------------------------------------------------------------------------------


def appeals(w: World, k: int, day: dt.date) -> Batch:
    """Yellow-code appeals, mostly from persons in a round's scope who were not sampled."""
    p = w.persons
    rng = rng_for(w.cfg.seed, "appeals", k)
    n = max(5, len(p) // 2500)
    tested = np.zeros(len(p), dtype=bool)
    tested[w.tested.get(day, np.empty(0, np.int64))] = True
    cand = np.zeros(len(p), dtype=bool)
    for r in w.rounds:
        if r.announced <= day:
            cand |= w.in_scope(r)
    cand &= w.present(k) & ~tested
    pool = np.nonzero(cand)[0] if cand.any() else np.nonzero(w.present(k))[0]
    pidx = rng.choice(pool, size=min(n, len(pool)), replace=False)
    n = len(pidx)
    log = DirtLog(n)
    cols = person_fields(rng, w, pidx, day, log, children=True)
    submitted = day_start(day) + rng.integers(7 * 3600, 21 * 3600, n)
    decision = rng.choice(np.array(["approved", "rejected", "pending"]), size=n, p=[0.6, 0.2, 0.2])
    decision[0] = "approved"
    decided = submitted + rng.integers(300, 7200, n)
    ids = S.add(f"AP{day:%Y%m%d}", zfill(np.arange(n).astype("U5"), 5))
    cols.update(
        appeal_id=ids,
        reason=REASONS[rng.choice(4, size=n, p=[0.35, 0.2, 0.3, 0.15])],
        submitted_at=dirt.format_times(submitted, "iso"),
        decision=decision,
        decided_at=np.where(decision == "pending", "", dirt.format_times(decided, "iso")),
        decided_by=np.where(
            decision == "pending", "", S.add("审核员", rng.integers(1, 20, n).astype("U2"))
        ),
    )
    return Batch(
        feed="appeals",
        source="health_code_service",
        day=day,
        stem="yellow_code_appeals",
        cols=cols,
        record_id=ids,
        log=log,
        person_id=p.pids(pidx),
        true_value=decision,
        protected=("decision",),
    )
