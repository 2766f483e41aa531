"""Where each exported dataset's full daily state comes from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa

from zhongtai.lake import Lake
from zhongtai.settings import Settings


def _mart(settings: Settings, sql: str) -> pa.Table | None:
    from zhongtai.warehouse import read_mart

    rows = read_mart(settings, sql)
    return pa.Table.from_pylist(rows) if rows else None


def export_states(settings: Settings, day: dt.date) -> dict[str, Callable[[], pa.Table | None]]:
    """dataset → a function returning its full state as of ``day`` (pseudonymous columns only)."""
    iso = day.isoformat()
    lake = Lake(settings)
    return {
        "person_codes": lambda: _mart(
            settings,
            "select person_key, code, since, rule_id, rule_version from marts.person_codes "
            f"where as_of_date = cast('{iso}' as date) order by person_key",
        ),
        # only what a task is, not when it was last looked at: a diff must show real changes
        "verification_tasks": lambda: _mart(
            settings,
            "select task_id, task_kind, reason, person_key, grid_id, community_code, round_id, "
            "evidence, opened_date, closed_date, is_open, close_reason "
            "from marts.verification_tasks order by task_id",
        ),
        "persons": lambda: lake.read_table("master", "persons", day),
    }
