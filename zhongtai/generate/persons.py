"""The true population: residents in households, and non-residents tested in the district."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from zhongtai.generate.divisions import COUNTIES, District, add_addresses
from zhongtai.generate.names import tables
from zhongtai.generate.text import numbered
from zhongtai.ids.resident_id import build_np

# plausible birthplace region codes of people living in a big-city district, with weights
OTHER_REGIONS: tuple[tuple[int, float], ...] = (
    (110101, 3), (110102, 3), (110105, 4), (110106, 2), (110108, 3), (130102, 2), (130602, 2),
    (370102, 2), (410105, 2), (420106, 1), (510104, 1), (320102, 1), (330106, 1), (440106, 1),
    (230103, 1), (210102, 1), (610113, 1), (340104, 1), (360102, 1), (430104, 1), (140105, 2),
    (150102, 1), (120101, 2), (220102, 1), (130982, 1), (131002, 2), (411302, 1), (372901, 1),
)  # fmt: skip
HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
HOUSEHOLD_P = np.array([0.25, 0.30, 0.25, 0.12, 0.08])
MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 158, 159, 166, 176,
     177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 199]
)  # fmt: skip
AREA_CODES = {"11": "010", "31": "021", "44": "020", "42": "027", "51": "028", "33": "0571"}
OTHER_DOC_TYPES = ("passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent_resident")
EPOCH = np.datetime64("1970-01-01", "D")
STATUS_PERMANENT, STATUS_FLOATING, STATUS_AWAY, NON_RESIDENT = 0, 1, 2, -1
STATUS_NAMES = np.array(["permanent", "floating", "away"])
BUILD_PIECE = 1 << 20  # persons whose ID numbers are built at a time
ID_TYPES = np.array(["resident_id", *OTHER_DOC_TYPES], dtype="U26")  # by id_type_code


@dataclass
class Persons:
    """Everyone the generator knows, as parallel arrays indexed by person number.

    Stored compactly so that millions of persons fit in little memory: ASCII text as
    numpy bytes (``S``), codes and indices in the narrowest integer type; the accessors
    (``ids``, ``phones``, ``id_types``, ``pids``) give a selection as text.
    """

    id_type_code: np.ndarray  # uint8 index into ID_TYPES
    id_number_ascii: np.ndarray  # S18
    name: np.ndarray
    surname: np.ndarray  # index into the surname table
    given1: np.ndarray  # index into the given-character table
    given2: np.ndarray  # 0 = no second character
    minority: np.ndarray  # index into MINORITY_NAMES, -1 for Han names
    male: np.ndarray  # bool
    birth_days: np.ndarray  # days since 1970-01-01
    household: np.ndarray  # -1 for non-residents
    head: np.ndarray  # person index of the household head (self for heads, non-residents)
    address: np.ndarray  # address index, -1 for non-residents
    phone_ascii: np.ndarray  # S13 (mobiles 11, landlines up to 13)
    landline: np.ndarray  # bool: the phone is a landline
    status: np.ndarray  # STATUS_* (residence), NON_RESIDENT
    arrive_day: np.ndarray  # day index from which the person is in the district's records
    leave_day: np.ndarray  # day index of removal (died / moved out), large if never

    def __len__(self) -> int:
        return len(self.male)

    def pids(self, idx: np.ndarray) -> pa.Array:
        """Person ids (``P`` + 9 digits) of persons ``idx``."""
        return numbered("P", idx, 9)

    def ids(self, idx: np.ndarray) -> np.ndarray:
        """Document numbers of persons ``idx`` (``U18``)."""
        return self.id_number_ascii[idx].astype("U18")

    def id_types(self, idx: np.ndarray) -> np.ndarray:
        """Canonical id_type values of persons ``idx``."""
        return ID_TYPES[self.id_type_code[idx]]

    def phones(self, idx: np.ndarray) -> np.ndarray:
        """Phones of persons ``idx`` (``U13``)."""
        return self.phone_ascii[idx].astype("U13")

    @property
    def is_resident(self) -> np.ndarray:
        """True for persons with a population record in the district."""
        return self.status != NON_RESIDENT

    def age_on(self, day: dt.date) -> np.ndarray:
        """Whole years of age on ``day`` (approximate by 365.25 days)."""
        return self.age_of(slice(None), day)

    def age_of(self, idx: np.ndarray | slice, day: dt.date) -> np.ndarray:
        """``age_on(day)[idx]``, computed for the selection only."""
        today = (np.datetime64(day, "D") - EPOCH).astype(np.int64)
        return ((today - self.birth_days[idx].astype(np.int64)) / 365.25).astype(np.int64)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01."""
    d = EPOCH + days.astype("timedelta64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, dd


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    pre = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)].astype(np.int64)
    return (pre * 100_000_000 + rng.integers(0, 100_000_000, n)).astype("S11")


def build_persons(
    rng: np.random.Generator, district: District, residents: int, start: dt.date, n_days: int
) -> Persons:
    """Residents in households at addresses, plus non-residents (about 8 %) tested here."""
    t = tables()
    ref = (np.datetime64(start, "D") - EPOCH).astype(np.int64)
    # households
    sizes = rng.choice(HOUSEHOLD_SIZES, size=residents // 2 + 10, p=HOUSEHOLD_P)
    ends = np.cumsum(sizes)
    n_hh = int(np.searchsorted(ends, residents) + 1)
    sizes = sizes[:n_hh]
    sizes[-1] -= int(ends[n_hh - 1] - residents)
    household = np.repeat(np.arange(n_hh), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    member = np.arange(residents) - starts[household]
    head = starts[household]
    n_non = max(10, residents * 8 // 100)
    n = residents + n_non
    # ages: heads 22-85, spouses near the head, members 2+ children or an elderly parent
    age = np.empty(n)
    age[:residents] = rng.uniform(22, 85, residents)
    spouse = member == 1
    age[:residents][spouse] = np.clip(age[head[spouse]] + rng.normal(0, 3, spouse.sum()), 20, 95)
    other = member >= 2
    kid = other & (rng.random(residents) < 0.8)
    elder = other & ~kid
    age[:residents][kid] = np.minimum(
        rng.uniform(0, 18, kid.sum()), np.maximum(age[head[kid]] - 20, 0.5)
    )
    age[:residents][elder] = np.clip(age[head[elder]] + rng.uniform(22, 32, elder.sum()), 60, 100)
    age[residents:] = rng.uniform(18, 70, n_non)
    birth_days = ref - (age * 365.25).astype(np.int64) - rng.integers(0, 365, n) // 365
    male = rng.random(n) < 0.51
    male[:residents][spouse] = ~male[head[spouse]]
    # residence status of residents; households share it
    hh_status = rng.choice(3, size=n_hh, p=[0.70, 0.22, 0.08])
    status = np.concatenate([hh_status[household], np.full(n_non, NON_RESIDENT)])
    # birthplace: locals mostly born in the county, floating and non-residents elsewhere
    regions = np.array([r for r, _ in OTHER_REGIONS], dtype=np.int64)
    rw = np.array([w for _, w in OTHER_REGIONS], dtype=np.float64)
    region = regions[rng.choice(len(regions), size=n, p=rw / rw.sum())]
    local = (status == STATUS_PERMANENT) | (status == STATUS_AWAY)
    local &= rng.random(n) < 0.75
    region[local] = int(district.county_code)
    y, m, d = ymd(birth_days)
    birth = y * 10000 + m * 100 + d
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)
    # re-draw colliding sequence numbers until every number is unique
    for _ in range(50):
        key = region * 10**11 + birth * 1000 + seq
        _, first_idx, counts = np.unique(key, return_index=True, return_counts=True)
        dup = np.ones(n, dtype=bool)
        dup[first_idx] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, int(dup.sum())) * 2 + male[dup].astype(np.int64)
    # built a piece at a time and kept as ASCII bytes: build_np's digit matrix is large
    id_number = np.concatenate(
        [
            build_np(
                region[i : i + BUILD_PIECE], birth[i : i + BUILD_PIECE], seq[i : i + BUILD_PIECE]
            ).astype("S18")
            for i in range(0, n, BUILD_PIECE)
        ]
    )
    id_type_code = np.zeros(n, dtype=np.uint8)  # resident_id
    # some non-residents carry other documents
    other_doc = np.zeros(n, dtype=bool)
    other_doc[residents:] = rng.random(n_non) < 0.05
    k = int(other_doc.sum())
    kinds = rng.integers(0, len(OTHER_DOC_TYPES), k)
    id_type_code[other_doc] = kinds + 1
    letters = np.array(["E", "H", "", "CHN"])[kinds]
    id_number[other_doc] = np.strings.add(
        letters, rng.integers(10_000_000, 99_999_999, k).astype("U8")
    )
    # names: children keep the head's surname
    surname = rng.choice(len(t.surname), size=n, p=t.surname_p)
    surname[:residents][kid] = surname[head[kid]]
    given1 = np.where(
        male,
        rng.choice(len(t.given), size=n, p=t.given_p_male),
        rng.choice(len(t.given), size=n, p=t.given_p_female),
    )
    two = rng.random(n) < 0.78
    given2 = np.where(
        male,
        rng.choice(len(t.given), size=n, p=t.given_p_male),
        rng.choice(len(t.given), size=n, p=t.given_p_female),
    )
    given2[~two] = 0
    minority = np.where(rng.random(n) < 0.01, rng.integers(0, len(t.minority), n), -1)
    name = np.strings.add(np.strings.add(t.surname[surname], t.given[given1]), t.given[given2])
    # widen before assigning: minority names are longer than any generated Han name
    name = name.astype(f"U{max(name.dtype.itemsize, t.minority.dtype.itemsize) // 4}")
    name[minority >= 0] = t.minority[minority[minority >= 0]]
    # phones: adults own one; children and half of the elderly share the head's phone
    # wide enough for a landline with a 4-digit area code (0755-12345678)
    phone = _phones(rng, n).astype("S13")
    landline = np.zeros(n, dtype=bool)
    old = age > 65
    landline[old] = rng.random(int(old.sum())) < 0.1
    area = AREA_CODES.get(district.county_code[:2], "010")
    k = int(landline.sum())
    phone[landline] = np.strings.add(
        f"{area}-", rng.integers(60_000_000, 89_999_999, k).astype("U8")
    )
    share = np.zeros(n, dtype=bool)
    share[:residents] = kid | (elder & (rng.random(residents) < 0.5))
    share &= age < 200
    idx = np.nonzero(share)[0]
    phone[idx] = phone[head[idx]]
    landline[idx] = landline[head[idx]]
    # addresses: one per household plus some empty ones
    add_addresses(rng, district, int(n_hh * 1.15) + 1)
    hh_addr = rng.permutation(len(district.address_id))[:n_hh]
    address = np.concatenate([hh_addr[household], np.full(n_non, -1)])
    head_all = np.concatenate([head, np.arange(residents, n)])
    hh_all = np.concatenate([household, np.full(n_non, -1)])
    # churn over the days: move-ins arrive, some records are removed
    arrive = np.zeros(n, dtype=np.int64)
    leave = np.full(n, 1 << 30, dtype=np.int64)
    if n_days > 1:
        movers = rng.random(residents) < 0.0005 * (n_days - 1)
        arrive[:residents][movers] = rng.integers(1, n_days, int(movers.sum()))
        gone = (rng.random(residents) < 0.0003 * (n_days - 1)) & ~movers
        leave[:residents][gone] = rng.integers(1, n_days, int(gone.sum()))
    return Persons(
        id_type_code=id_type_code,
        id_number_ascii=id_number,
        name=name,
        surname=surname.astype(np.int16),
        given1=given1.astype(np.int16),
        given2=given2.astype(np.int16),
        minority=minority.astype(np.int16),
        male=male,
        birth_days=birth_days.astype(np.int32),
        household=hh_all.astype(np.int32),
        head=head_all.astype(np.int32),
        address=address.astype(np.int32),
        phone_ascii=phone,
        landline=landline,
        status=status.astype(np.int8),
        arrive_day=arrive.astype(np.int32),
        leave_day=leave.astype(np.int32),
    )


def known_county_codes() -> list[str]:
    """County codes the generator can build a district under."""
    return sorted(COUNTIES)
