"""Versioned health-code rules: read ``code_rules/*.yaml`` into rows for ``lake.code_rules``.

The rules are configuration, not code: the dbt models read every parameter (the
24 h gap, the results that count for Y1, ...) from ``lake.code_rules``. One file
is one rule set; each rule has an id, a version, an action and parameters. The
table is long: one row per parameter value, so SQL can test membership with a
plain ``in (select value ...)`` on both DuckDB and Postgres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from zhongtai.errors import ConfigError
from zhongtai.paths import PROJECT_ROOT

CODE_RULES_DIR = PROJECT_ROOT / "code_rules"

#: rule ids the marts implement, with the parameters each one must define
REQUIRED_RULES: dict[str, tuple[str, ...]] = {
    "R1": ("results", "max_pool_size"),
    "R1_CLEAR": ("results", "required_negatives", "min_gap_hours"),
    "Y1": ("residence_statuses", "counting_results"),
    "Y2": ("results",),
    "Y3": ("results", "min_pool_size"),
    "Y_CLEAR_TEST": ("results",),
    "Y_CLEAR_APPEAL": ("decisions",),
}

CODE_RULES_SCHEMA = pa.schema(
    [
        ("rule_set", pa.string()),
        ("rule_set_version", pa.string()),
        ("rule_id", pa.string()),
        ("rule_version", pa.string()),
        ("action", pa.string()),
        ("code", pa.string()),
        ("description", pa.string()),
        ("param", pa.string()),
        ("value", pa.string()),
        ("value_index", pa.int64()),
        ("source_file", pa.string()),
    ]
)


def _fail(path: Path, what: str) -> ConfigError:
    return ConfigError(f"code rules {path.name}: {what}; fix the file under code_rules/")


def read_rule_file(path: Path) -> list[dict[str, Any]]:
    """Validate one rule-set file and flatten it to ``lake.code_rules`` rows.

    Args:
        path: a YAML file with ``rule_set``, ``version`` and ``rules``.

    Returns:
        One dict per (rule, parameter value); a rule without parameters gives one row
        with ``param`` null.

    Raises:
        ConfigError: when the file is not valid YAML or misses a rule or parameter.
    """
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise _fail(path, f"cannot be read as YAML ({type(e).__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise _fail(path, "needs a mapping with rule_set, version and a list of rules")
    rule_set = str(doc.get("rule_set") or path.stem)
    set_version = str(doc.get("version") or "")
    if not set_version:
        raise _fail(path, "needs a version")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, rule in enumerate(doc["rules"]):
        if not isinstance(rule, dict) or not rule.get("id"):
            raise _fail(path, f"rule #{i + 1} needs an id")
        rid = str(rule["id"])
        if rid in seen:
            raise _fail(path, f"rule {rid} appears twice")
        seen.add(rid)
        if rule.get("version") in (None, ""):
            raise _fail(path, f"rule {rid} needs a version")
        action = rule.get("action")
        if action not in ("assign", "clear"):
            raise _fail(path, f"rule {rid}: action must be assign or clear")
        code = rule.get("code")
        if code not in ("red", "yellow"):
            raise _fail(path, f"rule {rid}: code must be red or yellow")
        params = rule.get("params") or {}
        if not isinstance(params, dict):
            raise _fail(path, f"rule {rid}: params must be a mapping")
        missing = [p for p in REQUIRED_RULES.get(rid, ()) if p not in params]
        if missing:
            raise _fail(path, f"rule {rid} misses parameter(s) {', '.join(missing)}")
        base = {
            "rule_set": rule_set,
            "rule_set_version": set_version,
            "rule_id": rid,
            "rule_version": str(rule["version"]),
            "action": action,
            "code": code,
            "description": " ".join(str(rule.get("description") or "").split()),
            "source_file": path.name,
        }
        if not params:
            rows.append({**base, "param": None, "value": None, "value_index": None})
        for name, value in params.items():
            values = value if isinstance(value, list) else [value]
            if not values:
                raise _fail(path, f"rule {rid}: parameter {name} is empty")
            for j, v in enumerate(values):
                if isinstance(v, (dict, list)) or v is None:
                    raise _fail(path, f"rule {rid}: parameter {name} must hold plain values")
                rows.append({**base, "param": str(name), "value": str(v), "value_index": j})
    absent = sorted(set(REQUIRED_RULES) - seen)
    if absent:
        raise _fail(path, f"rule set lacks rule(s) {', '.join(absent)}")
    return rows


def load_code_rules(rules_dir: Path | None = None) -> pa.Table:
    """Every rule set under ``code_rules/`` as one Arrow table (schema ``CODE_RULES_SCHEMA``).

    Raises:
        ConfigError: when the folder has no rule set, or two files share a rule-set name.
    """
    folder = rules_dir or CODE_RULES_DIR
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise ConfigError(f"no code rules in {folder}; add code_rules/default.yaml")
    rows: list[dict[str, Any]] = []
    sets: dict[str, str] = {}
    for f in files:
        file_rows = read_rule_file(f)
        name = file_rows[0]["rule_set"]
        if name in sets:
            raise ConfigError(
                f"code rules: rule set {name!r} is defined in {sets[name]} and {f.name}"
            )
        sets[name] = f.name
        rows.extend(file_rows)
    return pa.Table.from_pylist(rows, schema=CODE_RULES_SCHEMA)
