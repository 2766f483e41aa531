"""What to generate: the size of the district, the days, and how dirty each feed is."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from zhongtai.errors import ConfigError


@dataclass(frozen=True)
class DirtConfig:
    """Rates of every kind of dirt (FEEDS.md "Dirt that occurs"), as fractions.

    Row-level rates are the share of delivered records whose field gets that
    dirt; the dirts of one field exclude each other, so the rates of a field
    add up to at most 1. File-level rates are per delivery file.
    """

    # resident ID numbers
    id_lowercase_x: float = 0.01
    id_fullwidth: float = 0.004
    id_spaces: float = 0.006
    id_legacy15: float = 0.003
    id_typo: float = 0.004
    id_transpose: float = 0.002
    id_excel_sci: float = 0.002
    id_excel_000: float = 0.002
    id_apostrophe: float = 0.004
    id_parent_for_child: float = 0.1  # share of children's records carrying a parent's ID
    id_other_person: float = 0.001
    id_missing: float = 0.003
    # names
    name_traditional: float = 0.01
    name_homophone: float = 0.01
    name_spaces: float = 0.006
    name_pinyin: float = 0.004
    name_remark: float = 0.004
    name_dot_variant: float = 0.3  # share of minority names written with another dot
    # phones
    phone_plus86: float = 0.01
    phone_0086: float = 0.004
    phone_separators: float = 0.01
    phone_missing: float = 0.01
    # addresses
    address_abbreviated: float = 0.1
    address_old_name: float = 0.02
    address_fullwidth: float = 0.02
    address_room_format: float = 0.2
    # dates and times
    date_format: float = 0.05
    date_excel_serial: float = 0.005
    date_impossible: float = 0.001
    time_utc_z: float = 0.01
    # records and files
    duplicate_row: float = 0.002
    corrected_resend: float = 0.5  # share of pending results re-sent later with a final result
    duplicate_delivery: float = 0.05
    late_file: float = 0.05
    missing_delivery: float = 0.02
    header_only_file: float = 0.01
    empty_file: float = 0.005
    truncated_gzip: float = 0.01
    extra_column: float = 0.03
    missing_column: float = 0.02
    renamed_column: float = 0.03
    gbk_in_utf8: float = 0.02

    @classmethod
    def clean(cls) -> DirtConfig:
        """A configuration with no dirt at all (the truth, as delivered)."""
        return cls(**{k: 0.0 for k in cls.__dataclass_fields__})

    def scaled(self, factor: float) -> DirtConfig:
        """Every rate multiplied by ``factor`` (capped at 1)."""
        return DirtConfig(**{k: min(1.0, v * factor) for k, v in asdict(self).items()})

    def validate(self) -> None:
        """Raise ConfigError for rates outside [0, 1] or field groups above 1."""
        d = asdict(self)
        for k, v in d.items():
            if not 0.0 <= float(v) <= 1.0:
                raise ConfigError(f"dirt rate {k}={v} must be between 0 and 1")
        for prefix in ("id_", "name_", "phone_", "address_", "date_"):
            excl = ("id_parent_for_child", "name_dot_variant", "address_room_format")
            total = sum(v for k, v in d.items() if k.startswith(prefix) and k not in excl)
            if total > 1.0:
                raise ConfigError(
                    f"dirt rates {prefix}* add up to {total:.3f}; keep them at most 1"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for truth/dirt_config.json."""
        return asdict(self)


FORMATS = ("varied", "csv")


@dataclass(frozen=True)
class GenerateConfig:
    """What ``generate`` builds.

    Attributes:
        start: first business date.
        end: last business date (inclusive); later days are deltas on the first.
        persons: residents of the district (non-residents tested there come on top).
        seed: the one seed; same seed and config give the same bytes.
        tests_per_day: nucleic-acid test events per day (before platform overlap);
            default 0.6 per person.
        dirt: dirt rates.
        county_code: a real county-level division code (6 digits).
        formats: ``varied`` (each source its own format and encoding) or ``csv``
            (plain UTF-8 CSV everywhere, for speed tests).
        chunk_rows: test events generated and written per part file (bounds memory).
    """

    start: dt.date
    end: dt.date
    persons: int = 50_000
    seed: int = 20221101
    tests_per_day: int | None = None
    dirt: DirtConfig = field(default_factory=DirtConfig)
    county_code: str = "110105"
    formats: str = "varied"
    chunk_rows: int = 1_000_000

    def validate(self) -> None:
        """Raise ConfigError for a configuration that cannot be generated."""
        if self.end < self.start:
            raise ConfigError(f"end {self.end} is before start {self.start}; use --days FIRST:LAST")
        if (self.end - self.start).days > 366:
            raise ConfigError("at most 367 days per run; generate a longer period in pieces")
        if not 100 <= self.persons <= 20_000_000:
            raise ConfigError(f"persons={self.persons}: use between 100 and 20,000,000")
        if self.tests_per_day is not None and self.tests_per_day < 0:
            raise ConfigError("tests_per_day must be zero or more")
        if self.formats not in FORMATS:
            raise ConfigError(f"formats={self.formats!r}: use one of {', '.join(FORMATS)}")
        if self.chunk_rows < 1000:
            raise ConfigError("chunk_rows must be at least 1000")
        self.dirt.validate()

    @property
    def days(self) -> list[dt.date]:
        """Every business date from start to end."""
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def daily_tests(self) -> int:
        """Test events per day."""
        return int(self.persons * 0.6) if self.tests_per_day is None else self.tests_per_day


@dataclass
class GenerateReport:
    """What ``generate`` wrote."""

    files: list[str] = field(default_factory=list)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    truth_dir: str = ""
    seconds: float = 0.0
    seconds_by_feed: dict[str, float] = field(default_factory=dict)

    def add(self, feed: str, source: str, path: str, rows: int) -> None:
        """Record one written file."""
        self.files.append(path)
        self.rows.setdefault(feed, {}).setdefault(source, 0)
        self.rows[feed][source] += rows

    @property
    def total_rows(self) -> int:
        """Rows written over all feeds and sources."""
        return sum(sum(v.values()) for v in self.rows.values())
