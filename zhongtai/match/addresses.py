"""The address library (地理库): every address-bearing record linked to a master address.

Address-bearing records are the standard addresses of the ``addresses`` feed (each is its
own master, role ``standard``), population records (role ``residence``) and the registered
and business addresses of legal entities (roles ``registered`` / ``business``).

- A text that resolves exactly to one standard address (cleaning's ``address_id``, else the
  :class:`~zhongtai.clean.addresses.Gazetteer`) links ``certain`` to it, without scoring.
- The residue is grouped by its normalised parts (identical texts are one group), blocked
  on (area, core), (core, building) and (area, house number, building, unit, room), and
  compared with rapidfuzz: core similarity, building/unit/room equality, division
  agreement. Grades certain / possible link to a standard address; the rest become new
  master addresses (groups join only through a direct certain comparison, never a chain).
- A standard address's key derives from its public ``address_id`` and never changes; a new
  address keeps its key across days through ``master/address_pii`` and yesterday's
  crosswalk; merges and splits are logged with their reason.

This module holds the pure functions (parsing to parts, masking, blocking keys,
comparisons; testable without Spark), their Arrow-batched forms for ``mapInArrow``, and
the library entry points: :func:`build_address_master`, :func:`evaluate_address_master`,
:func:`explain_address_link`. The Spark side is ``spark_jobs/match_addresses.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhongtai.clean.addresses import LEVEL_PREFIX, Gazetteer
from zhongtai.clean.text import remove_spaces, to_halfwidth
from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.paths import PROJECT_ROOT
from zhongtai.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.match.evaluate import MatchQuality

log = logging.getLogger(__name__)

DEFAULT_PATH = PROJECT_ROOT / "config" / "matching_addresses.yaml"
ROLES = ("standard", "residence", "registered", "business")
# feed -> ((role, text column), ...)
ADDRESS_FEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "addresses": (("standard", "full_address"),),
    "population": (("residence", "address"),),
    "legal_entity": (("registered", "registered_address"), ("business", "business_address")),
}
GEO_FEEDS = ("divisions", "addresses", "grids")
BLOCKING_PARTS = ("area", "core", "house_number", "building", "unit", "room")
CORE_LEVELS = ("exact", "same_pinyin", "similar", "number_differs", "different", "missing")
BUR_LEVELS = ("equal", "both_missing", "partial", "different")
DIVISION_LEVELS = ("same_community", "same_township", "unknown", "different")
# statistical placeholders that are not part of a written address
_PLACEHOLDER_DIVISIONS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


# ---------------------------------------------------------------- configuration
@dataclass(frozen=True)
class AddressMatchingConfig:
    """Everything the address linker reads from ``config/matching_addresses.yaml``."""

    version: str
    blocking_rules: tuple[tuple[str, ...], ...]
    max_block_size: int
    core_similar_min: float
    weights: dict[str, float]
    core_scores: dict[str, float]
    bur_scores: dict[str, float]
    division_scores: dict[str, float]
    certain: float
    possible: float
    min_margin: float


def _need(d: Any, key: str, where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise ConfigError(
            f"{where}: missing key {key!r}; see config/matching_addresses.yaml for the layout"
        )
    return d[key]


def _unit_scores(d: Any, levels: Sequence[str], where: str) -> dict[str, float]:
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be a mapping of level to score")
    out = {}
    for k, v in d.items():
        if k not in levels:
            raise ConfigError(f"{where}: unknown level {k!r}; known: {', '.join(levels)}")
        if not 0 <= float(v) <= 1:
            raise ConfigError(f"{where}: the score of {k!r} must lie in [0, 1]")
        out[str(k)] = float(v)
    return out


def parse_address_matching_config(
    raw: dict[str, Any], where: str = "address matching config"
) -> AddressMatchingConfig:
    """Validate a parsed address matching configuration and return it typed.

    Raises:
        ConfigError: a key is missing, a blocking rule names an unknown part, a score or
            threshold is outside [0, 1], or the thresholds are out of order.
    """
    block = _need(raw, "blocking", where)
    rules = tuple(tuple(str(p) for p in r) for r in _need(block, "rules", f"{where}: blocking"))
    for r in rules:
        bad = [p for p in r if p not in BLOCKING_PARTS]
        if bad or not r:
            raise ConfigError(
                f"{where}: blocking rule {list(r)} names unknown parts {bad}; "
                f"use {', '.join(BLOCKING_PARTS)}"
            )
    cmp = _need(raw, "compare", where)
    weights = {k: float(v) for k, v in _need(cmp, "weights", f"{where}: compare").items()}
    if set(weights) != {"core", "building_unit_room", "division"} or sum(weights.values()) <= 0:
        raise ConfigError(
            f"{where}: compare.weights needs core, building_unit_room and division (sum > 0)"
        )
    total = sum(weights.values())
    th = _need(raw, "thresholds", where)
    certain, possible = float(_need(th, "certain", where)), float(_need(th, "possible", where))
    if not 0 < possible <= certain <= 1:
        raise ConfigError(f"{where}: thresholds need 0 < possible <= certain <= 1")
    return AddressMatchingConfig(
        version=str(raw.get("version", "unversioned")),
        blocking_rules=rules,
        max_block_size=int(block.get("max_block_size", 300)),
        core_similar_min=float(cmp.get("core_similar_min", 0.7)),
        weights={k: v / total for k, v in weights.items()},
        core_scores=_unit_scores(_need(cmp, "core", where), CORE_LEVELS, f"{where}: compare.core"),
        bur_scores=_unit_scores(
            _need(cmp, "building_unit_room", where),
            BUR_LEVELS,
            f"{where}: compare.building_unit_room",
        ),
        division_scores=_unit_scores(
            _need(cmp, "division", where), DIVISION_LEVELS, f"{where}: compare.division"
        ),
        certain=certain,
        possible=possible,
        min_margin=float(th.get("min_margin", 0.0)),
    )


def load_address_matching_config(path: str | Path | None = None) -> AddressMatchingConfig:
    """Read and validate ``config/matching_addresses.yaml`` (or ``path``)."""
    import yaml

    p = Path(path) if path else DEFAULT_PATH
    if not p.exists():
        raise ConfigError(
            f"address matching configuration {p} not found; restore config/matching_addresses.yaml"
        )
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p} is not valid YAML ({e.__class__.__name__}); fix the file") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{p} must hold a mapping; see the shipped config/matching_addresses.yaml"
        )
    return parse_address_matching_config(raw, str(p))


# ---------------------------------------------------------------- parts of an address
@dataclass(frozen=True)
class AddressParts:
    """What the linker reads from one address text.

    Attributes:
        address_norm: the normalised full text (restricted: it may hold a room number).
        address_id: the standard address it resolves to exactly, else None.
        via: how it resolved: ``standard`` (it is one), ``cleaning``, ``gazetteer``, or None.
        ambiguous: the text names several standard addresses equally well.
        core: road, house number and compound as written (after folding).
        core_norm: the core for comparison (``号院`` → ``号``, punctuation dropped).
        house_number: the digit runs of the core, ``-``-joined (None without digits).
        building, unit, room: digits without leading zeros, or None.
        community_code, township_code: the divisions named or resolved (12-digit codes).
        division_names: the names of the division chain for display (placeholders left out).
        grid_id: the grid of the standard address or of a one-grid community.
        ident: the identity of a text for new addresses (restricted: holds the parts).
    """

    address_norm: str | None
    address_id: str | None
    via: str | None
    ambiguous: bool
    core: str
    core_norm: str
    house_number: str | None
    building: str | None
    unit: str | None
    room: str | None
    community_code: str | None
    township_code: str | None
    division_names: str
    grid_id: str | None
    ident: str

    @property
    def area(self) -> str | None:
        """The township prefix the address lies in (9 digits), for blocking."""
        code = self.township_code or self.community_code
        return code[: LEVEL_PREFIX["township"]] if code else None


_CORE_DROP = re.compile(r"[\s\-—_·•,，。.、#＃:：;；\"'“”‘’]+")
_DIGITS = re.compile(r"\d+")


def normalise_core(core: str | None) -> str:
    """The core for comparison: half-width, no spaces or punctuation, ``号院``/``院`` → ``号``.

    ``安华路3号院`` and ``安华路 3 号`` both become ``安华路3号``.
    """
    if not core:
        return ""
    s = _CORE_DROP.sub("", remove_spaces(to_halfwidth(core))).lower()
    s = s.replace("号院", "号")
    if s.endswith("院") and len(s) > 1:
        s = s[:-1]
    return s


def house_number(core_norm: str) -> str | None:
    """The digit runs of a normalised core, ``-``-joined (``光华路3号`` → ``3``)."""
    runs = [r.lstrip("0") or "0" for r in _DIGITS.findall(core_norm)]
    return "-".join(runs) if runs else None


def _display_names(gazetteer: Gazetteer, code: str | None) -> str:
    if not code:
        return ""
    return "".join(d.name for d in gazetteer.chain(code) if d.name not in _PLACEHOLDER_DIVISIONS)


def _ident(area: str | None, core_norm: str, b: str | None, u: str | None, r: str | None) -> str:
    return "|".join(x or "" for x in (area, core_norm, b, u, r))


def _num(v: Any) -> str | None:
    if v is None:
        return None
    m = _DIGITS.search(to_halfwidth(str(v)))
    return (m.group(0).lstrip("0") or "0") if m else None


def parse_address(
    gazetteer: Gazetteer,
    text: str | None,
    known_address_id: str | None = None,
    standard: Mapping[str, Any] | None = None,
) -> AddressParts:
    """Read one address into its parts and resolve it (the cleaning step's rules).

    Args:
        gazetteer: divisions, standard addresses and grids of the business date.
        text: the address as delivered.
        known_address_id: the standard address cleaning resolved the text to, if any.
        standard: for a row of the ``addresses`` feed itself: its ``address_id``,
            ``community_code``, ``grid_id``, ``building``, ``unit``, ``room`` (these win
            over what the text says).
    """
    raw = text or ""
    parsed = gazetteer.parse(raw) if raw.strip() else None
    res = gazetteer.resolve(raw) if raw.strip() else None
    core = parsed.core if parsed else ""
    building = parsed.building if parsed else None
    unit = parsed.unit if parsed else None
    room = parsed.room if parsed else None
    divisions = parsed.divisions if parsed else []
    community = township = grid = None
    for d in divisions:
        if d.level == "community":
            community = d.code
        elif d.level == "township":
            township = d.code
    address_id, via = None, None
    if standard is not None:
        address_id, via = str(standard["address_id"]), "standard"
        building = _num(standard.get("building")) or building
        unit = _num(standard.get("unit")) or unit
        room = _num(standard.get("room")) or room
        community = standard.get("community_code") or community
        grid = standard.get("grid_id") or None
    elif known_address_id:
        address_id, via = known_address_id, "cleaning"
    elif res is not None and res.address_id:
        address_id, via = res.address_id, "gazetteer"
    if res is not None and res.community_code and standard is None:
        community = community or res.community_code
        grid = res.grid_id
    if community and not township:
        parent = gazetteer.divisions.get(community)
        township = parent.parent_code if parent and parent.parent_code else None
        township = township or community[: LEVEL_PREFIX["township"]] + "000"
    if community and grid is None:
        grid = gazetteer.community_grid.get(community)
    core_norm = normalise_core(core)
    deepest = community or township or (divisions[-1].code if divisions else None)
    names = _display_names(gazetteer, deepest)
    area = (township or community or "")[: LEVEL_PREFIX["township"]] or None
    return AddressParts(
        address_norm=res.address_norm if res is not None else None,
        address_id=address_id,
        via=via,
        ambiguous=bool(res is not None and any(f.endswith(":ambiguous") for f in res.flags)),
        core=core,
        core_norm=core_norm,
        house_number=house_number(core_norm),
        building=building,
        unit=unit,
        room=room,
        community_code=community,
        township_code=township,
        division_names=names,
        grid_id=grid,
        ident=_ident(area, core_norm, building, unit, room),
    )


# ---------------------------------------------------------------- masking
def _stars(v: str | None) -> str:
    return "*" * len(v) if v else "*"


def mask_core(core: str) -> str:
    """The core with every digit run after the first (the house number) starred.

    A core the parser could not split may still carry building or room digits
    (``光华路3号院2号楼1单元1001室X``); only the house number is public.
    """
    seen = [False]

    def sub(m: re.Match[str]) -> str:
        if not seen[0]:
            seen[0] = True
            return m.group(0)
        return "*" * len(m.group(0))

    return _DIGITS.sub(sub, core)


def mask_address(
    division_names: str | None,
    core: str | None,
    building: str | None,
    unit: str | None,
    room: str | None,
) -> str | None:
    """The published form of an address: divisions and core kept, building/unit/room starred.

    ``("北京市东城区", "某路1号", "3", "2", "501")`` → ``北京市东城区某路1号*栋*单元***``.
    """
    head = (division_names or "") + mask_core(core or "")
    tail = ""
    if building:
        tail += _stars(building) + "栋"
    if unit:
        tail += _stars(unit) + "单元"
    if room:
        tail += _stars(room)
    return (head + tail) or None


# ---------------------------------------------------------------- keys
def standard_address_key(address_id: str) -> str:
    """The key of a standard address: a plain hash of its public id, the same forever."""
    return "A" + hashlib.sha256(f"address|standard|{address_id}".encode()).hexdigest()[:16]


def new_address_key(record_ref: str) -> str:
    """The key of an address first seen today, from the reference of its first record."""
    return "A" + hashlib.sha256(f"address|new|{record_ref}".encode()).hexdigest()[:16]


def blocking_keys(parts: Mapping[str, Any], rules: Sequence[Sequence[str]]) -> list[str]:
    """One key per blocking rule whose parts are all known (``area+core=110105001|光华路3号``).

    ``parts`` maps the names of :data:`BLOCKING_PARTS` to values (None when unknown).
    """
    out = []
    for rule in rules:
        vals = [parts.get(p) for p in rule]
        if all(v not in (None, "") for v in vals):
            out.append("+".join(rule) + "=" + "|".join(str(v) for v in vals))
    return out


# ---------------------------------------------------------------- comparisons
@dataclass(frozen=True)
class PartComparison:
    """The level of one compared part and, for the core, its similarity."""

    level: str
    similarity: float | None = None


@cache
def _char_pinyin(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(ch, style=Style.NORMAL, errors="default")) or ch


def _pinyin(s: str) -> str:
    return " ".join(_char_pinyin(ch) for ch in s)


def compare_core(a: str | None, b: str | None, similar_min: float = 0.7) -> PartComparison:
    """Compare two normalised cores.

    Levels: ``exact``; ``same_pinyin`` (a homophone: 安化路 for 安华路); ``similar`` (the
    road/compound text at least ``similar_min`` alike by normalised Levenshtein, digits
    equal); ``number_differs`` (the house numbers differ: 3号 and 5号 are other places);
    ``different``; ``missing``.
    """
    from rapidfuzz.distance import Levenshtein

    if not a or not b:
        return PartComparison("missing")
    if a == b:
        return PartComparison("exact", 1.0)
    text_a, text_b = _DIGITS.sub("#", a), _DIGITS.sub("#", b)
    sim = Levenshtein.normalized_similarity(text_a, text_b)
    if house_number(a) != house_number(b):
        return PartComparison("number_differs", sim)
    if _pinyin(text_a) == _pinyin(text_b):
        return PartComparison("same_pinyin", max(sim, 0.95))
    if sim >= similar_min:
        return PartComparison("similar", sim)
    return PartComparison("different", sim)


def compare_building_unit_room(a: Sequence[str | None], b: Sequence[str | None]) -> PartComparison:
    """Compare (building, unit, room) triples.

    Levels: ``equal`` (every part given on both sides and equal), ``both_missing``
    (neither side names any), ``partial`` (the parts given on both sides agree, some are
    missing on one side), ``different`` (a part given on both sides differs: another flat).
    """
    both = [(x, y) for x, y in zip(a, b, strict=True) if x and y]
    if any(x != y for x, y in both):
        return PartComparison("different")
    if not any(a) and not any(b):
        return PartComparison("both_missing")
    if len(both) == len(a) == len(b):
        return PartComparison("equal")
    return PartComparison("partial")


def compare_division(
    a_community: str | None,
    a_township: str | None,
    b_community: str | None,
    b_township: str | None,
) -> PartComparison:
    """Compare the divisions two addresses name.

    Levels: ``same_community``, ``same_township`` (one names no community, or only
    townships are known), ``unknown`` (a side names neither), ``different``.
    """
    n = LEVEL_PREFIX["township"]
    ta = (a_township or a_community or "")[:n]
    tb = (b_township or b_community or "")[:n]
    if a_community and b_community:
        return PartComparison("same_community" if a_community == b_community else "different")
    if ta and tb:
        return PartComparison("same_township" if ta == tb else "different")
    return PartComparison("unknown")


@dataclass(frozen=True)
class PairScore:
    """The comparison of two addresses: part levels, score, and whether they may link."""

    core: PartComparison
    building_unit_room: PartComparison
    division: PartComparison
    score: float
    linkable: bool

    def evidence(self) -> dict[str, Any]:
        """The comparison as evidence (levels and similarities; never the texts)."""
        return {
            "core": {"level": self.core.level, "similarity": _round(self.core.similarity)},
            "building_unit_room": {"level": self.building_unit_room.level},
            "division": {"level": self.division.level},
            "score": round(self.score, 6),
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def score_pair(cfg: AddressMatchingConfig, a: Mapping[str, Any], b: Mapping[str, Any]) -> PairScore:
    """Compare two addresses given as parts (``core_norm``, ``building``, ``unit``, ``room``,
    ``community_code``, ``township_code``) and score them.

    The score is the weighted mean of the part scores of ``cfg``. A pair is never linkable
    when the house numbers, cores, building/unit/room or divisions disagree.
    """
    core = compare_core(a.get("core_norm"), b.get("core_norm"), cfg.core_similar_min)
    bur = compare_building_unit_room(
        (a.get("building"), a.get("unit"), a.get("room")),
        (b.get("building"), b.get("unit"), b.get("room")),
    )
    div = compare_division(
        a.get("community_code"),
        a.get("township_code"),
        b.get("community_code"),
        b.get("township_code"),
    )
    linkable = (
        core.level in ("exact", "same_pinyin", "similar")
        and bur.level != "different"
        and div.level != "different"
    )
    if core.level == "similar":
        core_score = core.similarity or 0.0
    else:
        core_score = cfg.core_scores.get(core.level, 0.0)
    w = cfg.weights
    score = (
        w["core"] * core_score
        + w["building_unit_room"] * cfg.bur_scores.get(bur.level, 0.0)
        + w["division"] * cfg.division_scores.get(div.level, 0.0)
    )
    return PairScore(core, bur, div, score if linkable else 0.0, linkable)


def grade_of(cfg: AddressMatchingConfig, score: float, margin: float | None) -> str | None:
    """``certain``, ``possible`` or None for the best candidate's score and its margin over
    the runner-up (None when there is no runner-up)."""
    if score >= cfg.certain and (margin is None or margin >= cfg.min_margin):
        return "certain"
    if score >= cfg.possible:
        return "possible"
    return None


# ---------------------------------------------------------------- Arrow batches
PARSE_INPUT = (
    "rec_ref",
    "address_text",
    "known_address_id",
    "std_address_id",
    "std_building",
    "std_unit",
    "std_room",
    "std_community",
    "std_grid",
)
PARSE_OUTPUT = (
    ("rec_ref", "string"),
    ("address_norm", "string"),
    ("resolved_id", "string"),
    ("via", "string"),
    ("ambiguous", "bool"),
    ("core", "string"),
    ("core_norm", "string"),
    ("house_number", "string"),
    ("building", "string"),
    ("unit", "string"),
    ("room", "string"),
    ("community_code", "string"),
    ("township_code", "string"),
    ("division_names", "string"),
    ("grid_id", "string"),
    ("address_masked", "string"),
    ("ident", "string"),
    ("bkeys", "list<string>"),
)
_GAZETTEERS: dict[Any, Gazetteer] = {}


def gazetteer_from_payload(payload: Mapping[str, Any]) -> Gazetteer:
    """Build the Gazetteer of a broadcast payload (divisions, addresses, grids, as_of)."""
    return Gazetteer.from_rows(
        payload["divisions"], payload["addresses"], payload["grids"], as_of=payload["as_of"]
    )


def parse_rows(
    gazetteer: Gazetteer, rows: Sequence[Mapping[str, Any]], rules: Sequence[Sequence[str]]
) -> list[dict[str, Any]]:
    """Parse input rows (:data:`PARSE_INPUT`) into output rows (:data:`PARSE_OUTPUT`)."""
    out = []
    for r in rows:
        std = None
        if r.get("std_address_id"):
            std = {
                "address_id": r["std_address_id"],
                "building": r.get("std_building"),
                "unit": r.get("std_unit"),
                "room": r.get("std_room"),
                "community_code": r.get("std_community"),
                "grid_id": r.get("std_grid"),
            }
        p = parse_address(gazetteer, r.get("address_text"), r.get("known_address_id"), std)
        keys = blocking_keys(
            {
                "area": p.area,
                "core": p.core_norm,
                "house_number": p.house_number,
                "building": p.building,
                "unit": p.unit,
                "room": p.room,
            },
            rules,
        )
        out.append(
            {
                "rec_ref": r["rec_ref"],
                "address_norm": p.address_norm,
                "resolved_id": p.address_id,
                "via": p.via,
                "ambiguous": p.ambiguous,
                "core": p.core,
                "core_norm": p.core_norm,
                "house_number": p.house_number,
                "building": p.building,
                "unit": p.unit,
                "room": p.room,
                "community_code": p.community_code,
                "township_code": p.township_code,
                "division_names": p.division_names,
                "grid_id": p.grid_id,
                "address_masked": mask_address(
                    p.division_names, p.core, p.building, p.unit, p.room
                ),
                "ident": p.ident,
                "bkeys": keys,
            }
        )
    return out


def _arrow_schema(fields: Sequence[tuple[str, str]]) -> pa.Schema:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "bool": pa.bool_(),
        "double": pa.float64(),
        "list<string>": pa.list_(pa.string()),
    }
    return pa.schema([(n, types[t]) for n, t in fields])


def parse_arrow_batches(
    payload_of: Callable[[], Mapping[str, Any]], cache_key: Any, rules: Sequence[Sequence[str]]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` function parsing address texts.

    ``payload_of`` returns the broadcast gazetteer rows; the Gazetteer is built once per
    Python worker process and broadcast (``cache_key``), not once per batch.
    """
    rules = tuple(tuple(r) for r in rules)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        g = _GAZETTEERS.get(cache_key)
        if g is None:
            _GAZETTEERS.clear()
            g = _GAZETTEERS[cache_key] = gazetteer_from_payload(payload_of())
        schema = _arrow_schema(PARSE_OUTPUT)
        for batch in batches:
            rows = parse_rows(g, batch.to_pylist(), rules)
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    return run


PART_COLUMNS = ("core_norm", "building", "unit", "room", "community_code", "township_code")
COMPARE_OUTPUT = (
    ("l_ref", "string"),
    ("r_ref", "string"),
    ("score", "double"),
    ("linkable", "bool"),
    ("core_level", "string"),
    ("core_sim", "double"),
    ("bur_level", "string"),
    ("division_level", "string"),
)


def compare_rows(
    cfg: AddressMatchingConfig, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Score candidate pairs given as ``l_<part>`` / ``r_<part>`` rows."""
    out = []
    for r in rows:
        s = score_pair(
            cfg,
            {c: r.get(f"l_{c}") for c in PART_COLUMNS},
            {c: r.get(f"r_{c}") for c in PART_COLUMNS},
        )
        out.append(
            {
                "l_ref": r["l_ref"],
                "r_ref": r["r_ref"],
                "score": s.score,
                "linkable": s.linkable,
                "core_level": s.core.level,
                "core_sim": s.core.similarity,
                "bur_level": s.building_unit_room.level,
                "division_level": s.division.level,
            }
        )
    return out


def compare_arrow_batches(
    cfg: AddressMatchingConfig,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` function scoring candidate pairs with :func:`score_pair`."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        schema = _arrow_schema(COMPARE_OUTPUT)
        for batch in batches:
            yield pa.RecordBatch.from_pylist(compare_rows(cfg, batch.to_pylist()), schema=schema)

    return run


# ---------------------------------------------------------------- the library
@dataclass(frozen=True)
class AddressMatchReport:
    """Counts of one address linking run (never values)."""

    business_date: dt.date
    records: int
    masters: int
    certain: int
    possible: int
    new: int
    merges: int = 0
    splits: int = 0
    without_address: int = 0
    config_version: str = ""


MASTER_DATASETS = ("addresses", "address_crosswalk", "address_pii", "address_key_log")


def gazetteer_payload(lake: Any, business_date: dt.date) -> dict[str, Any]:
    """The rows the Gazetteer of ``business_date`` is built from (cleaning's choice of zone)."""
    from zhongtai.clean.job import geo_rows  # the same rows cleaning resolves against

    cols = {
        "divisions": ("division_code", "name", "level", "parent_code", "valid_from", "valid_to"),
        "addresses": (
            "address_id",
            "full_address",
            "community_code",
            "building",
            "unit",
            "room",
            "grid_id",
        ),
        "grids": ("grid_id", "community_code"),
    }
    keys = {"divisions": ("division_code", "name"), "addresses": ("address_id",)}
    out: dict[str, Any] = {"as_of": business_date}
    for ds, wanted in cols.items():
        rows = geo_rows(lake, ds, business_date, keys.get(ds, ("grid_id",)))
        out[ds] = [{c: r.get(c) for c in wanted} for r in rows]
    return out


def _zone_of(lake: Any, dataset: str) -> str:
    return "clean" if lake.dates("clean", dataset) else "raw"


def _published(lake: Any, dataset: str, business_date: dt.date, column: str) -> pa.Table:
    t = lake.read_table("master", dataset, business_date, columns=[column])
    if t is None:
        raise ZhongtaiError(f"master/{dataset} of {business_date} was not published; re-run")
    return t


def build_address_master(
    settings: Settings, business_date: dt.date, run_id: str
) -> AddressMatchReport:
    """Link every address-bearing record up to ``business_date`` and publish the library.

    Publishes ``master/addresses`` (golden records, masked), ``master/address_crosswalk``
    (every address-bearing record and role once), the restricted ``master/address_pii``
    and ``master/address_key_log`` for the date; keys of earlier days are reused.

    Raises:
        ZhongtaiError: the geographic feeds have no partition up to ``business_date``.
    """
    from zhongtai.lake import Lake
    from zhongtai.spark import get_spark
    from zhongtai.spark.jobs import load_job

    cfg = load_address_matching_config()
    lake = Lake(settings)
    day = business_date.isoformat()
    if not any(d <= day for d in lake.dates(_zone_of(lake, "addresses"), "addresses")):
        raise ZhongtaiError(
            f"no addresses partition up to {day}: ingest and clean the geographic feeds "
            "(divisions, addresses, grids) before linking addresses"
        )
    payload = gazetteer_payload(lake, business_date)
    paths = {}
    for feed in ADDRESS_FEEDS:
        zone = _zone_of(lake, feed) if feed == "addresses" else "clean"
        paths[feed] = lake.stage_in(zone, feed, [d for d in lake.dates(zone, feed) if d <= day])
    prev = {}
    for ds in ("address_pii", "address_crosswalk"):
        dates = [d for d in lake.dates("master", ds) if d < day]
        prev[ds] = lake.stage_in("master", ds, dates[-1:]) if dates else []
    job = load_job("match_addresses")
    spark = get_spark(settings)
    out = job.main(
        spark, paths, payload, prev["address_pii"], prev["address_crosswalk"], business_date, cfg
    )
    for name, df in (
        ("addresses", out.addresses),
        ("address_crosswalk", out.crosswalk),
        ("address_pii", out.address_pii),
        ("address_key_log", out.key_log),
    ):
        local = lake.new_staging_dir(f"master-{name}-{day}-{run_id}")
        df.coalesce(1).write.mode("overwrite").parquet(str(local))
        lake.publish_dir("master", name, business_date, local, run_id)
    xw = _published(lake, "address_crosswalk", business_date, "grade")
    grades: dict[str, int] = {}
    for g in xw.column("grade").to_pylist():
        grades[g] = grades.get(g, 0) + 1
    masters = _published(lake, "addresses", business_date, "address_key")
    ev = _published(lake, "address_key_log", business_date, "event").column("event").to_pylist()
    report = AddressMatchReport(
        business_date=business_date,
        records=xw.num_rows,
        masters=masters.num_rows,
        certain=grades.get("certain", 0),
        possible=grades.get("possible", 0),
        new=grades.get("new", 0),
        merges=ev.count("merge"),
        splits=ev.count("split"),
        without_address=out.without_address,
        config_version=cfg.version,
    )
    log.info(
        "address master %s: %d records, %d masters (certain=%d possible=%d new=%d, "
        "merges=%d splits=%d, records without address text=%d)",
        day,
        report.records,
        report.masters,
        report.certain,
        report.possible,
        report.new,
        report.merges,
        report.splits,
        report.without_address,
    )
    return report


def load_address_truth(truth_dir: str | Path, upto: dt.date) -> dict[str, str]:
    """``feed:source_system:source_record_id:role`` → true standard address, up to a date.

    Standard addresses and population records carry ``true_address_id``; a legal entity's
    registered and business addresses come from the truth of its entity.
    """
    import pyarrow.parquet as pq

    root = Path(truth_dir)
    if not (root / "records").exists():
        raise ZhongtaiError(
            f"no generator truth under {root / 'records'}; run `zt generate` with ZT_TRUTH set"
        )
    entity_addr: dict[str, tuple[str, str]] = {}
    if (root / "entities.parquet").exists():
        t = pq.read_table(
            root / "entities.parquet",
            columns=["entity_id", "registered_address_id", "business_address_id"],
        )
        for e, reg, biz in zip(*[c.to_pylist() for c in t.columns], strict=True):
            entity_addr[e] = (reg, biz)
    out: dict[str, str] = {}
    for feed, roles in ADDRESS_FEEDS.items():
        for f in sorted((root / "records" / feed).glob("*.parquet")):
            if f.stem > upto.isoformat():
                continue
            t = pq.read_table(
                f,
                columns=[
                    "feed",
                    "source_system",
                    "source_record_id",
                    "true_address_id",
                    "true_entity_id",
                ],
            )
            for fe, ss, sr, addr, ent in zip(*[c.to_pylist() for c in t.columns], strict=True):
                ref = f"{fe}:{ss}:{sr}"
                if feed == "legal_entity":
                    if ent in entity_addr:
                        out[f"{ref}:registered"], out[f"{ref}:business"] = entity_addr[ent]
                elif addr is not None:
                    out[f"{ref}:{roles[0][0]}"] = addr
    return out


def evaluate_address_master(settings: Settings, business_date: dt.date) -> MatchQuality:
    """Quality of the published address crosswalk of ``business_date`` against the truth.

    Raises:
        ZhongtaiError: no crosswalk for the date, or no generator truth.
    """
    from zhongtai.lake import Lake
    from zhongtai.match.evaluate import evaluate_links

    cols = ["feed", "source_system", "source_record_id", "address_role", "address_key"]
    xw = Lake(settings).read_table("master", "address_crosswalk", business_date, columns=cols)
    if xw is None:
        raise ZhongtaiError(
            f"no master/address_crosswalk for {business_date}; run address linking first"
        )
    truth = load_address_truth(settings.truth_dir, business_date)
    values = [xw.column(c).to_pylist() for c in cols]
    links = ((f"{f}:{s}:{r}:{role}", k, "") for f, s, r, role, k in zip(*values, strict=True))
    return evaluate_links(links, truth)


ADDRESS_DISPLAY = (
    "address_key",
    "address_id",
    "community_code",
    "grid_id",
    "address_masked",
    "source_systems",
    "records",
    "field_sources",
)


def explain_address_link(
    settings: Settings,
    source_record_ref: str,
    role: str,
    business_date: dt.date | None = None,
) -> dict[str, Any]:
    """Why is this record's address linked to that master address?

    Args:
        settings: the deployment settings.
        source_record_ref: ``feed:source_system:source_record_id`` (e.g.
            ``population:hukou:HU000000001``; for a standard address
            ``addresses:address_registry:<address_id>``).
        role: ``standard``, ``residence``, ``registered`` or ``business``.
        business_date: the crosswalk to read (default: the newest published).

    Returns:
        The crosswalk row (key, grade, score), the parsed evidence and the masked master.

    Raises:
        ZhongtaiError: a malformed reference or role, no crosswalk, or the record is not in it.
    """
    import pyarrow.compute as pc

    from zhongtai.lake import Lake

    if role not in ROLES:
        raise ZhongtaiError(f"unknown address role {role!r}; use one of {', '.join(ROLES)}")
    parts = source_record_ref.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise ZhongtaiError(
            f"record reference {source_record_ref!r} must be feed:source_system:source_record_id"
        )
    feed, source_system, record_id = parts
    lake = Lake(settings)
    dates = lake.dates("master", "address_crosswalk")
    if not dates:
        raise ZhongtaiError("no master/address_crosswalk in the lake; run address linking first")
    day = business_date.isoformat() if business_date else dates[-1]
    xw = lake.read_table("master", "address_crosswalk", day)
    if xw is None:
        raise ZhongtaiError(f"no address crosswalk for {day}; published dates: {', '.join(dates)}")
    mask = pc.and_(
        pc.and_(pc.equal(xw["feed"], feed), pc.equal(xw["source_system"], source_system)),
        pc.and_(pc.equal(xw["source_record_id"], record_id), pc.equal(xw["address_role"], role)),
    )
    rows = xw.filter(mask).to_pylist()
    if not rows:
        raise ZhongtaiError(
            f"{source_record_ref} ({role}) is not in the address crosswalk of {day}; check the "
            "feed, source system, record id and role"
        )
    row = rows[0]
    try:
        evidence = json.loads(row["evidence"] or "{}")
    except ValueError:
        evidence = {}
    master: dict[str, Any] = {}
    golden = lake.read_table("master", "addresses", day)
    if golden is not None:
        hit = golden.filter(pc.equal(golden["address_key"], row["address_key"])).to_pylist()
        if hit:
            master = {k: hit[0].get(k) for k in ADDRESS_DISPLAY if k in hit[0]}
    return {
        "business_date": day,
        "record": source_record_ref,
        "role": role,
        "address_key": row["address_key"],
        "grade": row["grade"],
        "score": row["score"],
        "rule": evidence.get("rule", "unknown") if isinstance(evidence, dict) else "unknown",
        "evidence": evidence,
        "master": master,
    }
