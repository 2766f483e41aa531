"""Pulling a day through the S3 API: presigned URLs by the export-reader identity.

moto's server does not verify query-string (presigned) signatures, and with IAM
enforcement on it answers presigned GETs with 500. So the tests split the claim:
on the shared (no-auth) server, presigned URLs carry the reader's key and fetch
the manifest's exact bytes; on a server of our own with IAM enforced, the
reader's identity and policy, used with header signatures, read exports/ and
are refused everywhere else, and botocore confirms that the presigned URLs are
valid SigV4 signatures of that identity (and of no other).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import pyarrow as pa
import pytest

from tests.conftest import port_open, require_service
from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.export.diff import export_day
from zhongtai.export.presign import (
    ExportReaderCredentials,
    export_reader_policy,
    presign_day,
)
from zhongtai.lake import Lake
from zhongtai.settings import Settings

DAY = dt.date(2026, 11, 1)
READER = ExportReaderCredentials("export-reader-key", "export-reader-secret")


def _publish(settings: Settings) -> dict:
    Lake(settings).ensure()
    rows = [{"person_key": "P1", "code": "yellow"}, {"person_key": "P2", "code": "green"}]
    export_day(settings, DAY, "run-1", {"person_codes": lambda: pa.Table.from_pylist(rows)})
    return Lake(settings).read_json("exports/person_codes/date=2026-11-01/manifest.json")


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - test server
        return resp.read()


def test_presigned_urls_fetch_the_manifests_bytes(s3_settings):
    manifest = _publish(s3_settings)
    urls = presign_day(s3_settings, "person_codes", DAY, expires_seconds=600, credentials=READER)

    assert sorted(urls) == ["diff.csv", "diff.jsonl", "diff.parquet", "manifest.json"]
    for name, meta in manifest["files"].items():
        data = _fetch(urls[name])
        assert hashlib.sha256(data).hexdigest() == meta["sha256"]
        assert len(data) == meta["bytes"]
    assert json.loads(_fetch(urls["manifest.json"])) == manifest
    for url in urls.values():
        q = parse_qs(urlsplit(url).query)
        assert q["X-Amz-Credential"][0].startswith("export-reader-key/")
        assert q["X-Amz-Expires"] == ["600"]
        assert "testing" not in url  # the pipeline's key id
        assert "/lake/exports/person_codes/date=2026-11-01/" in unquote(urlsplit(url).path)


def test_presign_refuses_what_it_must(s3_settings, settings, monkeypatch):
    _publish(s3_settings)
    with pytest.raises(ZhongtaiError, match="1..3600"):
        presign_day(s3_settings, "person_codes", DAY, expires_seconds=7200, credentials=READER)
    with pytest.raises(ZhongtaiError, match="1..3600"):
        presign_day(s3_settings, "person_codes", DAY, expires_seconds=0, credentials=READER)
    with pytest.raises(ConfigError, match="pipeline's own"):
        presign_day(
            s3_settings,
            "person_codes",
            DAY,
            credentials=ExportReaderCredentials("testing", "testing"),
        )
    with pytest.raises(ZhongtaiError, match="unknown export dataset"):
        presign_day(s3_settings, "_state/person_codes", DAY, credentials=READER)
    with pytest.raises(ZhongtaiError, match="YYYY-MM-DD"):
        presign_day(s3_settings, "person_codes", "2026-11-01/../../raw", credentials=READER)
    with pytest.raises(ZhongtaiError, match="no published export"):
        presign_day(s3_settings, "person_codes", "2026-11-02", credentials=READER)
    with pytest.raises(ConfigError, match="S3 lake"):
        presign_day(settings, "person_codes", DAY, credentials=READER)
    monkeypatch.delenv("ZT_EXPORT_READER_ACCESS_KEY", raising=False)
    with pytest.raises(ConfigError, match="ZT_EXPORT_READER_ACCESS_KEY"):
        presign_day(s3_settings, "person_codes", DAY)
    monkeypatch.setenv("ZT_EXPORT_READER_ACCESS_KEY", "env-reader")
    monkeypatch.setenv("ZT_EXPORT_READER_SECRET_KEY", "env-secret")
    urls = presign_day(s3_settings, "person_codes", DAY)
    assert "env-reader%2F" in urls["diff.csv"] or "env-reader/" in urls["diff.csv"]


# -- IAM enforced ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def iam_s3(tmp_path_factory):
    """A moto server of our own, with a pipeline and an export-reader IAM user, then IAM on."""
    try:
        import boto3
    except ImportError:
        require_service(False, "boto3 (installed with moto)")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                require_service(False, "a moto server with IAM enforcement (it did not start)")
            time.sleep(0.1)  # readiness poll of a child process, bounded by the deadline
        endpoint = f"http://127.0.0.1:{port}"
        tmp = tmp_path_factory.mktemp("iam")
        bucket = f"zt-iam-{uuid.uuid4().hex[:8]}"
        base = Settings(
            lake=f"s3://{bucket}/lake",
            s3_endpoint=endpoint,
            state_dir=str(tmp / "state"),
            _pseudonym_key="k",
        )
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        keys = {}
        policies = {
            "pipeline": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            },
            "export-reader": export_reader_policy(base),
        }
        for user, policy in policies.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(
                UserName=user, PolicyName=f"{user}-policy", PolicyDocument=json.dumps(policy)
            )
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        req = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - test server
            assert json.loads(resp.read())["status"] == "ok"
        pipeline = Settings(
            lake=base.lake,
            s3_endpoint=endpoint,
            s3_access_key=keys["pipeline"]["AccessKeyId"],
            s3_secret_key=keys["pipeline"]["SecretAccessKey"],
            state_dir=str(tmp / "state"),
            _pseudonym_key="k",
        )
        reader = ExportReaderCredentials(
            keys["export-reader"]["AccessKeyId"], keys["export-reader"]["SecretAccessKey"]
        )
        yield pipeline, reader
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _minio(settings: Settings, access: str, secret: str):
    from minio import Minio

    return Minio(
        urlsplit(settings.s3_endpoint).netloc,
        access_key=access,
        secret_key=secret,
        secure=False,
        region="us-east-1",
    )


def _status(call) -> str:
    from minio.error import S3Error

    try:
        resp = call()
        data = resp.read()
        resp.close()
        resp.release_conn()
        return "ok:" + hashlib.sha256(data).hexdigest()
    except S3Error as e:
        return f"{e.response.status}:{e.code}"


def _sigv4_valid(url: str, secret: str) -> bool:
    """Check a presigned URL's signature with botocore (a SigV4 apart from minio's)."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urlsplit(url)
    q = dict(parse_qsl(parts.query))
    signature = q.pop("X-Amz-Signature")
    access, _, region, *_ = q["X-Amz-Credential"].split("/")
    req = AWSRequest(method="GET", url=f"{parts.scheme}://{parts.netloc}{parts.path}")
    req.context["timestamp"] = q["X-Amz-Date"]
    S3SigV4QueryAuth(
        Credentials(access, secret), "s3", region, expires=int(q["X-Amz-Expires"])
    ).add_auth(req)
    return dict(parse_qsl(urlsplit(req.url).query))["X-Amz-Signature"] == signature


def test_export_reader_reads_exports_and_nothing_else(iam_s3):
    pipeline, reader = iam_s3
    manifest = _publish(pipeline)  # the pipeline identity writes, under enforced IAM
    lake = Lake(pipeline)
    lake.write_bytes("raw/population/date=2026-11-01/secret.txt", b"restricted")
    bucket = lake.bucket
    state_files = [f.path for f in lake.list_files("exports/_state/person_codes")]
    assert state_files

    # presign_day reads the manifest with the reader's keys only, under enforced IAM.
    urls = presign_day(pipeline, "person_codes", DAY, credentials=reader)
    assert parse_qs(urlsplit(urls["diff.jsonl"]).query)["X-Amz-Credential"][0].startswith(
        reader.access_key + "/"
    )

    r = _minio(pipeline, reader.access_key, reader.secret_key)
    day = "lake/exports/person_codes/date=2026-11-01"
    assert _status(lambda: r.get_object(bucket, f"{day}/diff.jsonl")) == (
        "ok:" + manifest["files"]["diff.jsonl"]["sha256"]
    )
    assert (
        _status(lambda: r.get_object(bucket, "lake/raw/population/date=2026-11-01/secret.txt"))
        == "403:AccessDenied"
    )
    assert _status(lambda: r.get_object(bucket, "lake/" + state_files[0])) == "403:AccessDenied"

    import io

    from minio.error import S3Error

    with pytest.raises(S3Error) as put:
        r.put_object(bucket, f"{day}/diff.jsonl", io.BytesIO(b"forged"), 6)
    assert put.value.code == "AccessDenied"

    # The denial is the policy, not a missing object: the pipeline reads the same file.
    p = _minio(pipeline, pipeline.s3_access_key, pipeline.s3_secret_key)
    assert (
        _status(lambda: p.get_object(bucket, "lake/raw/population/date=2026-11-01/secret.txt"))
        == "ok:" + hashlib.sha256(b"restricted").hexdigest()
    )
    # A wrong secret is refused outright.
    bad = _minio(pipeline, reader.access_key, "not-the-secret")
    assert _status(lambda: bad.get_object(bucket, f"{day}/diff.jsonl")).startswith("403:")


def test_api_library_reads_an_s3_lake(s3_settings):
    from zhongtai.export.api import changes_since, list_manifests

    _publish(s3_settings)
    lake = Lake(s3_settings)
    assert [m["business_date"] for m in list_manifests(lake, "person_codes")] == ["2026-11-01"]
    page = changes_since(lake, "person_codes", 0)
    assert [(c["change_seq"], c["op"], c["key"]) for c in page.changes] == [
        (1, "insert", "P1"),
        (2, "insert", "P2"),
    ]
    assert (page.next_cursor, page.has_more) == (2, False)
