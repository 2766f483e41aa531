"""One connection to the warehouse: a DuckDB file (default) or a Postgres DSN.

The rest of the package talks to :class:`Warehouse` only, so loading and reading
marts are the same code on both engines. DuckDB and psycopg2 are imported lazily.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from zhongtai.errors import ConfigError, ZhongtaiError
from zhongtai.settings import Settings

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote a schema, table or column name after checking it is a plain identifier.

    Args:
        name: lower-case identifier.

    Returns:
        The identifier in double quotes.

    Raises:
        ZhongtaiError: when the name is not a plain lower-case identifier.
    """
    if not _IDENT.match(name):
        raise ZhongtaiError(f"{name!r} is not a plain lower-case SQL identifier")
    return f'"{name}"'


def postgres_type(t: pa.DataType) -> str:
    """The Postgres column type for an Arrow type used in the ``lake`` schema."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    raise ZhongtaiError(f"no Postgres type for Arrow type {t}; cast it to a plain type first")


class Warehouse:
    """An open warehouse connection (DuckDB or Postgres)."""

    def __init__(self, kind: str, conn: Any):
        self.kind = kind
        self.conn = conn

    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing."""
        if self.kind == "duckdb":
            self.conn.execute(sql)
        else:
            with self.conn.cursor() as cur:
                cur.execute(sql)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts.

        Args:
            sql: one statement; with ``params``, ``?`` marks each bound value (no ``%``
                or other ``?`` in the text then).
            params: values bound to the ``?`` placeholders, in order.
        """
        if self.kind == "duckdb":
            rel = self.conn.execute(sql, list(params)) if params else self.conn.execute(sql)
            cols = [d[0] for d in rel.description]
            return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]
        with self.conn.cursor() as cur:
            if params:
                cur.execute(sql.replace("?", "%s"), tuple(params))
            else:
                cur.execute(sql)
            if cur.description is None:
                return []
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def ensure_schema(self, schema: str) -> None:
        """Create a schema if it does not exist."""
        self.execute(f"create schema if not exists {quote_ident(schema)}")

    def drop_if_exists(self, kind: str, schema: str, name: str) -> None:
        """Drop a table or view if it exists (on Postgres with what depends on it).

        Args:
            kind: ``table`` or ``view``.
            schema: its schema (need not exist).
            name: its name.
        """
        if kind not in ("table", "view"):
            raise ZhongtaiError(f"cannot drop a {kind!r}: only a table or a view")
        target = f"{quote_ident(schema)}.{quote_ident(name)}"
        cascade = " cascade" if self.kind == "postgres" else ""
        self.execute(f"drop {kind} if exists {target}{cascade}")

    def grant_read(self, schema: str, role: str) -> bool:
        """Grant a Postgres role read on a schema and every table in it, if the role exists.

        DuckDB has no roles: nothing to do there. Run after the tables are (re)created:
        a replaced table loses the grants of the one it replaced.

        Args:
            schema: the schema to open for reading.
            role: the role (e.g. ``analyst`` of infra/postgres/init.sql).

        Returns:
            True when the grant was made, False on DuckDB or when the role does not exist.
        """
        if self.kind != "postgres":
            return False
        if not self.query("select 1 as found from pg_roles where rolname = ?", [role]):
            return False
        s, r = quote_ident(schema), quote_ident(role)
        self.execute(f"grant usage on schema {s} to {r}")
        self.execute(f"grant select on all tables in schema {s} to {r}")
        return True

    def replace_table(self, schema: str, name: str, table: pa.Table) -> int:
        """Replace ``schema.name`` with the rows of an Arrow table; return the row count."""
        target = f"{quote_ident(schema)}.{quote_ident(name)}"
        if self.kind == "duckdb":
            self.conn.register("_zt_incoming", table)
            try:
                self.conn.execute(f"create or replace table {target} as select * from _zt_incoming")
            finally:
                self.conn.unregister("_zt_incoming")
            return table.num_rows
        import pyarrow.csv as pacsv

        cols = ", ".join(f"{quote_ident(f.name)} {postgres_type(f.type)}" for f in table.schema)
        buf = io.BytesIO()
        if table.num_rows:
            # pyarrow 26's CSV writer emits NUL bytes when a column's first chunk is empty
            # (a partition's empty first file); one contiguous chunk writes correctly
            pacsv.write_csv(table.combine_chunks(), buf, pacsv.WriteOptions(include_header=False))
        buf.seek(0)
        with self.conn.cursor() as cur:
            cur.execute(f"drop table if exists {target} cascade")
            cur.execute(f"create table {target} ({cols})")
            if table.num_rows:
                cur.copy_expert(f"copy {target} from stdin with (format csv)", buf)
        return table.num_rows

    def commit(self) -> None:
        """Commit (Postgres); DuckDB runs in auto-commit."""
        if self.kind == "postgres":
            self.conn.commit()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def open_warehouse(settings: Settings, read_only: bool = False) -> Warehouse:
    """Open the warehouse named by ``settings.warehouse``.

    Args:
        settings: platform settings; ``warehouse`` is a DuckDB path or a postgresql:// DSN.
        read_only: open DuckDB read-only (several readers may share the file).

    Returns:
        An open :class:`Warehouse`; close it when done (or use :func:`connect`).

    Raises:
        ConfigError: when the warehouse cannot be opened.
    """
    if settings.warehouse_kind == "postgres":
        import psycopg2

        try:
            conn = psycopg2.connect(settings.warehouse)
        except psycopg2.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(
                f"cannot connect to the Postgres warehouse ({first}); check ZT_WAREHOUSE "
                "and that the server is running"
            ) from None
        return Warehouse("postgres", conn)
    import duckdb

    path = Path(settings.warehouse)
    if read_only and not path.exists():
        raise ZhongtaiError(
            f"the warehouse {path} does not exist yet; run load_warehouse / build_marts first"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
        except duckdb.ConnectionException as e:
            # this process already holds the file read-write (dbt-duckdb keeps its connection
            # open after a build); DuckDB then refuses a read-only second configuration
            if not (read_only and "different configuration" in str(e)):
                raise
            conn = duckdb.connect(str(path))
    except duckdb.Error as e:
        raise ConfigError(
            f"cannot open the DuckDB warehouse {path}: {e}; is another process writing it?"
        ) from None
    return Warehouse("duckdb", conn)


@contextmanager
def connect(settings: Settings, read_only: bool = False) -> Iterator[Warehouse]:
    """Open the warehouse for a block; commit on success, close always."""
    wh = open_warehouse(settings, read_only=read_only)
    try:
        yield wh
        wh.commit()
    finally:
        wh.close()
