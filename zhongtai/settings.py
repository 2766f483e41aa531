"""One settings object for the whole platform, read from the environment.

Every setting has an embedded default so that a fresh clone runs with nothing
configured: a lake folder, a DuckDB file and Spark ``local[*]`` under the
current directory. Secrets (S3 keys, the pseudonym key) come from the
environment only; for the embedded default a random pseudonym key is created
once under the state folder, never in the repository.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zhongtai.errors import ConfigError

ENV_PREFIX = "ZT_"


@dataclass(frozen=True)
class Settings:
    """Where the lake and warehouse are, how Spark runs, and the pseudonym key.

    Attributes:
        lake: ``./lake`` style folder or ``s3://bucket[/prefix]``.
        s3_endpoint: S3 API endpoint URL (MinIO, moto, any S3); None for AWS.
        s3_access_key: S3 access key id.
        s3_secret_key: S3 secret key.
        s3_region: S3 region.
        warehouse: DuckDB file path or ``postgresql://`` DSN.
        spark_master: Spark master URL.
        spark_driver_memory: Spark driver memory.
        timezone: business time zone; business date is the date in this zone.
        state_dir: run state (Airflow home, Spark staging, local secrets).
        truth_dir: where the generator writes its truth, beside the lake.
        pseudonym_key_version: version label stored beside every pseudonym.
    """

    lake: str = "lake"
    s3_endpoint: str | None = None
    s3_access_key: str | None = field(default=None, repr=False)
    s3_secret_key: str | None = field(default=None, repr=False)
    s3_region: str = "us-east-1"
    warehouse: str = "warehouse/zhongtai.duckdb"
    spark_master: str = "local[*]"
    spark_driver_memory: str = "4g"
    timezone: str = "Asia/Shanghai"
    state_dir: str = ".zt"
    truth_dir: str = "truth"
    pseudonym_key_version: str = "v1"
    _pseudonym_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from ``ZT_*`` environment variables over the defaults."""
        env = os.environ if environ is None else environ

        def get(name: str, default: str | None) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value not in (None, "") else default

        d = cls()
        s = cls(
            lake=get("LAKE", d.lake) or d.lake,
            s3_endpoint=get("S3_ENDPOINT", None),
            s3_access_key=get("S3_ACCESS_KEY", env.get("AWS_ACCESS_KEY_ID")),
            s3_secret_key=get("S3_SECRET_KEY", env.get("AWS_SECRET_ACCESS_KEY")),
            s3_region=get("S3_REGION", d.s3_region) or d.s3_region,
            warehouse=get("WAREHOUSE", d.warehouse) or d.warehouse,
            spark_master=get("SPARK_MASTER", d.spark_master) or d.spark_master,
            spark_driver_memory=get("SPARK_DRIVER_MEMORY", d.spark_driver_memory)
            or d.spark_driver_memory,
            timezone=get("TIMEZONE", d.timezone) or d.timezone,
            state_dir=get("STATE", d.state_dir) or d.state_dir,
            truth_dir=get("TRUTH", d.truth_dir) or d.truth_dir,
            pseudonym_key_version=get("PSEUDONYM_KEY_VERSION", d.pseudonym_key_version)
            or d.pseudonym_key_version,
            _pseudonym_key=get("PSEUDONYM_KEY", None),
        )
        s.validate()
        return s

    def validate(self) -> None:
        """Raise ConfigError for settings that cannot work."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"ZT_TIMEZONE={self.timezone!r} is not a time zone; use e.g. Asia/Shanghai"
            ) from None
        if self.lake.startswith("s3://"):
            if len(self.lake) <= len("s3://"):
                raise ConfigError("ZT_LAKE=s3:// needs a bucket name, e.g. s3://zhongtai-lake")
        elif "://" in self.lake:
            raise ConfigError(
                f"ZT_LAKE={self.lake!r}: use a folder path or s3://bucket[/prefix]"
            )
        if "://" in self.warehouse and not self.warehouse.startswith(
            ("postgresql://", "postgres://")
        ):
            raise ConfigError(
                f"ZT_WAREHOUSE={self.warehouse!r}: use a DuckDB file path or a "
                "postgresql://user@host:port/db DSN"
            )

    @property
    def tz(self) -> ZoneInfo:
        """The business time zone."""
        return ZoneInfo(self.timezone)

    @property
    def lake_is_s3(self) -> bool:
        """True when the lake is an S3 bucket."""
        return self.lake.startswith("s3://")

    @property
    def warehouse_kind(self) -> str:
        """``duckdb`` or ``postgres``."""
        pg = self.warehouse.startswith(("postgresql://", "postgres://"))
        return "postgres" if pg else "duckdb"

    @property
    def state_path(self) -> Path:
        """The state folder as an absolute path."""
        return Path(self.state_dir).resolve()

    def pseudonym_key(self) -> tuple[bytes, str]:
        """Return the pseudonymisation key and its version.

        From ``ZT_PSEUDONYM_KEY`` when set; otherwise a random key created once
        in ``<state>/secrets/pseudonym-<version>.key`` (mode 0600) so that the
        embedded default works and pseudonyms stay stable across runs.
        """
        if self._pseudonym_key:
            return self._pseudonym_key.encode("utf-8"), self.pseudonym_key_version
        path = self.state_path / "secrets" / f"pseudonym-{self.pseudonym_key_version}.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode("utf-8"), self.pseudonym_key_version
