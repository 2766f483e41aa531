"""Legal entities of the district, with valid unified social credit codes (GB 32100)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zhongtai.generate.divisions import District
from zhongtai.generate.persons import EPOCH, Persons
from zhongtai.generate.text import zfill
from zhongtai.ids.uscc import CHARSET, build_np

TRADE_NAMES = (
    "华联",
    "恒通",
    "金源",
    "东方",
    "瑞丰",
    "博远",
    "安信",
    "鑫达",
    "宏图",
    "中科",
    "天润",
    "嘉禾",
    "融通",
    "晨光",
    "润泽",
    "永盛",
    "众成",
    "新锐",
    "海川",
    "德昌",
    "盛世",
    "启航",
    "立信",
    "蓝天",
)
INDUSTRIES = (
    ("科技", "I6510"),
    ("商贸", "F5211"),
    ("餐饮", "H6210"),
    ("物业管理", "K7020"),
    ("咨询", "L7243"),
    ("建筑工程", "E4813"),
    ("文化传媒", "R8710"),
    ("物流", "G5810"),
)
# (authority, category, entity type, name suffix, share)
KINDS = (
    ("9", "1", "有限责任公司(自然人投资或控股)", "有限公司", 0.55),
    ("9", "1", "股份有限公司", "股份有限公司", 0.05),
    ("9", "2", "个体工商户", "店", 0.30),
    ("5", "1", "社会团体", "协会", 0.04),
    ("5", "2", "民办非企业单位", "服务中心", 0.06),
)
STATUSES = np.array(["active", "deregistered", "revoked", "moved_out"])


@dataclass
class Entities:
    """Every true legal entity, as parallel arrays."""

    entity_id: np.ndarray
    uscc: np.ndarray
    name: np.ndarray
    kind: np.ndarray  # index into KINDS
    representative: np.ndarray  # person index
    registered_address: np.ndarray  # address index
    business_address: np.ndarray
    industry: np.ndarray  # index into INDUSTRIES
    status: np.ndarray
    established_days: np.ndarray
    employees: np.ndarray

    def __len__(self) -> int:
        return len(self.entity_id)

    @property
    def authority(self) -> np.ndarray:
        """Registration authority character of each code."""
        return np.array([k[0] for k in KINDS])[self.kind]


def build_entities(
    rng: np.random.Generator, district: District, persons: Persons, city: str
) -> Entities:
    """About one legal entity per 25 residents."""
    residents = np.nonzero(persons.is_resident & (persons.household >= 0))[0]
    n = max(50, len(residents) // 25)
    share = np.array([k[4] for k in KINDS])
    kind = rng.choice(len(KINDS), size=n, p=share / share.sum())
    auth = np.array([k[0] for k in KINDS])[kind]
    cat = np.array([k[1] for k in KINDS])[kind]
    charset = np.array(list(CHARSET))
    digits = rng.integers(0, 10, (n, 8))
    letters = rng.random((n, 8)) < 0.15
    chars = np.where(letters, rng.integers(10, len(CHARSET), (n, 8)), digits)
    org8 = np.ascontiguousarray(charset[chars]).view("U8").ravel()
    uscc = build_np(auth, cat, np.full(n, district.county_code), org8)
    ind = rng.integers(0, len(INDUSTRIES), n)
    trade = np.array(TRADE_NAMES)[rng.integers(0, len(TRADE_NAMES), n)]
    trade2 = np.array(TRADE_NAMES)[rng.integers(0, len(TRADE_NAMES), n)]
    s = np.strings
    city_short = city.removesuffix("市")
    name = s.add(
        s.add(
            s.add(city_short, s.add(trade, s.slice(trade2, 0, 1))),
            np.array([i[0] for i in INDUSTRIES])[ind],
        ),
        np.array([k[3] for k in KINDS])[kind],
    )
    # names must be unique: number the repeats
    _, inv, counts = np.unique(name, return_inverse=True, return_counts=True)
    order = np.argsort(inv, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    numbered = rank > 0
    name[numbered] = s.add(
        s.add(city_short, s.add(trade[numbered], (rank[numbered] + 1).astype("U4"))),
        s.add(
            np.array([i[0] for i in INDUSTRIES])[ind[numbered]],
            np.array([k[3] for k in KINDS])[kind[numbered]],
        ),
    )
    adults = residents[
        persons.age_on(np.datetime64("2026-01-01", "D").astype(object))[residents] >= 22
    ]
    rep = adults[rng.integers(0, len(adults), n)]
    reg = rng.integers(0, len(district.address_id), n)
    biz = np.where(rng.random(n) < 0.7, reg, rng.integers(0, len(district.address_id), n))
    status = STATUSES[rng.choice(4, size=n, p=[0.85, 0.08, 0.04, 0.03])]
    est = (np.datetime64("2024-12-31", "D") - EPOCH).astype(np.int64) - rng.integers(0, 25 * 365, n)
    employees = np.where(cat == "2", rng.integers(1, 6, n), rng.integers(3, 500, n))
    return Entities(
        entity_id=s.add("E", zfill(np.arange(n).astype("U8"), 8)),
        uscc=uscc,
        name=name,
        kind=kind,
        representative=rep,
        registered_address=reg,
        business_address=biz,
        industry=ind,
        status=status,
        established_days=est,
        employees=employees,
    )
