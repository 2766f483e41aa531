"""Why is this record linked to that person? The evidence of one crosswalk row, as a table.

Every crosswalk row carries its evidence as JSON: the rule that decided (exact valid ID,
scored, new person), and for a scored link each compared field with its level, its
similarity and its Fellegi–Sunter weight, the prior and the total. Only pseudonymous
and masked values are shown; raw personal data never leaves the restricted zones.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.settings import Settings


@dataclass(frozen=True)
class FieldEvidence:
    """One compared field of a link."""

    field: str
    level: str | None
    similarity: float | None
    weight: float


@dataclass(frozen=True)
class LinkExplanation:
    """The decision about one source record."""

    feed: str
    source_system: str
    source_record_id: str
    person_key: str
    grade: str
    score: float
    rule: str
    fields: list[FieldEvidence] = field(default_factory=list)
    prior_bits: float | None = None
    total_bits: float | None = None
    margin_bits: float | None = None
    model_version: str | None = None
    person: dict[str, Any] = field(default_factory=dict)


def parse_evidence(text: str | None) -> dict[str, Any]:
    """The evidence JSON of a crosswalk row as a dict (empty when absent or malformed)."""
    if not text:
        return {}
    try:
        d = json.loads(text)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def explanation_from_row(
    row: dict[str, Any], person: dict[str, Any] | None = None
) -> LinkExplanation:
    """Build the explanation of one crosswalk row (and the masked view of its person)."""
    ev = parse_evidence(row.get("evidence"))
    fields = []
    for name, f in (ev.get("fields") or {}).items():
        if not isinstance(f, dict):
            continue
        fields.append(
            FieldEvidence(name, f.get("level"), f.get("similarity"), float(f.get("weight") or 0.0))
        )
    return LinkExplanation(
        feed=row["feed"],
        source_system=row["source_system"],
        source_record_id=row["source_record_id"],
        person_key=row["person_key"],
        grade=row["grade"],
        score=float(row["score"] or 0.0),
        rule=str(ev.get("rule", "unknown")),
        fields=fields,
        prior_bits=ev.get("prior_bits"),
        total_bits=ev.get("total_bits"),
        margin_bits=ev.get("margin_bits"),
        model_version=ev.get("model_version"),
        person=person or {},
    )


PERSON_DISPLAY = (
    "id_masked",
    "name_masked",
    "phone_masked",
    "gender",
    "birth_year",
    "community_code",
    "grid_id",
    "source_systems",
    "field_sources",
)


def explain_link(
    settings: Settings,
    feed: str,
    source_system: str,
    source_record_id: str,
    business_date: dt.date | None = None,
) -> LinkExplanation:
    """Explain the link of one source record in the crosswalk of ``business_date``
    (default: the newest published date).

    Raises:
        ZhongtaiError: there is no crosswalk, or the record is not in it.
    """
    import pyarrow.compute as pc

    from zhongtai.lake import Lake

    lake = Lake(settings)
    dates = lake.dates("master", "person_crosswalk")
    if not dates:
        raise ZhongtaiError("no master/person_crosswalk in the lake; run matching (zt run) first")
    day = business_date.isoformat() if business_date else dates[-1]
    xw = lake.read_table("master", "person_crosswalk", day)
    if xw is None:
        raise ZhongtaiError(f"no person crosswalk for {day}; published dates: {', '.join(dates)}")
    mask = pc.and_(
        pc.and_(pc.equal(xw["feed"], feed), pc.equal(xw["source_system"], source_system)),
        pc.equal(xw["source_record_id"], source_record_id),
    )
    rows = xw.filter(mask).to_pylist()
    if not rows:
        raise ZhongtaiError(
            f"record {feed}/{source_system}/{source_record_id} is not in the crosswalk of {day}; "
            "check the feed, the source system (e.g. city, national, hukou) and the record id"
        )
    row = rows[0]
    persons = lake.read_table("master", "persons", day)
    person: dict[str, Any] = {}
    if persons is not None:
        hit = persons.filter(pc.equal(persons["person_key"], row["person_key"])).to_pylist()
        if hit:
            person = {k: hit[0].get(k) for k in PERSON_DISPLAY if k in hit[0]}
    return explanation_from_row(row, person)


def format_explanation(x: LinkExplanation) -> str:
    """Plain-text rendering (the CLI prints it)."""
    lines = [
        f"record  {x.feed}/{x.source_system}/{x.source_record_id}",
        f"person  {x.person_key}   grade {x.grade}   score {x.score:.6f}   rule {x.rule}",
    ]
    if x.model_version:
        lines.append(f"model   {x.model_version}")
    if x.fields:
        lines.append(f"  {'field':<12}{'level':<16}{'similarity':>11}{'weight (bits)':>15}")
        if x.prior_bits is not None:
            lines.append(f"  {'(prior)':<12}{'':<16}{'':>11}{x.prior_bits:>15.3f}")
        for f in x.fields:
            sim = "—" if f.similarity is None else f"{f.similarity:.3f}"
            lines.append(
                f"  {f.field:<12}{f.level or 'not compared':<16}{sim:>11}{f.weight:>15.3f}"
            )
        if x.total_bits is not None:
            lines.append(f"  {'total':<12}{'':<16}{'':>11}{x.total_bits:>15.3f}")
        if x.margin_bits is not None:
            lines.append(f"  margin over the runner-up: {x.margin_bits:.3f} bits")
    elif x.rule == "exact_valid_id":
        lines.append("  linked by the keyed pseudonym of a valid ID (no pairwise scoring)")
    for k, v in x.person.items():
        if v is not None:
            lines.append(f"  person.{k}: {v}")
    return "\n".join(lines)
