"""The dbt models pass sqlfluff with the repository's ``.sqlfluff`` (lower-case, aliases, CTEs)."""

from __future__ import annotations

import pytest

from zhongtai.paths import DBT_PROJECT_DIR, PROJECT_ROOT

sqlfluff = pytest.importorskip("sqlfluff", reason="sqlfluff is not installed (make lint needs it)")


def test_dbt_models_pass_sqlfluff(monkeypatch):
    from sqlfluff.core import FluffConfig, Linter

    monkeypatch.chdir(PROJECT_ROOT)  # .sqlfluff paths are relative to the repository
    config = FluffConfig.from_root(overrides={"processes": 2})
    assert config.get("dialect") == "duckdb"
    result = Linter(config=config).lint_paths((str(DBT_PROJECT_DIR / "models"),))
    linted = [f for d in result.paths for f in d.files]
    assert len(linted) >= 25  # every model was read
    problems = [
        f"{f.path}:{v.line_no}: {v.rule_code()} {v.desc()}"
        for f in linted
        for v in f.get_violations()
    ]
    assert problems == []


def test_sqlfluff_catches_upper_case_keywords():
    from sqlfluff.core import FluffConfig, Linter

    config = FluffConfig.from_path(str(PROJECT_ROOT))
    got = Linter(config=config).lint_string("SELECT 1 AS one\n")
    assert "CP01" in {v.rule_code() for v in got.get_violations()}
