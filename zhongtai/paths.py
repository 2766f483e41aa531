"""Where the project's own folders are (contracts, dbt project, DAGs)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("ZT_PROJECT_ROOT", Path(__file__).resolve().parents[1]))
CONTRACTS_DIR = PROJECT_ROOT / "data_contracts"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DAGS_DIR = PROJECT_ROOT / "dags"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SPARK_JOBS_DIR = PROJECT_ROOT / "spark_jobs"
