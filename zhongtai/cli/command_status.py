"""``zt status``: what each zone holds, per business date."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    p.add_argument("--date", help="business date YYYY-MM-DD (default: every date in the lake)")


def run(args: argparse.Namespace) -> int:
    """Print the zone inventory and, per date, the day summary."""
    from zhongtai.cli.dates import parse_date
    from zhongtai.lake import Lake
    from zhongtai.reporting.console import print_status
    from zhongtai.reporting.summary import lake_inventory
    from zhongtai.settings import Settings

    settings = Settings.from_env()
    lake = Lake(settings)
    only = parse_date(args.date) if args.date else None
    print_status(settings, lake_inventory(lake, only))
    return 0
