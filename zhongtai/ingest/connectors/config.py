"""Per-source connector configuration: ``connectors.yaml`` at the path in ``ZT_CONNECTORS``.

The file maps feed → source → how that source's data is pulled into landing::

    version: 1
    connectors:
      population:
        hukou:
          kind: postgres_table          # folder | postgres_table | http_api
          dsn_env: HUKOU_DB_DSN         # the DSN is read from this environment variable
          table: public.persons
          watermark_column: updated_at
        census:
          kind: folder
          path: /srv/drop/census
      nucleic_acid:
        city:
          kind: http_api
          base_url: https://api.example.gov.cn/v1/tests
          token_env: CITY_API_TOKEN     # the token is read from this environment variable
          page_size: 500

A source that is not configured delivers its files straight into landing (the
default). Credentials are never literal: the file names environment variables
(``dsn_env``, ``token_env``), and keys such as ``password`` or ``token`` are refused.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.ingest.connectors.state import PullReport, require_source
from zhongtai.settings import Settings

ENV_VAR = "ZT_CONNECTORS"
KINDS = ("folder", "postgres_table", "http_api")

# option name -> expected type ("str", "int", "float", "strs" = list of str, "map" = str→str)
_OPTIONS: dict[str, dict[str, str]] = {
    "folder": {"path": "str"},
    "postgres_table": {
        "dsn_env": "str",
        "table": "str",
        "watermark_column": "str",
        "batch_rows": "int",
        "key_columns": "strs",
        "columns": "strs",
        "max_rows_per_file": "int",
        "name": "str",
    },
    "http_api": {
        "base_url": "str",
        "token_env": "str",
        "page_size": "int",
        "max_retries": "int",
        "backoff_base": "float",
        "timeout": "float",
        "items_field": "str",
        "cursor_field": "str",
        "cursor_param": "str",
        "limit_param": "str",
        "date_param": "str",
        "params": "map",
        "auth_header": "str",
        "auth_scheme": "str",
        "max_backoff": "float",
        "max_retry_after": "float",
        "max_pages": "int",
        "name": "str",
    },
}
_REQUIRED = {"folder": ("path",), "postgres_table": ("dsn_env", "table"), "http_api": ("base_url",)}
_SECRET_KEYS = ("password", "passwd", "secret", "token", "api_key", "apikey", "dsn", "credential")


@dataclass(frozen=True)
class ConnectorSpec:
    """How one (feed, source) is pulled.

    Attributes:
        feed: contract id.
        source: the sending system.
        kind: ``folder``, ``postgres_table`` or ``http_api``.
        options: the kind's options, validated (no secrets: only env variable names).
    """

    feed: str
    source: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


def load_connectors(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[tuple[str, str], ConnectorSpec]:
    """Read and validate the connector configuration.

    Args:
        path: the YAML file; default: the path in ``ZT_CONNECTORS``.
        environ: environment for ``ZT_CONNECTORS`` (default: ``os.environ``).

    Returns:
        (feed, source) → spec; empty when no file is configured.

    Raises:
        ConfigError: unreadable file, unknown feed/source/kind/option, wrong option
            type, missing required option, or a literal credential.
    """
    env = os.environ if environ is None else environ
    if path is None:
        path = env.get(ENV_VAR) or None
        if path is None:
            return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{ENV_VAR}: connector file {p} not found; fix the path or unset it")
    import yaml

    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{p} is not valid YAML{at}; fix the file") from None
    return parse_connectors(doc, str(p))


def parse_connectors(
    doc: Any, where: str = "connectors.yaml"
) -> dict[tuple[str, str], ConnectorSpec]:
    """Validate an already-parsed configuration document (see :func:`load_connectors`)."""
    if doc is None:
        return {}
    if not isinstance(doc, dict) or set(doc) - {"version", "connectors"}:
        raise ConfigError(f"{where}: expected top-level keys 'version: 1' and 'connectors:'")
    if doc.get("version", 1) != 1:
        raise ConfigError(f"{where}: version {doc.get('version')!r} is not supported; use 1")
    feeds = doc.get("connectors") or {}
    if not isinstance(feeds, dict):
        raise ConfigError(f"{where}: 'connectors' must map feed → source → options")
    out: dict[tuple[str, str], ConnectorSpec] = {}
    for feed, sources in feeds.items():
        if not isinstance(sources, dict):
            raise ConfigError(f"{where}: connectors.{feed} must map source → options")
        for source, opts in sources.items():
            out[(str(feed), str(source))] = _spec(str(feed), str(source), opts, where)
    return out


def _spec(feed: str, source: str, opts: Any, where: str) -> ConnectorSpec:
    at = f"{where}: connectors.{feed}.{source}"
    try:
        require_source(feed, source)
    except ZhongtaiError as e:
        raise ConfigError(f"{at}: {e}") from None
    if not isinstance(opts, dict) or "kind" not in opts:
        raise ConfigError(f"{at} needs 'kind: {' | '.join(KINDS)}' and its options")
    kind = opts["kind"]
    if kind not in KINDS:
        raise ConfigError(f"{at}: kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
    allowed = _OPTIONS[kind]
    options: dict[str, Any] = {}
    for key, value in opts.items():
        if key == "kind":
            continue
        low = str(key).lower()
        if key not in allowed and any(s in low for s in _SECRET_KEYS):
            env_key = "dsn_env" if kind == "postgres_table" else "token_env"
            raise ConfigError(
                f"{at}.{key}: credentials must not be written in the file; put the value in an "
                f"environment variable and name it in {env_key}"
            )
        if key not in allowed:
            raise ConfigError(
                f"{at}: option {key!r} is unknown for {kind}; use {', '.join(sorted(allowed))}"
            )
        options[key] = _typed(value, allowed[key], f"{at}.{key}")
    missing = [k for k in _REQUIRED[kind] if k not in options]
    if missing:
        raise ConfigError(f"{at}: {kind} needs {', '.join(missing)}")
    if kind == "http_api":
        _check_url(options["base_url"], options.get("params", {}), at)
    return ConnectorSpec(feed, source, kind, options)


def _typed(value: Any, kind: str, at: str) -> Any:
    ok = {
        "str": isinstance(value, str) and value != "",
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "strs": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "map": isinstance(value, dict)
        and all(isinstance(k, str) and isinstance(v, (str, int)) for k, v in value.items()),
    }[kind]
    if not ok:
        expected = {
            "str": "a non-empty text",
            "int": "an integer",
            "float": "a number",
            "strs": "a list of names",
            "map": "a mapping of names to values",
        }[kind]
        raise ConfigError(f"{at} must be {expected}")
    if kind == "float":
        return float(value)
    if kind == "map":
        return {k: str(v) for k, v in value.items()}
    return value


def _check_url(url: str, params: dict[str, str], at: str) -> None:
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{at}.base_url must be an http(s) URL")
    if parts.username or parts.password:
        raise ConfigError(f"{at}.base_url must not carry credentials; use token_env")
    names = [k for k, _ in parse_qsl(parts.query)] + list(params)
    for k in names:
        if any(s in k.lower() for s in _SECRET_KEYS):
            raise ConfigError(
                f"{at}: query parameter {k!r} looks like a credential; put it in an "
                "environment variable named by token_env"
            )


def pull_source(
    settings: Settings,
    spec: ConnectorSpec,
    business_date: dt.date,
    environ: Mapping[str, str] | None = None,
) -> PullReport:
    """Run the configured connector of one (feed, source) for one business date.

    Args:
        settings: platform settings.
        spec: the source's connector (from :func:`load_connectors`).
        business_date: the landing date folder to fill.
        environ: where ``dsn_env`` / ``token_env`` are read (default: ``os.environ``).

    Returns:
        The pull report.

    Raises:
        ZhongtaiError: a named environment variable is unset, or the pull fails.
    """
    env = os.environ if environ is None else environ
    opts = dict(spec.options)
    if spec.kind == "folder":
        from zhongtai.ingest.connectors.folder import land_files

        files = land_files(settings, spec.feed, spec.source, business_date, opts["path"])
        return PullReport(spec.feed, spec.source, business_date, "folder", files=files)
    if spec.kind == "postgres_table":
        from zhongtai.ingest.connectors.postgres_table import pull_postgres_table

        name = opts.pop("dsn_env")
        dsn = env.get(name)
        if not dsn:
            raise ZhongtaiError(
                f"environment variable {name} (the database DSN for {spec.feed}/{spec.source}) "
                "is not set; set it before pulling"
            )
        table = opts.pop("table")
        return pull_postgres_table(settings, spec.feed, spec.source, business_date, dsn, table,
                                   **opts)  # fmt: skip
    from zhongtai.ingest.connectors.http_api import pull_http_api

    base_url = opts.pop("base_url")
    return pull_http_api(
        settings, spec.feed, spec.source, business_date, base_url, environ=env, **opts
    )
