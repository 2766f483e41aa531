"""``zt explain-link``: why a source record is linked to its person, entity or address
(fields compared, similarities, weights, total)."""

from __future__ import annotations

import argparse
import json
from typing import Any

LIBRARIES = ("person", "entity", "address")
# the address role a feed's record plays when --role is not given
DEFAULT_ROLE = {"population": "residence", "legal_entity": "registered", "addresses": "standard"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    p.add_argument(
        "feed", help="population, nucleic_acid, vaccination, appeals, legal_entity or addresses"
    )
    p.add_argument("source_system", help="e.g. hukou, city, national, market_regulation")
    p.add_argument(
        "source_record_id",
        help="the record id (sample_id for nucleic_acid, record_id for vaccination, "
        "appeal_id for appeals)",
    )
    p.add_argument("--date", help="business date YYYY-MM-DD (default: the newest)")
    p.add_argument(
        "--library",
        choices=LIBRARIES,
        help="which master library's link to explain (default: entity for legal_entity, "
        "address for addresses, person otherwise)",
    )
    p.add_argument(
        "--role",
        choices=("standard", "residence", "registered", "business"),
        help="for --library address: which of the record's addresses (default by feed)",
    )


def _format(title: str, d: dict[str, Any]) -> str:
    """A readable block of an explanation dict (its values are masked or public)."""
    lines = [title]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"  {k}:")
            for k2, v2 in v.items():
                text = json.dumps(v2, ensure_ascii=False, default=str)
                lines.append(f"    {k2:<22} {text}")
        else:
            lines.append(f"  {k:<24} {json.dumps(v, ensure_ascii=False, default=str)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the explanation (masked and pseudonymous values only)."""
    from zhongtai.cli.dates import parse_date
    from zhongtai.errors import ZhongtaiError
    from zhongtai.settings import Settings

    settings = Settings.from_env()
    day = parse_date(args.date) if args.date else None
    library = args.library or {"legal_entity": "entity", "addresses": "address"}.get(
        args.feed, "person"
    )
    ref = f"{args.feed}:{args.source_system}:{args.source_record_id}"
    if library == "entity":
        from zhongtai.match.entities import explain_entity_link

        if args.feed != "legal_entity":
            raise ZhongtaiError("only legal_entity records link to the entity library")
        print(_format(f"entity link of {ref}", explain_entity_link(settings, ref, day)))
        return 0
    if library == "address":
        from zhongtai.match.addresses import explain_address_link

        role = args.role or DEFAULT_ROLE.get(args.feed)
        if role is None:
            raise ZhongtaiError(f"{args.feed} records carry no address; give --role")
        print(
            _format(
                f"address link ({role}) of {ref}", explain_address_link(settings, ref, role, day)
            )
        )
        return 0
    from zhongtai.match.explain import explain_link, format_explanation

    print(
        format_explanation(
            explain_link(settings, args.feed, args.source_system, args.source_record_id, day)
        )
    )
    return 0
