"""DAG integrity: every DAG imports, carries tags, owner and retries, and has the expected graph."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from zhongtai.contracts import feed_names

pytestmark = pytest.mark.integration

PROBE = textwrap.dedent(
    """
    import json, os
    from zhongtai.orchestration.runner import airflow_environment
    from zhongtai.settings import Settings
    os.environ.update(airflow_environment(Settings(state_dir=os.environ["PROBE_STATE"])))
    from airflow.dag_processing.dagbag import DagBag
    from zhongtai.paths import DAGS_DIR
    bag = DagBag(dag_folder=str(DAGS_DIR), safe_mode=False)
    out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {
            "tags": sorted(dag.tags),
            "doc": bool(dag.doc_md),
            "tasks": {t.task_id: {"owner": t.owner, "retries": t.retries,
                                  "down": sorted(t.downstream_task_ids),
                                  "outlets": [o.name for o in getattr(t, "outlets", [])]}
                      for t in dag.tasks},
        }
    print("PROBE" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    import json

    env = {**os.environ, "PROBE_STATE": str(tmp_path_factory.mktemp("airflow-probe"))}
    res = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300
    )
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("PROBE")), None)
    assert line, res.stderr[-2000:]
    return json.loads(line[len("PROBE") :])


def test_no_import_errors(bag):
    assert bag["errors"] == {}
    assert "zt_daily" in bag["dags"]


def test_every_dag_has_tags_owner_retries_and_docs(bag):
    for dag_id, dag in bag["dags"].items():
        assert dag["tags"], dag_id
        assert dag["doc"], dag_id
        for task_id, t in dag["tasks"].items():
            assert t["owner"] and t["owner"] != "airflow", task_id
            assert t["retries"] >= 2, task_id


def test_daily_graph(bag):
    tasks = bag["dags"]["zt_daily"]["tasks"]
    for feed in feed_names():
        assert tasks[f"ingest_{feed}"]["down"] == [f"validate_raw_{feed}"]
        assert tasks[f"validate_raw_{feed}"]["down"] == [f"clean_{feed}"]
        assert f"validate_clean_{feed}" in tasks[f"clean_{feed}"]["down"]
        assert "match_persons" in tasks[f"validate_clean_{feed}"]["down"]
        assert "match_addresses" in tasks[f"validate_clean_{feed}"]["down"]
        assert tasks[f"ingest_{feed}"]["outlets"] == [f"zhongtai.raw.{feed}"]
        assert tasks[f"clean_{feed}"]["outlets"] == [f"zhongtai.clean.{feed}"]
    # people's records are cleaned only after the geography they are resolved against
    assert "clean_population" in tasks["validate_clean_addresses"]["down"]
    assert tasks["match_persons"]["down"] == ["build_marts"]
    # an entity's registered and business addresses are keys of the address library
    assert tasks["match_addresses"]["down"] == ["match_entities"]
    assert tasks["match_entities"]["down"] == ["build_marts"]
    assert tasks["match_entities"]["outlets"] == ["zhongtai.master.entities"]
    assert tasks["build_marts"]["down"] == ["export"]
    assert tasks["export"]["down"] == []
