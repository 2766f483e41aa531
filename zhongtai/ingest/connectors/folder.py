"""The default connector: a local file (or folder of files) copied into landing as delivered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePosixPath

from zhongtai.contracts.model import load_contract
from zhongtai.errors import ZhongtaiError
from zhongtai.lake.store import Lake
from zhongtai.settings import Settings


def landing_path(feed: str, source: str, business_date: dt.date, name: str) -> str:
    """``landing/<feed>/<source>/<YYYY-MM-DD>/<name>``, refusing unsafe names."""
    if not name or name != PurePosixPath(name).name or name.startswith(".") or "\\" in name:
        raise ZhongtaiError(f"delivery name {name!r} must be a plain file name")
    return f"landing/{feed}/{source}/{business_date.isoformat()}/{name}"


def land_files(
    settings: Settings, feed: str, source: str, business_date: dt.date, path: str | Path
) -> list[str]:
    """Copy a file, or every file of a folder, into landing unchanged (bytes as delivered).

    Args:
        settings: platform settings (the lake may be local or S3).
        feed: contract id.
        source: the sending system; must be one of the contract's sources.
        business_date: the delivery's business date.
        path: a local file or folder.

    Returns:
        The lake-relative landing paths written.

    Raises:
        ZhongtaiError: unknown source, missing path.
    """
    contract = load_contract(feed)
    if contract.sources and source not in contract.sources:
        raise ZhongtaiError(
            f"source {source!r} is not a source of {feed}; use one of {', '.join(contract.sources)}"
        )
    p = Path(path)
    if not p.exists():
        raise ZhongtaiError(f"{p} does not exist; give a delivery file or a folder of them")
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    lake = Lake(settings)
    lake.ensure()
    out = []
    for f in files:
        rel = landing_path(feed, source, business_date, f.name)
        lake.write_bytes(rel, f.read_bytes())
        out.append(rel)
    return out
