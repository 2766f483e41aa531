"""The GX data context: committed config in ``expectations/``, everything generated under state.

``expectations/great_expectations.yml`` is the project's GX configuration,
written from :data:`PROJECT_CONFIG` when missing. Suites are generated from
the contracts on every run, so all stores are in memory; the only files GX
writes are the Data Docs, under ``<state>/gx/`` and never in the repository.
Each validated partition gets its own Data Docs site, so parallel validations
of different feeds never write the same file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from zhongtai import paths
from zhongtai.errors import ConfigError
from zhongtai.settings import Settings

if TYPE_CHECKING:
    from great_expectations.data_context import EphemeralDataContext

CONFIG_FILE = "great_expectations.yml"
DOCS_SITE = "local_site"

PROJECT_CONFIG: dict[str, Any] = {
    "config_version": 4.0,
    "analytics_enabled": False,
    "progress_bars": {"globally": False, "metric_calculations": False},
    "stores": {
        name: {"class_name": cls, "store_backend": {"class_name": "InMemoryStoreBackend"}}
        for name, cls in (
            ("expectations_store", "ExpectationsStore"),
            ("validation_results_store", "ValidationResultsStore"),
            ("checkpoint_store", "CheckpointStore"),
            ("validation_definition_store", "ValidationDefinitionStore"),
        )
    },
    "expectations_store_name": "expectations_store",
    "validation_results_store_name": "validation_results_store",
    "checkpoint_store_name": "checkpoint_store",
    "data_docs_sites": {
        DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                # Relative to <state>/gx; one sub-site per zone, feed and date.
                "base_directory": "uncommitted/data_docs/",
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    },
}

_HEADER = """\
# Great Expectations project configuration of zhongtai (GX 1.x, config_version 4).
# Written by zhongtai.quality.context when missing; edit with care.
# Suites are NOT stored here: they are generated from data_contracts/ on every run
# (zhongtai/quality/suites.py). Stores are in memory; Data Docs are rendered under
# <ZT_STATE>/gx/uncommitted/data_docs/<zone>_<feed>/date=D/ (never in this folder).
"""


def ensure_project_config(directory: Path | None = None) -> Path:
    """Write ``expectations/great_expectations.yml`` if it is missing; return its path."""
    d = directory or paths.EXPECTATIONS_DIR
    path = d / CONFIG_FILE
    if not path.exists():
        d.mkdir(parents=True, exist_ok=True)
        body = yaml.safe_dump(PROJECT_CONFIG, sort_keys=False, allow_unicode=True)
        path.write_text(_HEADER + body, encoding="utf-8")
    return path


def load_project_config(directory: Path | None = None) -> dict[str, Any]:
    """The committed GX configuration as a dict (created from the default if missing)."""
    path = ensure_project_config(directory)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read {path}: {e}; delete it to regenerate the default") from None
    if not isinstance(doc, dict) or DOCS_SITE not in (doc.get("data_docs_sites") or {}):
        raise ConfigError(
            f"{path} must be a mapping with data_docs_sites.{DOCS_SITE}; "
            "delete it to regenerate the default"
        )
    return doc


def gx_root(settings: Settings) -> Path:
    """Where GX writes for this deployment: ``<state>/gx``."""
    return settings.state_path / "gx"


def docs_dir(settings: Settings, site: str) -> Path:
    """The Data Docs folder of one site (e.g. ``raw_population/date=2026-11-01``)."""
    doc = load_project_config()
    base = doc["data_docs_sites"][DOCS_SITE]["store_backend"]["base_directory"]
    root = Path(base) if Path(base).is_absolute() else gx_root(settings) / base
    return root / site


def make_context(settings: Settings, site: str) -> EphemeralDataContext:
    """An in-memory GX context whose Data Docs go to :func:`docs_dir` of ``site``."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig

    doc = load_project_config()
    site_cfg = dict(doc["data_docs_sites"][DOCS_SITE])
    site_cfg["store_backend"] = {
        **site_cfg["store_backend"],
        "base_directory": str(docs_dir(settings, site)),
    }
    cfg = {k: v for k, v in doc.items() if k != "data_docs_sites"}
    cfg["data_docs_sites"] = {DOCS_SITE: site_cfg}
    cfg["analytics_enabled"] = False
    return gx.get_context(project_config=DataContextConfig(**cfg), mode="ephemeral")
