"""``zt explain``: why a person's code is what it is (rules, evidence, source records)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from zhongtai.warehouse.explain import PersonExplanation

HELP = "Explain a person's code history: rules, evidence and source records (no raw PII)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    p.add_argument(
        "who",
        help="id_pseudonym (64 hex), person_key, or a raw ID number (pseudonymised, never shown)",
    )
    p.add_argument("--date", help="business date YYYY-MM-DD (default: the date the marts hold)")
    p.add_argument(
        "--id-type",
        default="resident_id",
        help="document type of a raw ID number (default resident_id)",
    )


def _when(ts: dt.datetime | None, tz: dt.tzinfo) -> str:
    if ts is None:
        return "-"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def render(ex: PersonExplanation, tz: dt.tzinfo, console: Console) -> None:
    """Print an explanation as a header line, an events table and a tasks table."""
    from rich.table import Table

    colours = {"red": "bold red", "yellow": "bold yellow", "green": "bold green"}
    code = ex.code or "no code (not an active resident)"
    console.print(
        f"[bold]{ex.person_key}[/]  {ex.name_masked or '-'}  {ex.id_masked or '-'}  "
        f"pseudonym {(ex.id_pseudonym or '-')[:16]}…  grid {ex.grid_id or '-'}"
    )
    since = f" since {_when(ex.code_since, tz)}" if ex.code_since else ""
    rule = f" by {ex.rule_id} v{ex.rule_version}" if ex.rule_id else ""
    console.print(
        f"code at the end of {ex.as_of_date}: [{colours.get(ex.code or '', 'bold')}]{code}[/]"
        f"{rule}{since}  (marts built for {ex.marts_date})"
    )
    events = Table(title="code history", show_lines=True)
    for col in ("#", "at", "change", "rule", "evidence", "source records"):
        events.add_column(col)
    for i, e in enumerate(ex.events, 1):
        evidence = [
            *([f"samples {', '.join(e.sample_ids)}"] if e.sample_ids else []),
            *([f"round {e.round_id}"] if e.round_id else []),
            *([f"appeal {e.appeal_id}"] if e.appeal_id else []),
        ]
        sources = []
        for s in e.sources:
            times = ", ".join(f"{k.removesuffix('_at')} {_when(v, tz)}" for k, v in s.times.items())
            sources.append(
                f"{s.feed}/{s.source_system or '-'}/{s.source_record_id}: {s.result or '-'}; "
                f"{times}; known {s.known_date}; match {s.match_grade or '-'}"
            )
        events.add_row(
            str(i),
            _when(e.event_at, tz),
            f"{e.from_code} → {e.to_code}",
            f"{e.rule_id or '-'} v{e.rule_version or '?'}\n{e.rule_description or ''}".strip(),
            "\n".join(evidence) or "-",
            "\n".join(sources) or "-",
        )
    if ex.events:
        console.print(events)
    else:
        console.print("no code changes up to that date")
    if ex.tasks:
        tasks = Table(title="verification tasks")
        for col in ("kind", "round", "grid", "opened", "closed"):
            tasks.add_column(col)
        for t in ex.tasks:
            tasks.add_row(
                t.task_kind,
                t.round_id or "-",
                t.grid_id or "-",
                str(t.opened_date),
                str(t.closed_date) if t.closed_date else "open",
            )
        console.print(tasks)


def run(args: argparse.Namespace) -> int:
    """Explain one person from the warehouse and print it."""
    from rich.console import Console

    from zhongtai.cli.dates import parse_date
    from zhongtai.settings import Settings
    from zhongtai.warehouse.explain import explain_person

    settings = Settings.from_env()
    as_of = parse_date(args.date) if args.date else None
    ex = explain_person(settings, args.who, as_of, id_type=args.id_type)
    render(ex, settings.tz, Console())
    return 0
