"""The legal-entity library (法人库): link every clean legal_entity record to an entity.

A valid unified social credit code (GB 32100) is the fast path: the records that carry the
same valid code are one entity, unless their name clearly disagrees with the name that code
holds (another entity's code typed in, a branch filed under its parent's code). The rest
(no code, a damaged check character, a 15-digit old registration number, a typo, a
conflict) is blocked on the code's valid neighbours, on the entity *name core* (the name
without region prefix, brackets and organisational suffix) and on the core with the
registered community or the contact phone, compared with rapidfuzz and scored by
Fellegi–Sunter weights (``config/matching_entities.yaml``). A branch (分公司) is never its
parent: the kind of a name is kept apart from its core and compared as a guard.

This module holds the pure-Python rules (testable without Spark: name normalisation,
comparators, the Arrow batch bodies of the Spark job), the configuration, and the library
entry points: :func:`build_entity_master`, :func:`evaluate_entity_master` and
:func:`explain_entity_link`. The Spark side is ``spark_jobs/match_entities.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from zhongtai.clean.text import remove_spaces, to_halfwidth
from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.ids import uscc as gb32100
from zhongtai.match.compare import Comparison, compare_birth_date
from zhongtai.paths import PROJECT_ROOT
from zhongtai.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.clean.addresses import Gazetteer
    from zhongtai.match.evaluate import MatchQuality
    from zhongtai.match.weights import FSModel

log = logging.getLogger(__name__)

DEFAULT_PATH = PROJECT_ROOT / "config" / "matching_entities.yaml"
FIELDS = (
    "name",
    "uscc",
    "legal_representative",
    "phone",
    "address",
    "established_date",
    "industry",
)
FEED = "legal_entity"
MODEL_DATASET = "entity_match_model"
MULTI_SEP = "|"

# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class EntityFieldSpec:
    """Comparison levels of one field with their m and u probabilities."""

    levels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]


@dataclass(frozen=True)
class EntityMatchingConfig:
    """Everything the entity linker reads from ``config/matching_entities.yaml``."""

    version: str
    name_consistent_min_ratio: float
    blocking_rules: tuple[str, ...]
    max_block_size: int
    prior: float
    u_from_random: tuple[str, ...]
    fields: dict[str, EntityFieldSpec]
    certain: float
    possible: float
    min_margin_bits: float
    source_trust: dict[str, int]


BLOCKING_RULES = ("uscc_near", "name_core", "name_prefix_community", "phone_name_prefix")


def _need(d: Any, key: str, where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise ConfigError(
            f"{where}: missing key {key!r}; see config/matching_entities.yaml for the layout"
        )
    return d[key]


def parse_entity_matching_config(
    raw: dict[str, Any], where: str = "entity matching config"
) -> EntityMatchingConfig:
    """Validate the ``entities:`` section of a parsed configuration and return it typed.

    Raises:
        ConfigError: a key is missing, a probability is outside (0, 1), the levels and
            probabilities of a field differ in length, or a blocking rule is unknown.
    """
    e = _need(raw, "entities", where)
    where = f"{where}: entities"
    model = _need(e, "model", where)
    fields: dict[str, EntityFieldSpec] = {}
    for name in FIELDS:
        spec = _need(_need(model, "fields", where), name, f"{where}.model.fields")
        levels = tuple(str(x) for x in _need(spec, "levels", f"{where}: {name}"))
        m = tuple(float(x) for x in _need(spec, "m", f"{where}: {name}"))
        u = tuple(float(x) for x in _need(spec, "u", f"{where}: {name}"))
        if not (len(levels) == len(m) == len(u)) or len(levels) < 2:
            raise ConfigError(
                f"{where}: field {name}: levels, m and u must have the same length ≥ 2"
            )
        if not all(0 < p < 1 for p in m + u):
            raise ConfigError(f"{where}: field {name}: m and u must lie strictly between 0 and 1")
        fields[name] = EntityFieldSpec(levels, m, u)
    th = _need(e, "thresholds", where)
    certain, possible = float(_need(th, "certain", where)), float(_need(th, "possible", where))
    if not 0 < possible <= certain < 1:
        raise ConfigError(f"{where}: thresholds need 0 < possible <= certain < 1")
    prior = float(model.get("prior_match_probability", 0.05))
    if not 0 < prior < 1:
        raise ConfigError(f"{where}: model.prior_match_probability must lie in (0, 1)")
    block = _need(e, "blocking", where)
    rules = tuple(str(r) for r in _need(block, "rules", where))
    unknown = [r for r in rules if r not in BLOCKING_RULES]
    if unknown:
        raise ConfigError(
            f"{where}: unknown blocking rule(s) {', '.join(unknown)}; "
            f"known: {', '.join(BLOCKING_RULES)}"
        )
    surv = e.get("survivorship", {}) or {}
    return EntityMatchingConfig(
        version=str(e.get("version", "unversioned")),
        name_consistent_min_ratio=float(
            (e.get("fast_path") or {}).get("name_consistent_min_ratio", 80)
        ),
        blocking_rules=rules,
        max_block_size=int(block.get("max_block_size", 50)),
        prior=prior,
        u_from_random=tuple(model.get("u_from_random_pairs", FIELDS)),
        fields=fields,
        certain=certain,
        possible=possible,
        min_margin_bits=float(th.get("min_margin_bits", 3.0)),
        source_trust={str(k): int(v) for k, v in (surv.get("source_trust") or {}).items()},
    )


def load_entity_matching_config(path: str | Path | None = None) -> EntityMatchingConfig:
    """Read and validate ``config/matching_entities.yaml`` (or ``path``)."""
    import yaml

    p = Path(path) if path else DEFAULT_PATH
    if not p.exists():
        raise ConfigError(
            f"entity matching configuration {p} not found; restore config/matching_entities.yaml"
        )
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p} is not valid YAML ({e.__class__.__name__}); fix the file") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p} must hold a mapping; see the shipped config/matching_entities.yaml")
    return parse_entity_matching_config(raw, str(p))


def model_from_config(cfg: EntityMatchingConfig) -> FSModel:
    """The Fellegi–Sunter model of the configuration (u may be re-estimated by the job)."""
    from zhongtai.match.weights import FSModel

    return FSModel(
        fields=FIELDS,
        m={f: list(cfg.fields[f].m) for f in FIELDS},
        u={f: list(cfg.fields[f].u) for f in FIELDS},
        prior=cfg.prior,
        version=f"{cfg.version}/config",
    )


# ---------------------------------------------------------------- entity names

# Province-level divisions, full and short; the district's own divisions are added at run time.
PROVINCES = (
    "北京市",
    "天津市",
    "上海市",
    "重庆市",
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "海南省",
    "四川省",
    "贵州省",
    "云南省",
    "陕西省",
    "甘肃省",
    "青海省",
    "台湾省",
    "内蒙古自治区",
    "广西壮族自治区",
    "西藏自治区",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "香港特别行政区",
    "澳门特别行政区",
)
_PROVINCE_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)
_DIVISION_SUFFIXES = ("自治州", "自治县", "地区", "新区", "市", "区", "县", "旗", "盟")


def region_names(names: Iterable[str]) -> frozenset[str]:
    """Region prefixes to strip from entity names: each name and its short form (东城区 → 东城)."""
    out: set[str] = set()
    for n in names:
        if not n:
            continue
        out.add(n)
        for suf in _PROVINCE_SUFFIXES + _DIVISION_SUFFIXES:
            if n.endswith(suf) and len(n) - len(suf) >= 2:
                out.add(n[: -len(suf)])
                break
    out.add("中国")
    return frozenset(out)


DEFAULT_REGIONS = region_names(PROVINCES)

# organisational suffixes, longest first: (suffix, kind)
ORG_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("股份有限公司", "joint_stock"),
    ("有限责任公司", "limited"),
    ("个人独资企业", "sole_proprietorship"),
    ("民办非企业单位", "private_non_enterprise"),
    ("有限公司", "limited"),
    ("股份公司", "joint_stock"),
    ("合伙企业", "partnership"),
    ("服务中心", "centre"),
    ("专业合作社", "cooperative"),
    ("合作社", "cooperative"),
    ("研究会", "association"),
    ("促进会", "association"),
    ("联合会", "association"),
    ("基金会", "foundation"),
    ("工作室", "studio"),
    ("经营部", "shop"),
    ("门市部", "shop"),
    ("公司", "company"),
    ("股份", "joint_stock"),
    ("协会", "association"),
    ("商会", "association"),
    ("学会", "association"),
    ("中心", "centre"),
    ("商店", "shop"),
    ("店", "shop"),
    ("厂", "factory"),
)
# a branch: these end the name, after the parent's name and the branch's own label
BRANCH_MARKERS = ("分公司", "分支机构", "分店", "分厂", "分行", "支行", "分社", "营业部", "办事处")
# kinds that a bare 公司 (or an abbreviation) may stand for
_COMPANY_KINDS = frozenset({"company", "limited", "joint_stock"})
_BRACKETS = re.compile(r"[(\[【〔（][^)\]】〕）]*[)\]】〕）]")
_PUNCT = re.compile(r"[\s·•.,，、:：;；\"'“”‘’《》<>-]+")


@dataclass(frozen=True)
class EntityName:
    """An entity name taken apart.

    Attributes:
        core: the distinctive part (trade name and industry), without region prefix,
            brackets and organisational suffix; None for an empty name.
        kind: the organisational kind of the suffix (``limited``, ``shop``...), ``""``
            when the name has none (an abbreviation).
        branch: for a branch, its marker and own label (``分公司:朝阳``), else ``""``.
    """

    core: str | None
    kind: str
    branch: str


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _simplified(s: str) -> str:
    try:
        return str(_t2s().convert(s))
    except ImportError:  # pragma: no cover - opencc is a locked dependency
        return s


def _strip_regions(s: str, regions: frozenset[str]) -> str:
    longest = max((len(r) for r in regions), default=0)
    changed = True
    while changed:
        changed = False
        for ln in range(min(longest, len(s) - 2), 1, -1):
            if s[:ln] in regions:
                s = s[ln:]
                changed = True
                break
    return s


def _split_suffix(s: str) -> tuple[str, str]:
    for suf, kind in ORG_SUFFIXES:
        if s.endswith(suf) and len(s) - len(suf) >= 2:
            return s[: -len(suf)], kind
    return s, ""


def normalise_entity_name(
    name: str | None, regions: frozenset[str] = DEFAULT_REGIONS
) -> EntityName:
    """Take an entity name apart into core, kind and branch.

    Full-width forms, spaces and punctuation are folded, traditional characters
    simplified, bracketed parts (``(北京)``, ``(有限合伙)``) dropped and region prefixes
    (北京市, 东城区, 北京) stripped. ``北京华联恒科技有限公司朝阳分公司`` is the branch
    ``分公司:朝阳`` of core ``华联恒科技`` and kind ``limited``.

    Args:
        name: the name as delivered (or as the clean zone normalised it).
        regions: region names to strip from the front (see :func:`region_names`).
    """
    if not name or not name.strip():
        return EntityName(None, "", "")
    s = _simplified(remove_spaces(to_halfwidth(name)))
    s = _PUNCT.sub("", _BRACKETS.sub("", s))
    branch = ""
    for marker in BRANCH_MARKERS:
        if s.endswith(marker) and len(s) > len(marker):
            head = s[: -len(marker)]
            cut = -1
            for suf, _ in ORG_SUFFIXES[:8] + (("公司", ""),):
                i = head.rfind(suf)
                if i > 0 and i + len(suf) > cut:
                    cut = i + len(suf)
            label = head[cut:] if cut > 0 else ""
            s = head[:cut] if cut > 0 else head
            branch = f"{marker}:{_strip_regions(label, regions) if len(label) > 2 else label}"
            break
    core, kind = _split_suffix(s)
    core = _strip_regions(core, regions)
    return EntityName(core or None, kind, branch)


def kinds_compatible(kind_a: str, kind_b: str, branch_a: str, branch_b: str) -> bool:
    """False when two names cannot be the same entity by their kind.

    A branch is never its parent nor another branch; a shop (店) is not a company; an
    unknown kind (an abbreviated name) and a bare 公司 are compatible with the companies.
    """
    if branch_a != branch_b:
        return False
    if not kind_a or not kind_b or kind_a == kind_b:
        return True
    return kind_a in _COMPANY_KINDS and kind_b in _COMPANY_KINDS and "company" in (kind_a, kind_b)


# similarity cut-offs of the name core (rapidfuzz ratios, 0-100)
NAME_SIMILAR_RATIO = 80.0
NAME_CONTAINED_MIN_CHARS = 2


def compare_entity_name(core_a: str | None, core_b: str | None) -> Comparison | None:
    """Levels: exact core, similar (ratio ≥ 80: a typo, a homophone character), contained
    (one core inside the other, or the same characters reordered), different."""
    if not core_a or not core_b:
        return None
    if core_a == core_b:
        return Comparison(0, 1.0)
    ratio = fuzz.ratio(core_a, core_b)
    sim = ratio / 100.0
    if ratio >= NAME_SIMILAR_RATIO:
        return Comparison(1, sim)
    short = min(len(core_a), len(core_b))
    if short >= NAME_CONTAINED_MIN_CHARS and (
        fuzz.partial_ratio(core_a, core_b) == 100
        or fuzz.token_set_ratio(" ".join(core_a), " ".join(core_b)) == 100
    ):
        return Comparison(2, max(sim, 0.75))
    return Comparison(3, sim)


def names_consistent(
    core_a: str | None,
    branch_a: str,
    core_b: str | None,
    branch_b: str,
    min_ratio: float = NAME_SIMILAR_RATIO,
) -> bool:
    """Fast-path guard: does a record's name agree with the name its valid code holds?

    The kind is not checked (a company that became a 股份有限公司 keeps its code); a
    branch filed under its parent's code is a conflict, and so is a core that is neither
    equal, contained nor similar (ratio ≥ ``min_ratio``).
    """
    if branch_a != branch_b:
        return False
    if not core_a or not core_b or core_a == core_b:
        return True
    if fuzz.ratio(core_a, core_b) >= min_ratio:
        return True
    c = compare_entity_name(core_a, core_b)
    return c is not None and c.level <= 2


# ---------------------------------------------------------------- credit codes

_SEPARATORS = re.compile(r"[\s\-‐‑–—_]+")


def uscc_compact(raw: str | None) -> str | None:
    """A delivered credit code folded for comparison (ASCII, upper case, no separators),
    whatever its validity; None when empty."""
    if raw is None:
        return None
    s = _SEPARATORS.sub("", to_halfwidth(str(raw))).upper()
    return s or None


def uscc_neighbours(code: str | None) -> list[str]:
    """Valid credit codes one character or one adjacent transposition away from ``code``.

    The GB 32100 check catches every single wrong character but cannot say which one:
    the candidates are the codes that pass both checks (GB 32100 and the embedded GB
    11714 organisation code) after one substitution or one swap.

    Returns:
        The distinct valid neighbours, sorted (at most a few dozen); none for anything
        that is not 18 characters of the code's character set.
    """
    if not code or len(code) != 18 or any(c not in gb32100.CHARSET for c in code):
        return []
    out: set[str] = set()
    body = code[:17]
    out.add(body + gb32100.check_char(body))
    for i in range(17):
        for ch in gb32100.CHARSET:
            if ch == body[i]:
                continue
            cand = body[:i] + ch + body[i + 1 :]
            if gb32100.check_char(cand) == code[17]:
                out.add(cand + code[17])
    for i in range(17):
        chars = list(code)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
        cand = "".join(chars)
        if gb32100.is_valid(cand):
            out.add(cand)
    out.discard(code)
    return sorted(c for c in out if gb32100.is_valid_org_code(c))


def compare_uscc(a: str | None, b: str | None) -> Comparison | None:
    """Levels: exact, one edit (one character or one adjacent swap), different. Codes that
    are not 18 characters (a 15-digit old registration number) are not comparable."""
    if not a or not b or len(a) != 18 or len(b) != 18:
        return None
    if a == b:
        return Comparison(0, 1.0)
    d = OSA.distance(a, b)
    sim = 1.0 - d / 18.0
    return Comparison(1, sim) if d == 1 else Comparison(2, sim)


# ---------------------------------------------------------------- other comparators


def _items(v: Any) -> list[str]:
    if v is None:
        return []
    return [x for x in str(v).split(MULTI_SEP) if x]


def compare_representative(
    name_a: str | None, pinyin_a: str | None, name_b: str | None, pinyin_b: str | None
) -> Comparison | None:
    """Legal representative (restricted normalised names): exact, same pinyin, different."""
    na, nb = set(_items(name_a)), set(_items(name_b))
    if not na or not nb:
        return None
    if na & nb:
        return Comparison(0, 1.0)
    pa_, pb_ = set(_items(pinyin_a)), set(_items(pinyin_b))
    if pa_ & pb_:
        return Comparison(1, 0.9)
    best = max(fuzz.ratio(x, y) for x in na for y in nb) / 100.0
    return Comparison(2, best)


def compare_entity_phone(a: str | None, b: str | None) -> Comparison | None:
    """Contact phone: exact (any value in common), different."""
    xs, ys = set(_items(a)), set(_items(b))
    if not xs or not ys:
        return None
    return Comparison(0, 1.0) if xs & ys else Comparison(1, 0.0)


ADDRESS_SIMILAR_RATIO = 92.0


def compare_entity_address(
    ids_a: str | None,
    comm_a: str | None,
    text_a: str | None,
    ids_b: str | None,
    comm_b: str | None,
    text_b: str | None,
) -> Comparison | None:
    """Registered/business addresses: same standard address, similar normalised text
    (ratio ≥ 92), same community, different."""
    ia, ib = set(_items(ids_a)), set(_items(ids_b))
    if ia & ib:
        return Comparison(0, 1.0)
    ta, tb = _items(text_a), _items(text_b)
    best = max((fuzz.ratio(x, y) for x in ta for y in tb), default=0.0) / 100.0
    if best * 100 >= ADDRESS_SIMILAR_RATIO:
        return Comparison(1, best)
    ca, cb = set(_items(comm_a)), set(_items(comm_b))
    if ca & cb:
        return Comparison(2, best)
    if (ia and ib) or (ta and tb) or (ca and cb):
        return Comparison(3, best)
    return None


def compare_industry(a: str | None, b: str | None) -> Comparison | None:
    """Industry code (GB/T 4754): same, different."""
    if not a or not b:
        return None
    return Comparison(0, 1.0) if a == b else Comparison(1, 0.0)


# (field, comparator, columns) — both sides of a pair carry the same columns
COMPARATORS: list[tuple[str, Callable[..., Comparison | None], tuple[str, ...]]] = [
    ("name", compare_entity_name, ("name_core",)),
    ("uscc", compare_uscc, ("uscc_code",)),
    ("legal_representative", compare_representative, ("rep_norm", "rep_pinyin")),
    ("phone", compare_entity_phone, ("phone_norm",)),
    ("address", compare_entity_address, ("address_ids", "communities", "address_texts")),
    ("established_date", compare_birth_date, ("established_date",)),
    ("industry", compare_industry, ("industry_code",)),
]
CMP_COLUMNS = (
    "name_core",
    "name_kind",
    "name_branch",
    "uscc_code",
    "rep_norm",
    "rep_pinyin",
    "phone_norm",
    "address_ids",
    "communities",
    "address_texts",
    "established_date",
    "industry_code",
)


def compare_entity_columns(cols: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Compare candidate pairs held column-wise (``l_<col>`` and ``r_<col>`` lists).

    Returns, per field, ``<field>_level`` (-1 when not comparable) and ``<field>_sim``
    lists, and ``kind_ok`` (the kinds and branches are compatible).
    """
    n = len(next(iter(cols.values()))) if cols else 0
    out: dict[str, list[Any]] = {}
    for name, fn, cs in COMPARATORS:
        lv = [cols[f"l_{c}"] for c in cs]
        rv = [cols[f"r_{c}"] for c in cs]
        levels: list[int] = []
        sims: list[float | None] = []
        for i in range(n):
            c = fn(*[v[i] for v in lv], *[v[i] for v in rv])
            levels.append(-1 if c is None else c.level)
            sims.append(None if c is None else round(c.similarity, 4))
        out[f"{name}_level"] = levels
        out[f"{name}_sim"] = sims
    out["kind_ok"] = [
        kinds_compatible(
            cols["l_name_kind"][i] or "",
            cols["r_name_kind"][i] or "",
            cols["l_name_branch"][i] or "",
            cols["r_name_branch"][i] or "",
        )
        for i in range(n)
    ]
    return out


def compare_entity_arrow_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: ``l_ref, r_ref, l_<col>..., r_<col>...`` in; ``l_ref, r_ref``,
    ``<field>_level``, ``<field>_sim`` and ``kind_ok`` out."""
    import pyarrow as pa

    for batch in batches:
        cols = {name: batch.column(name).to_pylist() for name in batch.schema.names}
        out = compare_entity_columns(cols)
        arrays = [batch.column("l_ref"), batch.column("r_ref")]
        names = ["l_ref", "r_ref"]
        for f in FIELDS:
            arrays += [
                pa.array(out[f"{f}_level"], pa.int32()),
                pa.array(out[f"{f}_sim"], pa.float64()),
            ]
            names += [f"{f}_level", f"{f}_sim"]
        arrays.append(pa.array(out["kind_ok"], pa.bool_()))
        names.append("kind_ok")
        yield pa.RecordBatch.from_arrays(arrays, names=names)


# ---------------------------------------------------------------- record preparation

PREPARED_FIELDS = (
    ("name_core", "string"),
    ("name_kind", "string"),
    ("name_branch", "string"),
    ("uscc_code", "string"),
    ("uscc_near", "string"),
    ("rep_pinyin", "string"),
    ("reg_address_id", "string"),
    ("reg_community", "string"),
    ("reg_address_text", "string"),
    ("biz_address_id", "string"),
    ("biz_community", "string"),
    ("biz_address_text", "string"),
)


def prepare_row(
    row: dict[str, Any], gazetteer: Gazetteer | None, regions: frozenset[str]
) -> dict[str, Any]:
    """The derived matching fields of one clean legal_entity record (see PREPARED_FIELDS)."""
    from zhongtai.clean.names import name_pinyin

    nm = normalise_entity_name(row.get("entity_name_norm") or row.get("entity_name"), regions)
    code = uscc_compact(row.get("uscc"))
    valid = bool(row.get("uscc_valid"))
    rep = row.get("legal_representative_norm")
    out: dict[str, Any] = {
        "name_core": nm.core,
        "name_kind": nm.kind,
        "name_branch": nm.branch,
        "uscc_code": row.get("uscc_norm") if valid else code,
        "uscc_near": None if valid else MULTI_SEP.join(uscc_neighbours(code)) or None,
        "rep_pinyin": name_pinyin(rep) if rep else None,
    }
    for side, col in (("reg", "registered_address"), ("biz", "business_address")):
        text = row.get(col)
        aid = comm = norm = None
        if text and gazetteer is not None:
            res = gazetteer.resolve(text, col)
            aid, comm, norm = res.address_id, res.community_code, res.address_norm
        elif text:
            norm = remove_spaces(to_halfwidth(text))
        out[f"{side}_address_id"], out[f"{side}_community"] = aid, comm
        out[f"{side}_address_text"] = norm
    return out


PREPARE_INPUT = (
    "entity_name",
    "entity_name_norm",
    "uscc",
    "uscc_norm",
    "uscc_valid",
    "legal_representative_norm",
    "registered_address",
    "business_address",
)


def prepare_arrow_batches(
    gazetteer: Gazetteer | None, regions: frozenset[str]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` body appending :data:`PREPARED_FIELDS` to batches of clean records."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for b in batches:
            rows = b.select([c for c in PREPARE_INPUT if c in b.schema.names]).to_pylist()
            derived = [prepare_row(r, gazetteer, regions) for r in rows]
            yield pa.RecordBatch.from_arrays(
                [
                    *b.columns,
                    *[pa.array([d[f] for d in derived], pa.string()) for f, _ in PREPARED_FIELDS],
                ],
                names=[*b.schema.names, *[f for f, _ in PREPARED_FIELDS]],
            )

    return run


def consistency_arrow_batches(
    min_ratio: float,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` body: ``rec_ref, name_core, name_branch, owner_core, owner_branch``
    in; ``rec_ref, consistent`` out (see :func:`names_consistent`)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for b in batches:
            c = {n: b.column(n).to_pylist() for n in b.schema.names}
            ok = [
                names_consistent(a, ba or "", o, bo or "", min_ratio)
                for a, ba, o, bo in zip(
                    c["name_core"],
                    c["name_branch"],
                    c["owner_core"],
                    c["owner_branch"],
                    strict=True,
                )
            ]
            yield pa.RecordBatch.from_arrays(
                [b.column("rec_ref"), pa.array(ok, pa.bool_())], names=["rec_ref", "consistent"]
            )

    return run


# ---------------------------------------------------------------- library entry points


@dataclass(frozen=True)
class EntityMatchReport:
    """Counts of one entity linking run."""

    business_date: dt.date
    records: int
    masters: int
    certain: int
    possible: int
    new: int
    merges: int = 0
    splits: int = 0
    model_version: str = ""


def _regions_of(gazetteer: Gazetteer | None) -> frozenset[str]:
    names = list(PROVINCES)
    if gazetteer is not None:
        names += [
            d.name
            for d in gazetteer.divisions.values()
            if d.level in ("province", "city", "county")
        ]
    return region_names(names)


def build_entity_master(
    settings: Settings, business_date: dt.date, run_id: str
) -> EntityMatchReport:
    """Link all clean legal_entity records up to ``business_date`` and publish the master.

    Publishes ``master/entities``, ``master/entity_crosswalk``, the restricted
    ``master/entity_pii``, ``master/entity_key_log`` and the model used
    (``master/entity_match_model``, JSON); keys of earlier days are reused. Registered and
    business address keys come from ``master/address_crosswalk`` of the same date when it
    is published (null otherwise).
    """
    from zhongtai.clean.job import load_gazetteer
    from zhongtai.lake import Lake
    from zhongtai.spark import get_spark
    from zhongtai.spark.jobs import load_job

    cfg = load_entity_matching_config()
    lake = Lake(settings)
    day = business_date.isoformat()
    files = lake.stage_in("clean", FEED, [d for d in lake.dates("clean", FEED) if d <= day])
    if not files:
        log.warning("no clean legal_entity records up to %s; entity master not published", day)
        return EntityMatchReport(business_date, 0, 0, 0, 0, 0)
    loaded = load_gazetteer(lake, business_date)
    gazetteer = loaded if loaded.divisions else None
    prev: dict[str, list[str]] = {}
    for name in ("entity_pii", "entity_crosswalk"):
        dates = [d for d in lake.dates("master", name) if d < day]
        prev[name] = lake.stage_in("master", name, dates[-1:]) if dates else []
    addr_xw = lake.stage_in("master", "address_crosswalk", [day])
    job = load_job("match_entities")
    spark = get_spark(settings)
    out = job.main(
        spark,
        files,
        business_date,
        cfg,
        gazetteer=gazetteer,
        regions=_regions_of(gazetteer),
        previous_pii_files=prev["entity_pii"],
        previous_xw_files=prev["entity_crosswalk"],
        address_xw_files=addr_xw,
    )
    for name, df in (
        ("entities", out.entities),
        ("entity_crosswalk", out.crosswalk),
        ("entity_pii", out.entity_pii),
        ("entity_key_log", out.key_log),
    ):
        local = lake.new_staging_dir(f"master-{name}-{day}")
        df.coalesce(1).write.mode("overwrite").parquet(str(local))
        lake.publish_dir("master", name, business_date, local, run_id)
    lake.write_bytes(
        f"master/{MODEL_DATASET}/date={day}/run={run_id}/model.json",
        out.model.to_json().replace("person_match_model", "entity_match_model").encode("utf-8"),
    )
    xw = lake.read_table("master", "entity_crosswalk", business_date, columns=["grade"])
    grades = Counter(xw.column("grade").to_pylist()) if xw is not None else Counter()
    masters = lake.read_table("master", "entities", business_date, columns=["entity_key"])
    kl = lake.read_table("master", "entity_key_log", business_date, columns=["event"])
    events = Counter(kl.column("event").to_pylist()) if kl is not None else Counter()
    return EntityMatchReport(
        business_date=business_date,
        records=sum(grades.values()),
        masters=masters.num_rows if masters is not None else 0,
        certain=grades.get("certain", 0),
        possible=grades.get("possible", 0),
        new=grades.get("new", 0),
        merges=events.get("merge", 0),
        splits=events.get("split", 0),
        model_version=out.model.version,
    )


def load_entity_truth(truth_dir: str | Path, upto: dt.date) -> dict[str, str]:
    """Record reference (``legal_entity:source_system:source_record_id``) → true entity."""
    from zhongtai.match.evaluate import load_truth

    return load_truth(truth_dir, upto, (FEED,), "true_entity_id")


def evaluate_entity_master(settings: Settings, business_date: dt.date) -> MatchQuality:
    """Quality of the published entity crosswalk of ``business_date`` against the truth."""
    from zhongtai.match.evaluate import evaluate_crosswalk

    truth = load_entity_truth(settings.truth_dir, business_date)
    return evaluate_crosswalk(settings, business_date, "entity_crosswalk", "entity_key", truth)


ENTITY_DISPLAY = (
    "uscc",
    "entity_name",
    "entity_type",
    "status",
    "legal_representative_masked",
    "contact_phone_masked",
    "registered_address_key",
    "business_address_key",
    "source_systems",
    "records",
    "field_sources",
)


def _parse_ref(ref: str) -> tuple[str, str, str]:
    parts = ref.split(":", 2)
    if len(parts) == 3 and parts[0] == FEED:
        return FEED, parts[1], parts[2]
    first = ref.split(":", 1)
    if len(first) == 2 and first[0] and first[1]:
        return FEED, first[0], first[1]
    raise ZhongtaiError(
        f"record reference {ref!r} is not source_system:source_record_id "
        "(e.g. market_regulation:MAR00000042, optionally prefixed with legal_entity:)"
    )


def explain_entity_link(
    settings: Settings, source_record_ref: str, business_date: dt.date | None = None
) -> dict[str, Any]:
    """Why is this legal_entity record linked to that entity?

    Args:
        settings: the deployment settings.
        source_record_ref: ``source_system:source_record_id`` (``legal_entity:`` may lead).
        business_date: the crosswalk date (default: the newest published).

    Returns:
        A dict: the record, ``entity_key``, ``grade``, ``score``, ``rule``, ``fields``
        (each compared field with level, similarity and weight), ``prior_bits``,
        ``total_bits``, ``margin_bits``, ``model_version`` and ``entity`` (the golden
        record's public and masked fields). Raw personal data is never in it.

    Raises:
        ZhongtaiError: a malformed reference, no crosswalk, or a record not in it.
    """
    import pyarrow.compute as pc

    from zhongtai.lake import Lake
    from zhongtai.match.explain import parse_evidence

    feed, system, rec_id = _parse_ref(source_record_ref)
    lake = Lake(settings)
    dates = lake.dates("master", "entity_crosswalk")
    if not dates:
        raise ZhongtaiError("no master/entity_crosswalk in the lake; run entity matching first")
    day = business_date.isoformat() if business_date else dates[-1]
    xw = lake.read_table("master", "entity_crosswalk", day)
    if xw is None:
        raise ZhongtaiError(f"no entity crosswalk for {day}; published dates: {', '.join(dates)}")
    mask = pc.and_(pc.equal(xw["source_system"], system), pc.equal(xw["source_record_id"], rec_id))
    rows = xw.filter(mask).to_pylist()
    if not rows:
        raise ZhongtaiError(
            f"record {feed}/{system}/{rec_id} is not in the entity crosswalk of {day}; check "
            "the source system (market_regulation, tax, civil_affairs, grid) and the record id"
        )
    row = rows[0]
    ev = parse_evidence(row.get("evidence"))
    fields = [
        {
            "field": k,
            "level": v.get("level"),
            "similarity": v.get("similarity"),
            "weight": v.get("weight"),
        }
        for k, v in (ev.get("fields") or {}).items()
        if isinstance(v, dict)
    ]
    entity: dict[str, Any] = {}
    ents = lake.read_table("master", "entities", day)
    if ents is not None:
        hit = ents.filter(pc.equal(ents["entity_key"], row["entity_key"])).to_pylist()
        if hit:
            entity = {k: hit[0].get(k) for k in ENTITY_DISPLAY if k in hit[0]}
    return {
        "feed": feed,
        "source_system": system,
        "source_record_id": rec_id,
        "business_date": day,
        "entity_key": row["entity_key"],
        "grade": row["grade"],
        "score": row["score"],
        "rule": ev.get("rule", "unknown"),
        "fields": fields,
        "prior_bits": ev.get("prior_bits"),
        "total_bits": ev.get("total_bits"),
        "margin_bits": ev.get("margin_bits"),
        "candidate": ev.get("candidate"),
        "model_version": ev.get("model_version"),
        "entity": entity,
    }
