"""One lake interface over a local folder or any S3 API, through pyarrow.fs.

Datasets are published per business date with a pointer file::

    <zone>/<dataset>/date=YYYY-MM-DD/run=<run_id>/part-*.parquet
    <zone>/<dataset>/date=YYYY-MM-DD/_CURRENT.json   # written last

A reader resolves a partition through ``_CURRENT.json`` only, so a step that
fails mid-write leaves nothing visible: writing the pointer is a single
atomic object PUT on S3 and an atomic ``os.replace`` on a local disk. Earlier
runs stay in place for lineage until ``vacuum``.

Spark cannot reach S3 here, so Spark jobs work on local staging: ``stage_in``
gives local paths for a partition and ``publish_dir`` uploads a local folder
of Parquet files as a new run.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from zhongtai.errors import ZhongtaiError
from zhongtai.settings import Settings

ZONES = ("landing", "raw", "quarantine", "clean", "master", "exports", "ledger", "quality")
POINTER = "_CURRENT.json"


@dataclass(frozen=True)
class DatasetVersion:
    """What a partition pointer says."""

    zone: str
    dataset: str
    date: str
    run_id: str
    files: tuple[str, ...]
    rows: int
    meta: dict[str, Any]


@dataclass(frozen=True)
class LakeFile:
    """A file in the lake, relative to the lake root."""

    path: str
    size: int


def _date_str(date: dt.date | str) -> str:
    return date.isoformat() if isinstance(date, dt.date) else str(date)


class Lake:
    """The lake of one deployment."""

    def __init__(self, settings: Settings):
        self.settings = settings
        if settings.lake_is_s3:
            parsed = urlparse(settings.lake)
            self.root = (parsed.netloc + parsed.path).rstrip("/")
            self.bucket = parsed.netloc
            kwargs: dict[str, Any] = {"region": settings.s3_region, "allow_bucket_creation": True}
            if settings.s3_access_key:
                kwargs["access_key"] = settings.s3_access_key
                kwargs["secret_key"] = settings.s3_secret_key
            if settings.s3_endpoint:
                ep = urlparse(settings.s3_endpoint)
                kwargs["endpoint_override"] = ep.netloc or settings.s3_endpoint
                kwargs["scheme"] = ep.scheme or "https"
                kwargs["force_virtual_addressing"] = False
            self.fs: pafs.FileSystem = pafs.S3FileSystem(**kwargs)
            self.is_s3 = True
        else:
            self.root = str(Path(settings.lake).resolve())
            self.bucket = ""
            self.fs = pafs.LocalFileSystem()
            self.is_s3 = False

    # -- plumbing --------------------------------------------------------------
    def full(self, rel: str) -> str:
        """The filesystem path of a lake-relative path."""
        rel = rel.lstrip("/")
        if ".." in Path(rel).parts:
            raise ZhongtaiError(f"refusing lake path with '..': {rel!r}")
        return f"{self.root}/{rel}" if rel else self.root

    def uri(self, rel: str = "") -> str:
        """A printable location."""
        return ("s3://" if self.is_s3 else "") + self.full(rel)

    def ensure(self) -> None:
        """Create the root (and the bucket) if missing; a clear error if unreachable."""
        try:
            if self.is_s3:
                info = self.fs.get_file_info(self.bucket)
                if info.type == pafs.FileType.NotFound:
                    self.fs.create_dir(self.bucket)
            else:
                Path(self.root).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ZhongtaiError(f"lake {self.uri()} is not reachable: {e}") from None

    def exists(self, rel: str) -> bool:
        """True if the file or folder exists."""
        return self.fs.get_file_info(self.full(rel)).type != pafs.FileType.NotFound

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write a file atomically (temp + rename locally; one PUT on S3)."""
        path = self.full(rel)
        if self.is_s3:
            # compression=None: pyarrow would otherwise gzip a ".gz" path a second time
            with self.fs.open_output_stream(path, compression=None) as f:
                f.write(data)
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read_bytes(self, rel: str) -> bytes:
        """Read a whole file."""
        with self.fs.open_input_stream(self.full(rel), compression=None) as f:
            return f.read()

    def open_input(self, rel: str) -> Any:
        """A seekable binary file for reading."""
        return self.fs.open_input_file(self.full(rel))

    def write_json(self, rel: str, obj: Any) -> None:
        """Write JSON atomically."""
        self.write_bytes(rel, json.dumps(obj, ensure_ascii=False, indent=1, default=str).encode())

    def read_json(self, rel: str) -> Any:
        """Read a JSON file."""
        return json.loads(self.read_bytes(rel))

    def list_files(self, prefix: str, recursive: bool = True) -> list[LakeFile]:
        """Files under ``prefix``, sorted, as lake-relative paths."""
        sel = pafs.FileSelector(self.full(prefix), recursive=recursive, allow_not_found=True)
        out = []
        base = self.root + "/"
        for info in self.fs.get_file_info(sel):
            if info.type == pafs.FileType.File:
                out.append(LakeFile(info.path[len(base) :], int(info.size or 0)))
        return sorted(out, key=lambda f: f.path)

    def list_dirs(self, prefix: str) -> list[str]:
        """Names of the immediate sub-folders of ``prefix``."""
        sel = pafs.FileSelector(self.full(prefix), recursive=False, allow_not_found=True)
        return sorted(
            Path(i.path).name
            for i in self.fs.get_file_info(sel)
            if i.type == pafs.FileType.Directory
        )

    def delete(self, rel: str) -> None:
        """Delete a file or a folder tree if present."""
        info = self.fs.get_file_info(self.full(rel))
        if info.type == pafs.FileType.Directory:
            self.fs.delete_dir(self.full(rel))
        elif info.type == pafs.FileType.File:
            self.fs.delete_file(self.full(rel))

    # -- datasets ---------------------------------------------------------------
    @staticmethod
    def partition(zone: str, dataset: str, date: dt.date | str) -> str:
        """Lake-relative folder of a dataset partition."""
        if zone not in ZONES:
            raise ZhongtaiError(f"unknown zone {zone!r}; zones are {', '.join(ZONES)}")
        return f"{zone}/{dataset}/date={_date_str(date)}"

    def publish_table(
        self,
        zone: str,
        dataset: str,
        date: dt.date | str,
        table: pa.Table,
        run_id: str,
        meta: dict[str, Any] | None = None,
    ) -> DatasetVersion:
        """Write ``table`` as a new run of the partition, then point the partition at it."""
        part = self.partition(zone, dataset, date)
        run_dir = f"{part}/run={_safe(run_id)}"
        self.delete(run_dir)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        rel = f"{run_dir}/part-00000.parquet"
        self.write_bytes(rel, buf.getvalue())
        return self._point(zone, dataset, date, run_id, [rel], table.num_rows, meta)

    def publish_dir(
        self,
        zone: str,
        dataset: str,
        date: dt.date | str,
        local_dir: str | Path,
        run_id: str,
        meta: dict[str, Any] | None = None,
    ) -> DatasetVersion:
        """Publish a local folder of Parquet files (e.g. Spark output) as a new run."""
        part = self.partition(zone, dataset, date)
        run_dir = f"{part}/run={_safe(run_id)}"
        self.delete(run_dir)
        files = sorted(p for p in Path(local_dir).glob("*.parquet"))
        rels, rows = [], 0
        for i, f in enumerate(files):
            rows += pq.ParquetFile(f).metadata.num_rows
            rel = f"{run_dir}/part-{i:05d}.parquet"
            if self.is_s3:
                self._upload(f, rel)
            else:
                Path(self.full(rel)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, self.full(rel))
            rels.append(rel)
        return self._point(zone, dataset, date, run_id, rels, rows, meta)

    def _upload(self, local: Path, rel: str) -> None:
        pafs.copy_files(
            str(local),
            self.full(rel),
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.fs,
        )

    def _point(
        self,
        zone: str,
        dataset: str,
        date: dt.date | str,
        run_id: str,
        files: Sequence[str],
        rows: int,
        meta: dict[str, Any] | None,
    ) -> DatasetVersion:
        doc = {
            "zone": zone,
            "dataset": dataset,
            "date": _date_str(date),
            "run_id": run_id,
            "files": list(files),
            "rows": int(rows),
            "meta": meta or {},
        }
        self.write_json(f"{self.partition(zone, dataset, date)}/{POINTER}", doc)
        return DatasetVersion(
            zone, dataset, _date_str(date), run_id, tuple(files), int(rows), meta or {}
        )

    def current(self, zone: str, dataset: str, date: dt.date | str) -> DatasetVersion | None:
        """The published version of a partition, or None."""
        rel = f"{self.partition(zone, dataset, date)}/{POINTER}"
        if not self.exists(rel):
            return None
        d = self.read_json(rel)
        return DatasetVersion(
            d["zone"],
            d["dataset"],
            d["date"],
            d["run_id"],
            tuple(d["files"]),
            d["rows"],
            d.get("meta", {}),
        )

    def dates(self, zone: str, dataset: str) -> list[str]:
        """Business dates with a published partition, sorted."""
        out = []
        for name in self.list_dirs(f"{zone}/{dataset}"):
            if name.startswith("date=") and self.exists(f"{zone}/{dataset}/{name}/{POINTER}"):
                out.append(name[len("date=") :])
        return sorted(out)

    def read_table(
        self, zone: str, dataset: str, date: dt.date | str, columns: list[str] | None = None
    ) -> pa.Table | None:
        """The published partition as one Arrow table, or None if there is none."""
        v = self.current(zone, dataset, date)
        if v is None:
            return None
        tables = [pq.read_table(self.full(f), filesystem=self.fs, columns=columns) for f in v.files]
        if not tables:
            return None
        return pa.concat_tables(tables, promote_options="default")

    def read_upto(
        self, zone: str, dataset: str, upto: dt.date | str, columns: list[str] | None = None
    ) -> pa.Table | None:
        """All published partitions with date <= ``upto``, concatenated (None if none)."""
        tables = [
            t
            for d in self.dates(zone, dataset)
            if d <= _date_str(upto)
            for t in [self.read_table(zone, dataset, d, columns)]
            if t is not None and t.num_rows >= 0
        ]
        if not tables:
            return None
        return pa.concat_tables(tables, promote_options="default")

    def stage_in(self, zone: str, dataset: str, dates: Iterable[str]) -> list[str]:
        """Local file paths of the given partitions, downloading from S3 when needed."""
        out: list[str] = []
        for d in dates:
            v = self.current(zone, dataset, d)
            if v is None:
                continue
            for f in v.files:
                if not self.is_s3:
                    out.append(self.full(f))
                    continue
                local = self.staging_root() / "in" / f
                if not local.exists():
                    local.parent.mkdir(parents=True, exist_ok=True)
                    pafs.copy_files(
                        self.full(f),
                        str(local),
                        source_filesystem=self.fs,
                        destination_filesystem=pafs.LocalFileSystem(),
                    )
                out.append(str(local))
        return out

    def staging_root(self) -> Path:
        """Local scratch space for Spark and downloads."""
        p = self.settings.state_path / "staging"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def new_staging_dir(self, label: str) -> Path:
        """A fresh local folder for one step's output."""
        p = self.staging_root() / "out" / f"{_safe(label)}-{uuid.uuid4().hex[:8]}"
        p.mkdir(parents=True, exist_ok=True)
        return p


def _safe(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in s)
