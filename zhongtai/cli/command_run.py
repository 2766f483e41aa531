"""``zt run``: business day(s) through every stage, via the real Airflow DAG."""

from __future__ import annotations

import argparse
import datetime as dt

from zhongtai.cli.dates import parse_range


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--date", help="business date YYYY-MM-DD")
    g.add_argument("--dates", help="inclusive range YYYY-MM-DD:YYYY-MM-DD, run in order")
    p.add_argument(
        "--demo",
        action="store_true",
        help="generate the demo day into landing first if landing is empty",
    )
    p.add_argument(
        "--persons",
        type=int,
        default=None,
        help="with --demo: persons to generate (default 50,000)",
    )


def run(args: argparse.Namespace) -> int:
    """Check the inputs, run each day through the DAG, print the summary."""
    from zhongtai.cli.command_generate import DEMO_DAYS, DEMO_PERSONS
    from zhongtai.errors import ZhongtaiError
    from zhongtai.lake import Lake
    from zhongtai.pipeline.preflight import check_landing, check_warehouse, landing_is_empty
    from zhongtai.reporting.console import console, print_day_summary
    from zhongtai.reporting.summary import day_summary
    from zhongtai.settings import Settings

    settings = Settings.from_env()
    if args.date:
        days = parse_range(args.date)
    elif args.dates:
        days = parse_range(args.dates)
    elif args.demo:
        days = parse_range(DEMO_DAYS)
    else:
        raise ZhongtaiError("say which day: --date YYYY-MM-DD, --dates A:B, or --demo")
    lake = Lake(settings)
    lake.ensure()
    check_warehouse(settings)
    if args.demo and landing_is_empty(lake):
        from zhongtai.generate import GenerateConfig, generate
        from zhongtai.reporting.console import print_generate_report

        console.print(f"[bold]landing is empty: generating the demo day(s) {days[0]}…{days[-1]}")
        report = generate(
            settings,
            GenerateConfig(start=days[0], end=days[-1], persons=args.persons or DEMO_PERSONS),
        )
        print_generate_report(report)
    for day in days:
        check_landing(lake, day)
    from zhongtai.orchestration import run_day

    failed = 0
    for day in days:
        started = dt.datetime.now()
        console.print(f"[bold]running business day {day} through zt_daily …")
        result = run_day(settings, day)
        seconds = (dt.datetime.now() - started).total_seconds()
        print_day_summary(day_summary(settings, day), result, seconds)
        console.print(f"run log: {result.log_path}")
        if not result.ok:
            failed += 1
            for err in result.errors:
                console.print(f"[red]  {err['step']}: {err['message']}")
            console.print(f"full log: {result.log_path}")
            bad = [t for t, s in result.task_states.items() if s not in ("success", "skipped")]
            raise ZhongtaiError(
                f"business day {day} did not complete (run {result.run_id}); "
                f"tasks not successful: {', '.join(sorted(bad)) or 'none'}"
            )
    return 1 if failed else 0
