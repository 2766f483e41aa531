"""Run the Airflow DAGs in-process (the embedded default) — the only orchestrator."""

from zhongtai.orchestration.runner import DayRun, airflow_environment, run_day

__all__ = ["DayRun", "airflow_environment", "run_day"]
