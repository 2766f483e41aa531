"""The matching configuration (``config/matching.yaml``): blocking, model, grades, survivorship."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhongtai.errors import ConfigError
from zhongtai.paths import PROJECT_ROOT

DEFAULT_PATH = PROJECT_ROOT / "config" / "matching.yaml"
FIELDS = ("name", "id_number", "birth_date", "gender", "phone", "address")


@dataclass(frozen=True)
class FieldSpec:
    """Comparison levels of one field with their starting m and u probabilities."""

    levels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]


@dataclass(frozen=True)
class MatchingConfig:
    """Everything the person linker reads from configuration."""

    version: str
    name_consistent_max_edits: int
    blocking_rules: tuple[tuple[str, ...], ...]
    max_block_size: int
    prior: float
    em_enabled: bool
    em_min_pairs: int
    em_max_iterations: int
    em_tolerance: float
    em_floor: float
    em_learn: tuple[str, ...]
    em_learn_prior: bool
    u_from_random: tuple[str, ...]
    m_from_id_pairs: tuple[str, ...]
    fields: dict[str, FieldSpec]
    certain: float
    possible: float
    min_margin_bits: float
    require_name: bool
    source_trust: dict[str, int]
    survivorship: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ConfigError(f"{where}: missing key {key!r}; see config/matching.yaml for the layout")
    return d[key]


def parse_matching_config(raw: dict[str, Any], where: str = "matching config") -> MatchingConfig:
    """Validate a parsed matching configuration and return it typed.

    Raises:
        ConfigError: a key is missing, a probability is outside (0, 1) or the
            levels and probabilities of a field differ in length.
    """
    model = _need(raw, "model", where)
    fields: dict[str, FieldSpec] = {}
    for name in FIELDS:
        spec = _need(_need(model, "fields", where), name, f"{where}: model.fields")
        levels = tuple(str(x) for x in _need(spec, "levels", f"{where}: {name}"))
        m = tuple(float(x) for x in _need(spec, "m", f"{where}: {name}"))
        u = tuple(float(x) for x in _need(spec, "u", f"{where}: {name}"))
        if not (len(levels) == len(m) == len(u)) or len(levels) < 2:
            raise ConfigError(
                f"{where}: field {name}: levels, m and u must have the same length ≥ 2"
            )
        if not all(0 < p < 1 for p in m + u):
            raise ConfigError(f"{where}: field {name}: m and u must lie strictly between 0 and 1")
        fields[name] = FieldSpec(levels, m, u)
    em = model.get("em", {})
    th = _need(raw, "thresholds", where)
    certain, possible = float(th["certain"]), float(th["possible"])
    if not 0 < possible <= certain < 1:
        raise ConfigError(f"{where}: thresholds need 0 < possible <= certain < 1")
    prior = float(model.get("prior_match_probability", 0.3))
    if not 0 < prior < 1:
        raise ConfigError(f"{where}: model.prior_match_probability must lie in (0, 1)")
    block = _need(raw, "blocking", where)
    for key in ("u_from_random_pairs", "m_from_id_pairs"):
        unknown = sorted(set(model.get(key, ())) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{where}: model.{key} names unknown fields {unknown}; use {FIELDS}")
    surv = raw.get("survivorship", {})
    return MatchingConfig(
        version=str(raw.get("version", "unversioned")),
        name_consistent_max_edits=int(
            raw.get("fast_path", {}).get("name_consistent_max_pinyin_edits", 1)
        ),
        blocking_rules=tuple(tuple(str(f) for f in r) for r in _need(block, "rules", where)),
        max_block_size=int(block.get("max_block_size", 50)),
        prior=prior,
        em_enabled=bool(em.get("enabled", True)),
        em_min_pairs=int(em.get("min_pairs", 2000)),
        em_max_iterations=int(em.get("max_iterations", 50)),
        em_tolerance=float(em.get("tolerance", 1e-5)),
        em_floor=float(em.get("floor", 1e-4)),
        em_learn=tuple(em.get("learn", FIELDS)),
        em_learn_prior=bool(em.get("learn_prior", True)),
        u_from_random=tuple(model.get("u_from_random_pairs", FIELDS)),
        m_from_id_pairs=tuple(model.get("m_from_id_pairs", ())),
        fields=fields,
        certain=certain,
        possible=possible,
        min_margin_bits=float(th.get("min_margin_bits", 3.0)),
        require_name=bool(th.get("require_name_agreement", True)),
        source_trust={str(k): int(v) for k, v in surv.get("source_trust", {}).items()},
        survivorship={str(k): tuple(v) for k, v in surv.get("fields", {}).items()},
    )


def load_matching_config(path: str | Path | None = None) -> MatchingConfig:
    """Read and validate ``config/matching.yaml`` (or ``path``)."""
    import yaml

    p = Path(path) if path else DEFAULT_PATH
    if not p.exists():
        raise ConfigError(f"matching configuration {p} not found; restore config/matching.yaml")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p} is not valid YAML ({e.__class__.__name__}); fix the file") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p} must hold a mapping; see the shipped config/matching.yaml")
    return parse_matching_config(raw, str(p))
