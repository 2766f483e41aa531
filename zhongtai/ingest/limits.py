"""Safety limits that protect ingestion from hostile or broken deliveries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IngestLimits:
    """Caps applied to every delivery.

    Attributes:
        max_line_bytes: a single text line longer than this is quarantined
            (reason ``line_too_long``) instead of parsed.
        max_uncompressed_bytes: total bytes a compressed delivery (gzip, zip,
            xlsx) may expand to; beyond it the delivery is rejected.
        max_ratio: largest uncompressed/compressed ratio accepted once the
            expansion exceeds ``ratio_floor_bytes`` (zip bombs reach 1000+).
        ratio_floor_bytes: below this expansion the ratio is not checked, so
            small, highly repetitive files are fine.
        max_zip_members: most members a zip delivery may hold.
        block_bytes: size of the blocks read and decoded at a time.
        chunk_rows: rows typed, checked and written at a time; peak memory
            grows with this, not with the size of the delivery.
        rows_per_file: most rows in one raw Parquet file of a delivery.
    """

    max_line_bytes: int = 1 << 20
    max_uncompressed_bytes: int = 16 << 30
    max_ratio: float = 1000.0
    ratio_floor_bytes: int = 64 << 20
    max_zip_members: int = 1000
    block_bytes: int = 8 << 20
    chunk_rows: int = 1 << 18
    rows_per_file: int = 4_000_000
