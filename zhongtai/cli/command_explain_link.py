"""``zt explain-link``: why a source record is linked to its person (fields, weights, total)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    p.add_argument("feed", help="population, nucleic_acid, vaccination or appeals")
    p.add_argument("source_system", help="e.g. hukou, city, national, health_code_service")
    p.add_argument(
        "source_record_id",
        help="the record id (sample_id for nucleic_acid, record_id for vaccination, "
        "appeal_id for appeals)",
    )
    p.add_argument("--date", help="business date YYYY-MM-DD (default: the newest)")


def run(args: argparse.Namespace) -> int:
    """Print the explanation (masked and pseudonymous values only)."""
    from zhongtai.cli.dates import parse_date
    from zhongtai.match.explain import explain_link, format_explanation
    from zhongtai.settings import Settings

    settings = Settings.from_env()
    day = parse_date(args.date) if args.date else None
    print(
        format_explanation(
            explain_link(settings, args.feed, args.source_system, args.source_record_id, day)
        )
    )
    return 0
