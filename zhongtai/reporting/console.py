"""Rich tables for the CLI."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from zhongtai.reporting.summary import DaySummary
from zhongtai.settings import Settings

console = Console()


def _n(v: Any) -> str:
    return "—" if v is None else f"{v:,}" if isinstance(v, int) else str(v)


def print_day_summary(s: DaySummary, run: Any = None, seconds: float | None = None) -> None:
    """The end-of-run table: rows per feed and stage, then master, marts and exports."""
    title = f"zhongtai — business day {s.business_date}"
    if run is not None:
        title += f" — run {getattr(run, 'state', '?')}"
    if seconds is not None:
        title += f" in {seconds:,.0f} s"
    t = Table(title=title)
    for col in ("feed", "deliveries", "rows in", "loaded", "quarantined", "duplicates", "clean"):
        t.add_column(col, justify="left" if col == "feed" else "right")
    for f in s.feeds:
        t.add_row(
            f.feed,
            _n(f.deliveries),
            _n(f.rows_in),
            _n(f.loaded),
            _n(f.quarantined),
            _n(f.duplicates),
            _n(f.clean),
        )
    console.print(t)
    m = Table(title="master, marts, exports", show_header=True)
    m.add_column("what")
    m.add_column("count", justify="right")
    m.add_row("persons in the person library", _n(s.persons))
    m.add_row("  of which residents (active population record)", _n(s.residents))
    for grade in ("certain", "possible", "new"):
        m.add_row(f"  source records linked: {grade}", _n(s.grades.get(grade)))
    for key, label in (
        ("comparisons", "comparisons made (test records × library)"),
        ("assigned", "codes assigned (赋码)"),
        ("assigned_red", "  red"),
        ("assigned_yellow", "  yellow"),
        ("escalated_to_red", "yellow escalated to red"),
        ("cleared", "codes cleared (解码)"),
        ("coded", "coded at end of day (red or yellow)"),
        ("tasks_opened", "verification tasks opened"),
        ("tasks_closed", "verification tasks closed"),
    ):
        if key in s.marts:
            m.add_row(label, _n(s.marts[key]))
    if not s.marts:
        m.add_row("marts", "not built")
    for ds, rows in sorted(s.exports.items()):
        m.add_row(f"export {ds}: changes written", _n(rows))
    if not s.exports:
        m.add_row("export", "not written")
    console.print(m)


def print_generate_report(report: Any) -> None:
    """What ``zt generate`` wrote."""
    t = Table(title="generated deliveries")
    t.add_column("feed")
    t.add_column("source")
    t.add_column("rows", justify="right")
    rows = getattr(report, "rows", None) or {}
    for feed, per_source in sorted(rows.items()):
        for source, n in sorted(per_source.items()):
            t.add_row(str(feed), str(source), _n(int(n)))
    console.print(t)
    files = getattr(report, "files", [])
    secs = getattr(report, "seconds", None)
    console.print(f"{len(files)} files written" + (f" in {secs:,.1f} s" if secs else ""))


def print_status(settings: Settings, inventory: dict[str, dict[str, list[str]]]) -> None:
    """Zone → dataset → dates."""
    t = Table(title=f"lake {settings.lake} — warehouse {settings.warehouse_kind}")
    t.add_column("zone")
    t.add_column("dataset")
    t.add_column("dates")
    if not inventory:
        console.print("the lake is empty: run `zt generate` then `zt run --date …`, or `make run`")
        return
    for zone, datasets in inventory.items():
        for ds, dates in sorted(datasets.items()):
            shown = (
                ", ".join(dates) if len(dates) <= 4 else f"{dates[0]} … {dates[-1]} ({len(dates)})"
            )
            t.add_row(zone, ds, shown)
    console.print(t)
