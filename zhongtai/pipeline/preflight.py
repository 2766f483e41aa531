"""Checks made before a run starts, so a user's mistake gets one clear line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import Lake
from zhongtai.settings import Settings


def landing_is_empty(lake: Lake) -> bool:
    """True when the landing zone has no file at all."""
    return not lake.list_files("landing", recursive=True)


def check_landing(lake: Lake, day: dt.date) -> None:
    """Raise unless at least one delivery is under landing/<feed>/<source>/<day>/."""
    for feed in lake.list_dirs("landing"):
        for source in lake.list_dirs(f"landing/{feed}"):
            if lake.list_files(f"landing/{feed}/{source}/{day.isoformat()}"):
                return
    raise ZhongtaiError(
        f"no deliveries for {day} under {lake.uri('landing')}/<feed>/<source>/{day}/ — "
        "generate one with `zt generate --days "
        f"{day}` or check ZT_LAKE"
    )


def check_warehouse(settings: Settings) -> None:
    """Raise unless the warehouse can be reached (Postgres) or created (DuckDB)."""
    if settings.warehouse_kind == "postgres":
        import psycopg2

        try:
            psycopg2.connect(settings.warehouse, connect_timeout=5).close()
        except psycopg2.OperationalError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else "connection failed"
            raise ZhongtaiError(
                f"warehouse {_redact(settings.warehouse)} is unreachable: {first}"
            ) from None
        return
    folder = Path(settings.warehouse).resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ZhongtaiError(f"warehouse folder {folder} cannot be created: {e.strerror}") from None


def _redact(dsn: str) -> str:
    """A DSN without its password."""
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return dsn
