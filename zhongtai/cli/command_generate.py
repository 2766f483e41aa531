"""``zt generate``: synthetic feeds with known truth into the landing zone."""

from __future__ import annotations

import argparse

from zhongtai.cli.dates import parse_range

DEMO_DAYS = "2026-11-01"
DEMO_PERSONS = 50_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    p.add_argument(
        "--days",
        default=DEMO_DAYS,
        help="business date or inclusive range A:B (default %(default)s)",
    )
    p.add_argument(
        "--persons",
        type=int,
        default=DEMO_PERSONS,
        help="persons in the synthetic district (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=20221101, help="random seed (default %(default)s)")
    p.add_argument(
        "--tests-per-day",
        type=int,
        default=None,
        help="nucleic-acid rows per day across both platforms",
    )
    p.add_argument(
        "--formats",
        choices=("varied", "csv"),
        default="varied",
        help="varied: each source its own format and encoding; csv: plain UTF-8 CSV",
    )


def run(args: argparse.Namespace) -> int:
    """Generate, then print what was written."""
    from zhongtai.errors import ZhongtaiError
    from zhongtai.generate import GenerateConfig, generate
    from zhongtai.reporting.console import print_generate_report
    from zhongtai.settings import Settings

    days = parse_range(args.days)
    if args.persons < 10:
        raise ZhongtaiError("--persons must be at least 10")
    settings = Settings.from_env()
    config = GenerateConfig(
        start=days[0],
        end=days[-1],
        persons=args.persons,
        seed=args.seed,
        tests_per_day=args.tests_per_day,
        formats=args.formats,
    )
    report = generate(settings, config)
    print_generate_report(report)
    return 0
