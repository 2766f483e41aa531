"""Short-lived presigned S3 URLs for one published export day.

A downstream app that can reach the S3 API (MinIO or any S3) pulls a day's
diff without holding any key: the platform hands it URLs signed by the
**export-reader** identity, which may read ``exports/`` and nothing else (see
:func:`export_reader_policy`). The pipeline's own keys never sign a URL.

Only files listed in the day's published ``manifest.json`` (and the manifest
itself) get a URL, the manifest being read with the export-reader identity
too, so a presigning service needs no other credentials. Expiry is capped at
one hour.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.export.diff import EXPORT_DATASETS
from zhongtai.settings import Settings

MAX_EXPIRES_SECONDS = 3600
EXPORT_FILES = ("diff.parquet", "diff.csv", "diff.jsonl")
READER_ACCESS_KEY_ENV = "ZT_EXPORT_READER_ACCESS_KEY"
READER_SECRET_KEY_ENV = "ZT_EXPORT_READER_SECRET_KEY"


@dataclass(frozen=True)
class ExportReaderCredentials:
    """Keys of the export-reader identity (read-only on ``exports/``).

    Attributes:
        access_key: S3 access key id of the export reader.
        secret_key: its secret key (never printed).
    """

    access_key: str
    secret_key: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExportReaderCredentials:
        """Read ``ZT_EXPORT_READER_ACCESS_KEY`` / ``ZT_EXPORT_READER_SECRET_KEY``.

        Raises:
            ConfigError: when either is missing.
        """
        env = os.environ if environ is None else environ
        access, secret = env.get(READER_ACCESS_KEY_ENV), env.get(READER_SECRET_KEY_ENV)
        if not access or not secret:
            raise ConfigError(
                f"set {READER_ACCESS_KEY_ENV} and {READER_SECRET_KEY_ENV} to the keys of the "
                "export-reader identity (read-only on exports/; see export_reader_policy)"
            )
        return cls(access, secret)


def check_dataset(dataset: str) -> str:
    """Return ``dataset`` if it is an exported dataset.

    Raises:
        ZhongtaiError: for any other name (this also stops path tricks).
    """
    names = [d.name for d in EXPORT_DATASETS]
    if dataset not in names:
        raise ZhongtaiError(
            f"unknown export dataset {dataset!r}; exported datasets are {', '.join(names)}"
        )
    return dataset


def check_day(day: dt.date | str) -> str:
    """Return the ISO form of a business date given as a date or ``YYYY-MM-DD``.

    Raises:
        ZhongtaiError: when ``day`` is not a real ``YYYY-MM-DD`` date.
    """
    if isinstance(day, dt.date):
        return day.isoformat()
    text = str(day)
    try:
        parsed = dt.date.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.isoformat() != text:
        raise ZhongtaiError(f"business date {text!r} is not a date; write it as YYYY-MM-DD")
    return text


def _bucket_and_prefix(settings: Settings) -> tuple[str, str]:
    if not settings.lake_is_s3:
        raise ConfigError(
            f"presigned URLs need an S3 lake; ZT_LAKE={settings.lake!r} is a folder "
            "(serve it with the export HTTP API instead)"
        )
    parsed = urlparse(settings.lake)
    return parsed.netloc, parsed.path.strip("/")


def export_reader_policy(settings: Settings) -> dict[str, Any]:
    """The IAM policy of the export-reader identity: read ``exports/`` only.

    Attach it to the user or role whose keys go into ``ZT_EXPORT_READER_*``.
    ``exports/_state/`` (the last full state, used to compute the next diff) is
    not readable: downstream apps get diffs only.

    Args:
        settings: settings with an ``s3://bucket[/prefix]`` lake.

    Returns:
        An IAM policy document (``json.dumps`` it for the IAM API).
    """
    bucket, prefix = _bucket_and_prefix(settings)
    exports = f"{prefix}/exports" if prefix else "exports"
    objects = [f"arn:aws:s3:::{bucket}/{exports}/{d.name}/*" for d in EXPORT_DATASETS]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadExportFiles",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": objects,
            },
            {
                "Sid": "ListExports",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {
                    "StringLike": {"s3:prefix": [f"{exports}/{d.name}/*" for d in EXPORT_DATASETS]}
                },
            },
        ],
    }


def _minio(settings: Settings, credentials: ExportReaderCredentials) -> Any:
    from minio import Minio  # lazily: only presigning needs it

    if settings.s3_endpoint:
        ep = urlparse(settings.s3_endpoint)
        endpoint = ep.netloc or settings.s3_endpoint
        secure = (ep.scheme or "https") == "https"
    else:
        endpoint, secure = "s3.amazonaws.com", True
    # A fixed region keeps minio from asking the server for the bucket location.
    return Minio(
        endpoint,
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        secure=secure,
        region=settings.s3_region,
    )


def presign_day(
    settings: Settings,
    dataset: str,
    day: dt.date | str,
    expires_seconds: int = 900,
    credentials: ExportReaderCredentials | None = None,
) -> dict[str, str]:
    """Presigned GET URLs for the files of one published export day.

    Args:
        settings: settings of the S3 lake (its own keys are not used).
        dataset: ``person_codes``, ``verification_tasks`` or ``persons``.
        day: business date.
        expires_seconds: URL lifetime, 1 to 3600 seconds.
        credentials: the export-reader keys; from ``ZT_EXPORT_READER_*`` when None.

    Returns:
        File name (``manifest.json``, ``diff.parquet``, ``diff.csv``, ``diff.jsonl``) → URL,
        only for files the published manifest lists.

    Raises:
        ZhongtaiError: unknown dataset, bad date or expiry, no published day,
            pipeline keys given as reader keys, or the lake not reachable.
    """
    check_dataset(dataset)
    day_s = check_day(day)
    if not 0 < int(expires_seconds) <= MAX_EXPIRES_SECONDS:
        raise ZhongtaiError(
            f"expires_seconds={expires_seconds} is out of range; use 1..{MAX_EXPIRES_SECONDS}"
        )
    bucket, prefix = _bucket_and_prefix(settings)
    creds = credentials or ExportReaderCredentials.from_env()
    if settings.s3_access_key and creds.access_key == settings.s3_access_key:
        raise ConfigError(
            "the export-reader keys are the pipeline's own S3 keys; create a separate "
            "identity with export_reader_policy and set ZT_EXPORT_READER_* to its keys"
        )
    base = "/".join(p for p in (prefix, "exports", dataset, f"date={day_s}") if p)
    client = _minio(settings, creds)
    manifest = _read_manifest(client, bucket, f"{base}/manifest.json", dataset, day_s)
    listed = [name for name in EXPORT_FILES if name in manifest.get("files", {})]
    expires = dt.timedelta(seconds=int(expires_seconds))
    return {
        name: client.presigned_get_object(bucket, f"{base}/{name}", expires=expires)
        for name in ("manifest.json", *listed)
    }


def _read_manifest(client: Any, bucket: str, key: str, dataset: str, day: str) -> dict[str, Any]:
    from minio.error import S3Error
    from urllib3.exceptions import HTTPError

    try:
        resp = client.get_object(bucket, key)
        try:
            return dict(json.loads(resp.read()))
        finally:
            resp.close()
            resp.release_conn()
    except S3Error as e:
        if e.code in ("NoSuchKey", "NoSuchBucket"):
            raise ZhongtaiError(
                f"no published export of {dataset} for {day}; list the published days first"
            ) from None
        raise ZhongtaiError(
            f"the export reader cannot read the {dataset} manifest of {day} ({e.code}); "
            "check its keys and policy"
        ) from None
    except (OSError, HTTPError) as e:  # server down, DNS, connection refused
        raise ZhongtaiError(f"the S3 endpoint is not reachable: {type(e).__name__}") from None
