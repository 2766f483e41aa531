"""Settings come from ZT_* variables over embedded defaults, and bad ones say what to do."""

from __future__ import annotations

import stat

import pytest

from zhongtai.errors import ConfigError
from zhongtai.settings import Settings


def test_embedded_defaults():
    s = Settings.from_env({})
    assert s.lake == "lake" and not s.lake_is_s3
    assert s.warehouse_kind == "duckdb"
    assert s.spark_master == "local[*]"
    assert s.timezone == "Asia/Shanghai"


def test_s3_lake_and_postgres_warehouse_from_env():
    s = Settings.from_env({
        "ZT_LAKE": "s3://zt-lake/prod", "ZT_S3_ENDPOINT": "http://127.0.0.1:9000",
        "ZT_S3_ACCESS_KEY": "ak", "ZT_S3_SECRET_KEY": "sk",
        "ZT_WAREHOUSE": "postgresql://postgres@127.0.0.1:5432/zt",
    })
    assert s.lake_is_s3 and s.s3_endpoint == "http://127.0.0.1:9000"
    assert s.warehouse_kind == "postgres"
    assert "sk" not in repr(s)  # secrets are not printed


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ZT_TIMEZONE": "Mars/Olympus"}, "not a time zone"),
        ({"ZT_LAKE": "s3://"}, "bucket name"),
        ({"ZT_LAKE": "gs://bucket"}, "folder path or s3://"),
        ({"ZT_WAREHOUSE": "mysql://x"}, "DuckDB file path or a postgresql"),
    ],
)
def test_bad_settings_raise_a_clear_error(env, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Settings.from_env(env)


def test_pseudonym_key_from_env_wins(tmp_path):
    s = Settings.from_env({"ZT_PSEUDONYM_KEY": "k1", "ZT_STATE": str(tmp_path)})
    assert s.pseudonym_key() == (b"k1", "v1")
    assert not (tmp_path / "secrets").exists()


def test_embedded_key_is_created_once_private_and_stable(tmp_path):
    s = Settings.from_env({"ZT_STATE": str(tmp_path)})
    k1, v = s.pseudonym_key()
    k2, _ = Settings.from_env({"ZT_STATE": str(tmp_path)}).pseudonym_key()
    assert k1 == k2 and len(k1) == 64 and v == "v1"
    key_file = tmp_path / "secrets" / "pseudonym-v1.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
