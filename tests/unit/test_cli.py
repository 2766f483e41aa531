"""The CLI: fast help, and a user's mistake is one line on stderr with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from zhongtai.cli.dates import parse_range
from zhongtai.cli.main import main
from zhongtai.errors import ZhongtaiError


def test_help_is_fast_and_lists_the_commands():
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "zhongtai", "--help"], capture_output=True,
                         text=True, check=True)
    elapsed = time.perf_counter() - t
    for verb in ("generate", "run", "status"):
        assert verb in out.stdout
    assert elapsed < 5, "zt --help must not import the heavy engines"


def test_import_zhongtai_does_not_import_engines():
    code = ("import sys, zhongtai, zhongtai.cli.main; "
            "bad=[m for m in ('pyspark','airflow','great_expectations','dbt') "
            "if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_range_parsing():
    days = parse_range("2026-11-01:2026-11-03")
    assert [d.isoformat() for d in days] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    with pytest.raises(ZhongtaiError, match="ends before"):
        parse_range("2026-11-03:2026-11-01")


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        (["run", "--date", "2026/11/01"], {}, "not in the form YYYY-MM-DD"),
        (["run"], {}, "say which day"),
        (["run", "--date", "2026-11-01"], {}, "no deliveries for 2026-11-01"),
        (["run", "--date", "2026-11-01"],
         {"ZT_WAREHOUSE": "postgresql://postgres@127.0.0.1:1/none"}, "is unreachable"),
        (["status"], {"ZT_TIMEZONE": "Nowhere/Land"}, "not a time zone"),
    ],
)
def test_user_mistakes_print_one_line(tmp_path, monkeypatch, capsys, argv, env, fragment):
    monkeypatch.setenv("ZT_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("ZT_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("ZT_WAREHOUSE", str(tmp_path / "wh" / "zt.duckdb"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
