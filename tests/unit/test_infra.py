"""infra/docker-compose.yml is a valid compose file and carries no secret."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from zhongtai.paths import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "infra" / "docker-compose.yml"


def test_compose_services_and_wiring():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert {"minio", "postgres", "spark-master", "spark-worker", "airflow-scheduler",
            "airflow-api-server", "airflow-dag-processor"} <= set(services)
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
    env = services["airflow-scheduler"]["environment"]
    assert env["ZT_LAKE"].startswith("s3://")
    assert env["ZT_WAREHOUSE"].startswith("postgresql://")


def test_no_literal_secrets():
    text = COMPOSE.read_text()
    for key in ("ZT_S3_SECRET_KEY", "ZT_PSEUDONYM_KEY", "MINIO_ROOT_PASSWORD", "POSTGRES_PASSWORD"):
        for m in re.finditer(rf"{key}:\s*(\S+)", text):
            assert m.group(1).startswith("${"), f"{key} must come from the environment"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_validates(tmp_path):
    env = tmp_path / ".env"
    env.write_text("\n".join(f"{k}=x" for k in (
        "ZT_S3_ACCESS_KEY", "ZT_S3_SECRET_KEY", "ZT_WAREHOUSE_PASSWORD", "ZT_PSEUDONYM_KEY",
        "AIRFLOW_DB_PASSWORD", "POSTGRES_PASSWORD")))
    res = subprocess.run(["docker-compose", "--env-file", str(env), "-f", str(COMPOSE), "config",
                          "-q"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
