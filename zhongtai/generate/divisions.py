"""The synthetic district: divisions under a real county code, grids, addresses, sites.

Division codes follow the statistical division code (统计用区划代码): 6 digits of
county, 3 of township (乡镇街道), 3 of community (社区/村), so every generated
code is 12 digits and its prefix is the real county. Addresses are standard
addresses (标准地址) of compounds, buildings, units and rooms in the communities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zhongtai.errors import ConfigError
from zhongtai.generate.text import zfill

# county code -> (province, city, county, longitude, latitude, name before a re-zoning)
COUNTIES: dict[str, tuple[str, str, str, float, float, str | None]] = {
    "110101": ("北京市", "市辖区", "东城区", 116.416, 39.928, "崇文区"),
    "110102": ("北京市", "市辖区", "西城区", 116.366, 39.912, "宣武区"),
    "110105": ("北京市", "市辖区", "朝阳区", 116.443, 39.921, None),
    "110106": ("北京市", "市辖区", "丰台区", 116.287, 39.858, None),
    "110108": ("北京市", "市辖区", "海淀区", 116.298, 39.959, None),
    "310104": ("上海市", "市辖区", "徐汇区", 121.437, 31.179, None),
    "330106": ("浙江省", "杭州市", "西湖区", 120.130, 30.259, None),
    "420106": ("湖北省", "武汉市", "武昌区", 114.316, 30.554, None),
    "440106": ("广东省", "广州市", "天河区", 113.361, 23.125, None),
    "510104": ("四川省", "成都市", "锦江区", 104.083, 30.657, None),
}
MUNICIPALITIES = ("11", "12", "31", "50")

TOWNSHIP_STEMS = (
    "建外", "朝外", "呼家楼", "三里屯", "左家庄", "香河园", "和平街", "安贞", "亚运村", "小关",
    "酒仙桥", "麦子店", "团结湖", "六里屯", "八里庄", "双井", "劲松", "潘家园", "垡头", "望京",
    "大屯", "奥运村", "来广营", "太阳宫", "东坝", "南磨房", "高碑店", "将台", "崔各庄", "孙河",
    "十八里店", "王四营", "豆各庄", "东风", "常营", "三间房", "平房", "管庄", "金盏", "黑庄户",
    "小红门", "首都机场", "广渠门",
)  # fmt: skip
COMMUNITY_STEMS = (
    "安华", "惠新", "和平", "育慧", "樱花", "芍药居", "民族园", "华严", "北沙滩", "青年路",
    "金台", "光华", "永安", "百子湾", "广渠", "大望", "红庙", "延静", "甜水", "核桃园",
    "枣营", "农光", "南湖", "花家地", "利泽", "南十里居", "北苑", "柳芳", "西坝河", "石佛营",
)  # fmt: skip
COMMUNITY_SUFFIXES = (
    "西里",
    "东里",
    "南里",
    "北里",
    "家园",
    "新村",
    "嘉园",
    "雅苑",
    "一区",
    "二区",
)
ROAD_STEMS = ("安华", "惠新", "和平", "光华", "朝阳", "建国", "望京", "广顺", "北辰", "亮马")
ROAD_SUFFIXES = ("路", "街", "大街", "西路", "北路", "东街")

PERSONS_PER_COMMUNITY = 3000
COMMUNITIES_PER_TOWNSHIP = 8
GRIDS_PER_COMMUNITY = 4
# mixed radix of an address inside a community: room, floor, unit, building, compound
ROOMS, FLOORS, UNITS, BUILDINGS = 2, 18, 4, 20


@dataclass
class District:
    """Every generated place of one district, as parallel numpy arrays."""

    county_code: str
    province: str
    city: str
    county: str
    old_county: str | None
    township_code: np.ndarray
    township_name: np.ndarray
    township_old_name: np.ndarray
    community_code: np.ndarray
    community_name: np.ndarray
    community_township: np.ndarray  # township index per community
    community_lnglat: np.ndarray  # (n, 2)
    grid_id: np.ndarray
    grid_community: np.ndarray
    grid_name: np.ndarray
    grid_worker_id: np.ndarray
    outside_codes: np.ndarray  # community codes of other counties, for tests outside
    outside_names: np.ndarray
    # addresses
    address_id: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="U1"))
    address_community: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    address_grid: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    address_road: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="U1"))
    address_number: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    address_building: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    address_unit: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    address_room: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    address_lnglat: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def prefix(self) -> str:
        """Province, city and county as written in a full address."""
        if self.county_code[:2] in MUNICIPALITIES:
            return self.province + self.county
        return self.province + self.city + self.county

    def address_text(
        self, idx: np.ndarray, style: str = "standard", room_style: str = "standard"
    ) -> np.ndarray:
        """Full addresses of the addresses ``idx``.

        Args:
            idx: address indices.
            style: ``standard`` (省市区+街道+路+号院+栋单元室), ``no_prefix`` (from the
                township on), ``county`` (from the county on), ``old`` (old names).
        """
        com = self.address_community[idx]
        tw = self.community_township[com]
        s = np.strings
        head: np.ndarray
        if style == "standard":
            head = s.add(self.prefix, self.township_name[tw])
        elif style == "county":
            head = s.add(self.county, self.township_name[tw])
        elif style == "no_prefix":
            head = self.township_name[tw]
        elif style == "old":
            county = self.old_county or self.county
            head = s.add(self.prefix.replace(self.county, county), self.township_old_name[tw])
        else:
            raise ValueError(style)
        body = s.add(self.address_road[idx], self.address_number[idx].astype("U4"))
        return s.add(s.add(head, body), s.add("号院", self.room_text(idx, room_style)))

    def room_text(self, idx: np.ndarray, style: str) -> np.ndarray:
        """Building, unit and room written one of the ways departments write them."""
        s = np.strings
        b = self.address_building[idx].astype("U3")
        u = self.address_unit[idx].astype("U2")
        r = self.address_room[idx].astype("U5")
        if style == "standard":
            return s.add(s.add(s.add(b, "号楼"), s.add(u, "单元")), r)
        if style == "dong":
            return s.add(s.add(s.add(b, "栋"), s.add(u, "单元")), s.add(r, "室"))
        if style == "dash":
            return s.add(s.add(s.add(b, "-"), s.add(u, "-")), r)
        if style == "hanzi":
            return s.add(s.add(s.add(_hanzi(b), "栋"), s.add(_hanzi(u), "单元")), _hanzi(r))
        raise ValueError(style)


_HANZI_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")


def _hanzi(a: np.ndarray) -> np.ndarray:
    return np.strings.translate(a, _HANZI_DIGITS)


def county_info(code: str) -> tuple[str, str, str, float, float, str | None]:
    """The names of a known county; ConfigError listing the known ones otherwise."""
    if code not in COUNTIES:
        known = ", ".join(f"{k} {v[2]}" for k, v in COUNTIES.items())
        raise ConfigError(
            f"county code {code!r} is not one the generator knows; use one of: {known}"
        )
    return COUNTIES[code]


def build_district(rng: np.random.Generator, county_code: str, persons: int) -> District:
    """Townships, communities and grids sized for ``persons`` residents."""
    province, city, county, lng, lat, old = county_info(county_code)
    n_com = max(4, -(-persons // PERSONS_PER_COMMUNITY))
    n_tw = min(999, max(2, -(-n_com // COMMUNITIES_PER_TOWNSHIP)))
    tw_codes, tw_names, tw_old = [], [], []
    for t in range(n_tw):
        stem = TOWNSHIP_STEMS[t % len(TOWNSHIP_STEMS)]
        if t >= len(TOWNSHIP_STEMS):
            stem += "东西南北"[(t // len(TOWNSHIP_STEMS) - 1) % 4]
        tw_codes.append(f"{county_code}{t + 1:03d}000")
        tw_names.append(stem + ("街道" if t % 3 else "地区"))
        tw_old.append(stem + ("乡" if t % 2 else "镇"))
    com_tw = np.sort(rng.integers(0, n_tw, n_com))
    com_tw[:n_tw] = np.arange(n_tw) if n_com >= n_tw else com_tw[:n_tw]
    com_tw = np.sort(com_tw)
    com_codes, com_names = [], []
    seq = np.zeros(n_tw, dtype=np.int64)
    for i, t in enumerate(com_tw):
        seq[t] += 1
        com_codes.append(f"{county_code}{t + 1:03d}{seq[t]:03d}")
        stem = COMMUNITY_STEMS[(i * 7 + t) % len(COMMUNITY_STEMS)]
        suffix = COMMUNITY_SUFFIXES[(i // len(COMMUNITY_STEMS) + t) % len(COMMUNITY_SUFFIXES)]
        com_names.append(f"{stem}{suffix}社区")
    lnglat = np.column_stack(
        [lng + rng.normal(0, 0.03, n_com), lat + rng.normal(0, 0.02, n_com)]
    ).round(6)
    g_com = np.repeat(np.arange(n_com), GRIDS_PER_COMMUNITY)
    g_no = np.tile(np.arange(1, GRIDS_PER_COMMUNITY + 1), n_com)
    com_arr = np.array(com_codes)
    grid_id = np.strings.add(com_arr[g_com], zfill(g_no.astype("U2"), 2))
    grid_name = np.strings.add(
        np.array(com_names)[g_com], np.strings.add(np.strings.add("第", g_no.astype("U2")), "网格")
    )
    worker = np.strings.add("GW", zfill(np.arange(1, len(g_com) + 1).astype("U7"), 7))
    others = [c for c in COUNTIES if c != county_code]
    same_prov = [c for c in others if c[:2] == county_code[:2]] or others
    out_codes = np.array([f"{c}{t:03d}{k:03d}" for c in same_prov for t in (1, 2) for k in (1, 2)])
    out_names = np.array([COUNTIES[c[:6]][2] for c in out_codes])
    return District(
        county_code=county_code,
        province=province,
        city=city,
        county=county,
        old_county=old,
        township_code=np.array(tw_codes),
        township_name=np.array(tw_names),
        township_old_name=np.array(tw_old),
        community_code=com_arr,
        community_name=np.array(com_names),
        community_township=com_tw,
        community_lnglat=lnglat,
        grid_id=grid_id,
        grid_community=g_com,
        grid_name=grid_name,
        grid_worker_id=worker,
        outside_codes=out_codes,
        outside_names=out_names,
    )


def add_addresses(rng: np.random.Generator, d: District, n: int) -> None:
    """Create ``n`` standard addresses spread over the communities (in place)."""
    n_com = len(d.community_code)
    com = np.sort(rng.integers(0, n_com, n))
    # rank of each address inside its community
    first = np.searchsorted(com, np.arange(n_com))
    k = np.arange(n) - first[com]
    room_no = k % ROOMS + 1
    floor = (k // ROOMS) % FLOORS + 1
    unit = (k // (ROOMS * FLOORS)) % UNITS + 1
    building = (k // (ROOMS * FLOORS * UNITS)) % BUILDINGS + 1
    compound = k // (ROOMS * FLOORS * UNITS * BUILDINGS)
    road_idx = (com * 3 + compound) % (len(ROAD_STEMS) * len(ROAD_SUFFIXES))
    roads = np.array([a + b for b in ROAD_SUFFIXES for a in ROAD_STEMS])
    d.address_id = np.strings.add(
        d.community_code[com], np.strings.add("A", zfill(k.astype("U6"), 6))
    )
    d.address_community = com
    d.address_grid = com * GRIDS_PER_COMMUNITY + (building - 1) % GRIDS_PER_COMMUNITY
    d.address_road = roads[road_idx]
    d.address_number = 1 + 2 * compound + (com % 50) * 2
    d.address_building = building
    d.address_unit = unit
    d.address_room = floor * 100 + room_no
    d.address_lnglat = (
        d.community_lnglat[com] + rng.normal(0, 0.002, (n, 2)) + compound[:, None] * 0.001
    ).round(6)
