"""Load and validate the ODCS v3 contracts in ``data_contracts/``.

A contract file is validated against the ODCS JSON schema shipped with the
``open-data-contract-standard`` package, then read into small frozen objects
that the stages use: column names, logical types, header aliases (ODCS
``synonyms``), allowed values with their raw spellings (``enum`` with a
``synonyms`` custom property), PII classes, keys and the sending systems.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zhongtai.errors import ContractError
from zhongtai.paths import CONTRACTS_DIR

CONTRACT_SUFFIX = ".odcs.yaml"


@dataclass(frozen=True)
class Column:
    """One property of a feed's schema."""

    name: str
    logical_type: str
    physical_type: str
    description: str = ""
    required: bool = False
    unique: bool = False
    primary_key_position: int | None = None
    aliases: tuple[str, ...] = ()
    pii: str | None = None
    pattern: str | None = None
    minimum: float | None = None
    allowed_values: tuple[str, ...] | None = None
    value_synonyms: dict[str, str] = field(default_factory=dict)

    @property
    def is_pii(self) -> bool:
        """True for personal information under PIPL (restricted zones only)."""
        return self.pii is not None


@dataclass(frozen=True)
class Contract:
    """A feed's contract as the stages use it."""

    feed: str
    title: str
    version: str
    columns: tuple[Column, ...]
    sources: tuple[str, ...]
    source_column: str | None
    business_key: tuple[str, ...]
    delivery_mode: str
    document: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        """Canonical column names in contract order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise ContractError(f"contract {self.feed!r} has no column {name!r}")

    @property
    def required_columns(self) -> list[str]:
        """Columns that must be present and non-null."""
        return [c.name for c in self.columns if c.required]

    @property
    def pii_columns(self) -> list[str]:
        """Columns holding personal information."""
        return [c.name for c in self.columns if c.is_pii]

    def header_map(self) -> dict[str, str]:
        """Map every accepted header spelling (canonical or alias) to the canonical name.

        Keys are normalised with :func:`normalise_header`.
        """
        out: dict[str, str] = {}
        for c in self.columns:
            for h in (c.name, *c.aliases):
                out[normalise_header(h)] = c.name
        return out


def normalise_header(h: str) -> str:
    """Fold a header for alias lookup: strip BOM/space, full-width to ASCII, lower case."""
    h = h.replace("\ufeff", "").strip()
    h = "".join(chr(ord(ch) - 0xFEE0) if 0xFF01 <= ord(ch) <= 0xFF5E else ch for ch in h)
    return h.replace("\u3000", "").replace(" ", "").lower()


@cache
def _odcs_schema() -> dict[str, Any]:
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return json.loads(text)


def validate_contract_document(doc: Any, where: str = "contract") -> None:
    """Raise ContractError unless ``doc`` is a valid ODCS v3 document."""
    import jsonschema

    schema = _odcs_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = "/".join(str(p) for p in first.absolute_path) or "(top)"
        raise ContractError(
            f"{where} is not a valid ODCS v3 contract at {path}: {first.message[:300]}"
            f" ({len(errors)} error(s))"
        )
    if doc.get("kind") != "DataContract" or not str(doc.get("apiVersion", "")).startswith("v3"):
        raise ContractError(f"{where}: kind must be DataContract and apiVersion v3.x")


def _custom(props: list[dict[str, Any]] | None, name: str, default: Any = None) -> Any:
    for p in props or []:
        if p.get("property") == name:
            return p.get("value")
    return default


def _column(p: dict[str, Any]) -> Column:
    enum = p.get("enum")
    allowed = None
    synonyms: dict[str, str] = {}
    if enum:
        allowed = tuple(str(e["value"]) for e in enum)
        for e in enum:
            value = str(e["value"])
            extra = _custom(e.get("customProperties"), "synonyms", [])
            for raw in (value, e.get("label"), *extra):
                if raw is not None:
                    synonyms[str(raw).strip().lower()] = value
    opts = p.get("logicalTypeOptions") or {}
    minimum = _custom(p.get("customProperties"), "minimum")
    return Column(
        name=p["name"],
        logical_type=p.get("logicalType", "string"),
        physical_type=p.get("physicalType", "string"),
        description=p.get("description", ""),
        required=bool(p.get("required", False)),
        unique=bool(p.get("unique", False)),
        primary_key_position=p.get("primaryKeyPosition") if p.get("primaryKey") else None,
        aliases=tuple(s["synonym"] for s in p.get("synonyms") or []),
        pii=_custom(p.get("customProperties"), "piiClass"),
        pattern=opts.get("pattern"),
        minimum=float(minimum) if minimum is not None else None,
        allowed_values=allowed,
        value_synonyms=synonyms,
    )


def _from_document(doc: dict[str, Any], where: str) -> Contract:
    validate_contract_document(doc, where)
    schema = doc.get("schema") or []
    if len(schema) != 1:
        raise ContractError(f"{where}: expected exactly one schema object, found {len(schema)}")
    obj = schema[0]
    columns = tuple(_column(p) for p in obj.get("properties") or [])
    top = doc.get("customProperties")
    return Contract(
        feed=doc["id"],
        title=doc.get("name", doc["id"]),
        version=str(doc.get("version", "0")),
        columns=columns,
        sources=tuple(_custom(top, "sources", [])),
        source_column=_custom(top, "sourceColumn"),
        business_key=tuple(_custom(top, "businessKey", [])),
        delivery_mode=_custom(top, "deliveryMode", "append"),
        document=doc,
    )


def load_contract_file(path: Path) -> Contract:
    """Load and validate one contract file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ContractError(f"cannot read contract {path}: {e}") from None
    if not isinstance(doc, dict):
        raise ContractError(f"{path}: a contract must be a YAML mapping")
    return _from_document(doc, str(path))


@cache
def all_contracts(directory: str | None = None) -> dict[str, Contract]:
    """Every contract in the contracts folder, by feed id."""
    d = Path(directory) if directory else CONTRACTS_DIR
    files = sorted(d.glob(f"*{CONTRACT_SUFFIX}"))
    if not files:
        raise ContractError(f"no contracts found in {d}")
    out: dict[str, Contract] = {}
    for f in files:
        c = load_contract_file(f)
        if f.name != f"{c.feed}{CONTRACT_SUFFIX}":
            raise ContractError(
                f"{f}: file name must be {c.feed}{CONTRACT_SUFFIX} (the contract id)"
            )
        out[c.feed] = c
    return out


def feed_names() -> list[str]:
    """The feed ids, sorted."""
    return sorted(all_contracts())


def load_contract(feed: str) -> Contract:
    """The contract of ``feed``; ContractError naming the known feeds otherwise."""
    contracts = all_contracts()
    if feed not in contracts:
        raise ContractError(f"unknown feed {feed!r}; known feeds: {', '.join(sorted(contracts))}")
    return contracts[feed]
