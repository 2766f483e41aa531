"""The truth, written beside the lake (``settings.truth_dir``), never inside landing.

- ``persons.parquet``: every true person (ID number, name, birth date, household, address...).
- ``entities.parquet``, ``addresses.parquet``, ``infections.parquet``, ``rounds.parquet``.
- ``records/<feed>/<landing date>.parquet``: one row per delivered record (duplicates
  included) with the file and line it is on, the true person / entity / address, the
  dirt applied per field (``field:code``) and whether it is beyond repair.
- ``deliveries.parquet``: every file written, with its file-level dirt, duplicate and
  late delivery facts, and missing deliveries.
- ``dirt_config.json``, ``dirt_codes.json``: the rates used and the irreparable codes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.generate.dirt import IRREPARABLE

RECORD_SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("source_system", pa.string()),
        ("source_record_id", pa.string()),
        ("file", pa.string()),
        ("line_number", pa.int64()),
        ("business_date", pa.date32()),
        ("landing_date", pa.date32()),
        ("true_person_id", pa.string()),
        ("true_entity_id", pa.string()),
        ("true_address_id", pa.string()),
        ("true_value", pa.string()),
        ("dirt", pa.list_(pa.string())),
        ("beyond_repair", pa.bool_()),
        ("is_duplicate", pa.bool_()),
        ("is_late", pa.bool_()),
        ("is_resend", pa.bool_()),
    ]
)
DELIVERY_SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("source", pa.string()),
        ("business_date", pa.date32()),
        ("landing_date", pa.date32()),
        ("file", pa.string()),
        ("status", pa.string()),  # delivered | duplicate | header_only | empty | missing
        ("duplicate_of", pa.string()),
        ("is_late", pa.bool_()),
        ("rows", pa.int64()),
        ("format", pa.string()),
        ("encoding", pa.string()),
        ("file_dirt", pa.list_(pa.string())),
    ]
)


class TruthWriter:
    """Streams truth tables to Parquet files under the truth folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        if self.root.exists():
            shutil.rmtree(self.root)
        (self.root / "records").mkdir(parents=True)
        self._writers: dict[tuple[str, str], pq.ParquetWriter] = {}
        self.deliveries: list[dict] = []

    def write(self, name: str, table: pa.Table) -> None:
        """Write one whole truth table as ``<name>.parquet``."""
        pq.write_table(table, self.root / f"{name}.parquet")

    def write_pieces(self, name: str, pieces: Iterable[pa.Table]) -> None:
        """Write a truth table given in pieces as ``<name>.parquet`` (one row group a piece)."""
        writer: pq.ParquetWriter | None = None
        try:
            for piece in pieces:
                if writer is None:
                    writer = pq.ParquetWriter(self.root / f"{name}.parquet", piece.schema)
                writer.write_table(piece.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()

    def records(self, feed: str, landing_date: str, table: pa.Table) -> None:
        """Append record truth for a feed and landing date."""
        key = (feed, landing_date)
        if key not in self._writers:
            path = self.root / "records" / feed / f"{landing_date}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writers[key] = pq.ParquetWriter(path, RECORD_SCHEMA)
        self._writers[key].write_table(table.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA))

    def delivery(self, **row: object) -> None:
        """Note one delivery (or a missing one)."""
        self.deliveries.append(row)

    def config(self, dirt: dict, run: dict) -> None:
        """Write the dirt configuration, the run parameters and the irreparable codes."""
        (self.root / "dirt_config.json").write_text(json.dumps(dirt, indent=1, sort_keys=True))
        (self.root / "run.json").write_text(json.dumps(run, indent=1, sort_keys=True, default=str))
        (self.root / "dirt_codes.json").write_text(
            json.dumps({"irreparable": sorted(IRREPARABLE)}, indent=1)
        )

    def close(self) -> None:
        """Finish every file."""
        for w in self._writers.values():
            w.close()
        self._writers.clear()
        rows = {n: [d.get(n) for d in self.deliveries] for n in DELIVERY_SCHEMA.names}
        pq.write_table(pa.table(rows, schema=DELIVERY_SCHEMA), self.root / "deliveries.parquet")
