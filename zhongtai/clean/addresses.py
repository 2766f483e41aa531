"""Free-text addresses against the geographic feeds (divisions, addresses, grids).

An address is read left to right: administrative divisions (province, city,
county, township, community; any may be missing, old names after a re-zoning
are accepted as aliases), then the *core* (road, house number, compound), then
building / unit / room in any of the usual notations::

    3栋2单元501 · 3-2-501 · 三栋二单元五零一 · 3号楼2单元501室  →  (3, 2, 501)

The standard addresses of the ``addresses`` feed are read the same way; an
address resolves when its (core, building, unit, room) key names exactly one
standard address (after narrowing by the divisions it mentions).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zhongtai.clean.repairs import Repair
from zhongtai.clean.text import collapse_spaces, has_fullwidth, remove_spaces, to_halfwidth

LEVELS = ("province", "city", "county", "township", "community")
# Significant code digits per level (statistical division codes are 12 digits).
LEVEL_PREFIX = {"province": 2, "city": 4, "county": 6, "township": 9, "community": 12}
_SUFFIXES = {
    "province": ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"),
    "city": ("自治州", "地区", "盟", "市"),
    "county": ("自治县", "新区", "区", "县", "市", "旗"),
}
# A township or community keeps its name core when its kind changes (建外乡 → 建外地区,
# 朝外镇 → 朝外街道) and people keep writing the old kind: each kind is an alias.
_KIND_VARIANTS = {
    "township": ("街道办事处", "地区办事处", "街道", "地区", "镇", "乡", "办事处"),
    "community": ("社区居委会", "社区居民委员会", "居委会", "村委会", "社区", "村"),
}
# A short form (东城 for 东城区) must not be the start of a road or place name.
_NOT_AFTER_SHORT = tuple("路街道巷胡同里号村桥大弄")
_CN_NUM = "零〇一二两三四五六七八九十百"
_CN_RUN = re.compile(rf"[{_CN_NUM}]+(?=(?:号楼|号院|号|栋|幢|座|单元|室|层|楼|-|$))")
_MARK = r"(?:号楼|栋|幢|座)"
_REMARK = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]")  # 北京市...501(出租) → remark dropped
_BUR = [
    re.compile(rf"(\d+){_MARK}(\d+)单元(\d+)(?:室|号)?$"),
    re.compile(r"(\d+)号(\d+)单元(\d+)(?:室|号)?$"),
    re.compile(r"(\d+)-(\d+)-(\d+)(?:室|号)?$"),
    re.compile(rf"(\d+){_MARK}(\d+)(?:室|号)$"),
    re.compile(rf"(\d+){_MARK}(\d+)$"),
]


@dataclass(frozen=True)
class Division:
    """One current division."""

    code: str
    name: str
    level: str
    parent_code: str | None


@dataclass
class AddressResult:
    """What the rule made of one address."""

    address_norm: str | None
    address_id: str | None = None
    community_code: str | None = None
    grid_id: str | None = None
    repairs: list[Repair] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass
class ParsedAddress:
    divisions: list[Division]
    core: str
    building: str | None
    unit: str | None
    room: str | None
    used_alias: bool


def _cn_to_digits(s: str) -> str:
    from zhongtai.clean.text import cn_number

    def sub(m: re.Match[str]) -> str:
        return cn_number(m.group(0)) or m.group(0)

    return _CN_RUN.sub(sub, s)


def _num(v: Any) -> str | None:
    """Digits of a building/unit/room value without leading zeros ("03栋" → "3")."""
    if v is None:
        return None
    s = _cn_to_digits(to_halfwidth(str(v)).strip())
    m = re.search(r"\d+", s)
    if not m:
        return s or None
    return m.group(0).lstrip("0") or "0"


def _short_forms(name: str, level: str) -> list[str]:
    out = []
    for suf in _SUFFIXES.get(level, ()):
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            out.append(name[: -len(suf)])
            break
    return out


def _kind_variants(name: str, level: str) -> list[str]:
    kinds = _KIND_VARIANTS.get(level, ())
    for suf in kinds:
        core = name[: -len(suf)]
        if name.endswith(suf) and len(core) >= 2:
            return [core + other for other in kinds if other != suf]
    return []


class Gazetteer:
    """Divisions (with old names as aliases) and standard addresses of one business date.

    Build it once per batch job with :meth:`from_rows`; it is plain Python data so it
    can be broadcast to Spark workers.
    """

    def __init__(self) -> None:
        self.divisions: dict[str, Division] = {}
        self.names: dict[str, list[tuple[str, bool]]] = {}  # text -> [(code, is_alias)]
        self.max_name = 1
        self.standard: dict[
            tuple[str, str | None, str | None, str | None], list[tuple[str, str | None, str | None]]
        ] = {}
        self.community_grid: dict[str, str] = {}

    # -- building --------------------------------------------------------------
    @classmethod
    def from_rows(
        cls,
        divisions: Iterable[Mapping[str, Any]],
        addresses: Iterable[Mapping[str, Any]] = (),
        grids: Iterable[Mapping[str, Any]] = (),
        as_of: dt.date | None = None,
    ) -> Gazetteer:
        """Build from rows of the divisions, addresses and grids feeds.

        Args:
            divisions: rows with division_code, name, level, parent_code, valid_from, valid_to.
            addresses: rows with address_id, full_address, community_code, building, unit,
                room, grid_id.
            grids: rows with grid_id, community_code.
            as_of: the business date; divisions whose valid_to is on or before it are old
                names, accepted as aliases of their successor.
        """
        g = cls()
        old: list[Mapping[str, Any]] = []
        for r in divisions:
            code, name, level = r.get("division_code"), r.get("name"), r.get("level")
            if not code or not name or level not in LEVEL_PREFIX:
                continue
            vf, vt = r.get("valid_from"), r.get("valid_to")
            if as_of is not None and vf is not None and vf > as_of:
                continue
            if vt is not None and (as_of is None or vt <= as_of):
                old.append(r)
                continue
            g.divisions[code] = Division(code, name, level, r.get("parent_code") or None)
        for d in g.divisions.values():
            g._add_name(d.name, d.code, False)
            for short in _short_forms(d.name, d.level):
                g._add_name(short, d.code, False)
        for d in list(g.divisions.values()):
            for variant in _kind_variants(d.name, d.level):
                g._add_name(variant, d.code, True)
        for r in old:
            successor = g._successor(r["division_code"], r["level"])
            if successor is None:
                continue
            g._add_name(r["name"], successor, True)
            for short in _short_forms(r["name"], r["level"]):
                g._add_name(short, successor, True)
        gids: dict[str, set[str]] = {}
        for r in grids:
            if r.get("community_code") and r.get("grid_id"):
                gids.setdefault(r["community_code"], set()).add(r["grid_id"])
        g.community_grid = {c: next(iter(s)) for c, s in gids.items() if len(s) == 1}
        for r in addresses:
            if not r.get("address_id") or not r.get("full_address"):
                continue
            p = g.parse(str(r["full_address"]))
            b = _num(r.get("building")) or p.building
            u = _num(r.get("unit")) or p.unit
            room = _num(r.get("room")) or p.room
            key = (p.core, b, u, room)
            g.standard.setdefault(key, []).append(
                (str(r["address_id"]), r.get("community_code") or None, r.get("grid_id") or None)
            )
        return g

    def _add_name(self, text: str, code: str, alias: bool) -> None:
        lst = self.names.setdefault(text, [])
        if (code, alias) not in lst and (code, False) not in lst:
            lst.append((code, alias))
        self.max_name = max(self.max_name, len(text))

    def _successor(self, code: str, level: str) -> str | None:
        """The current division that took over an old one: same code, else the nearest sibling."""
        if code in self.divisions:
            return code
        n = LEVEL_PREFIX[level]
        best, best_len = None, -1
        for c, d in self.divisions.items():
            if d.level != level:
                continue
            common = 0
            while common < n and c[common] == code[common]:
                common += 1
            if common > best_len:
                best, best_len = c, common
        # Only within the same parent (a re-zoning merges neighbours).
        parent_len = {"province": 0, "city": 2, "county": 4, "township": 6, "community": 9}[level]
        return best if best is not None and best_len >= parent_len and parent_len > 0 else None

    # -- reading ---------------------------------------------------------------
    def chain(self, code: str) -> list[Division]:
        """The division and its ancestors, top first."""
        out: list[Division] = []
        seen: set[str] = set()
        cur: str | None = code
        while cur and cur in self.divisions and cur not in seen:
            seen.add(cur)
            out.append(self.divisions[cur])
            cur = self.divisions[cur].parent_code
        return out[::-1]

    def _is_under(self, code: str, ancestor: str) -> bool:
        return any(d.code == ancestor for d in self.chain(code))

    def parse(self, text: str) -> ParsedAddress:
        s = _REMARK.sub("", _cn_to_digits(remove_spaces(to_halfwidth(text))))
        pos, last_level, alias_used = 0, -1, False
        found: list[Division] = []
        while pos < len(s):
            hit = None
            for ln in range(min(self.max_name, len(s) - pos), 1, -1):
                cand = self.names.get(s[pos : pos + ln])
                if not cand:
                    continue
                nxt = s[pos + ln : pos + ln + 1]
                for code, alias in cand:
                    d = self.divisions[code]
                    lvl = LEVELS.index(d.level)
                    if lvl <= last_level:
                        continue
                    if found and not self._is_under(code, found[-1].code):
                        continue
                    if s[pos : pos + ln] != d.name and not alias and nxt in _NOT_AFTER_SHORT:
                        continue
                    hit = (d, ln, alias)
                    break
                if hit:
                    break
            if not hit:
                break
            d, ln, alias = hit
            found.append(d)
            alias_used = alias_used or alias
            last_level = LEVELS.index(d.level)
            pos += ln
        rest = s[pos:]
        b = u = r = None
        for pat in _BUR:
            m = pat.search(rest)
            if m:
                groups = [x.lstrip("0") or "0" for x in m.groups()]
                if len(groups) == 3:
                    b, u, r = groups
                else:
                    b, r = groups
                rest = rest[: m.start()]
                break
        core = rest.rstrip("-")
        return ParsedAddress(found, core, b, u, r, alias_used)

    def resolve(self, raw: str | None, field_name: str = "address") -> AddressResult:
        """Normalise one address and resolve it to a standard address when possible."""
        if raw is None or not raw.strip():
            return AddressResult(None, flags=[f"{field_name}:missing"])
        repairs: list[Repair] = []
        flags: list[str] = []
        if has_fullwidth(raw):
            repairs.append(
                Repair(field_name, "fullwidth_to_ascii", "fullwidth_chars", "ascii_chars")
            )
        if remove_spaces(raw) != collapse_spaces(raw).replace(" ", "") or " " in raw.strip():
            repairs.append(Repair(field_name, "remove_spaces", "spaced", "compact"))
        if _REMARK.search(to_halfwidth(raw)):
            repairs.append(
                Repair(field_name, "drop_bracket_remark", "with_remark", "without_remark")
            )
        if re.search(rf"[{_CN_NUM}]", raw) and _cn_to_digits(raw) != raw:
            repairs.append(Repair(field_name, "chinese_numerals", "chinese_numerals", "digits"))
        p = self.parse(raw)
        if p.used_alias:
            repairs.append(
                Repair(
                    field_name, "rename_old_division", "old_division_name", "current_division_name"
                )
            )
        hits = self.standard.get((p.core, p.building, p.unit, p.room), [])
        if len(hits) > 1 and p.divisions:
            d = p.divisions[-1]
            prefix = d.code[: LEVEL_PREFIX[d.level]]
            hits = [h for h in hits if h[1] and h[1].startswith(prefix)]
        address_id = community = grid = None
        if len(hits) == 1:
            address_id, community, grid = hits[0]
            grid = grid or (self.community_grid.get(community) if community else None)
        elif len(hits) > 1:
            flags.append(f"{field_name}:ambiguous")
        else:
            flags.append(f"{field_name}:unresolved")
        deepest = community or (p.divisions[-1].code if p.divisions else None)
        if community is None and p.divisions and p.divisions[-1].level == "community":
            community = p.divisions[-1].code
        prefix = "".join(d.name for d in self.chain(deepest)) if deepest else ""
        if not prefix:
            prefix = "".join(d.name for d in p.divisions)
        tail = ""
        if p.building:
            tail += f"{p.building}栋"
        if p.unit:
            tail += f"{p.unit}单元"
        if p.room:
            tail += f"{p.room}室"
        if p.building is None and p.room is None:
            flags.append(f"{field_name}:no_building_room")
        norm = prefix + p.core + tail
        return AddressResult(norm or None, address_id, community, grid, repairs, flags)
