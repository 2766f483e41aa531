"""A stand-in for dbt's ``adapter`` object when sqlfluff renders the models (see .sqlfluff).

``adapter.dispatch(name, package)(*args)`` renders as the call ``name(args)``, which is valid
SQL wherever an expression stands; ``date_spine`` renders as a one-column select from its start.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def _sql(arg: object) -> str:
    text = str(arg)
    # a separator such as ',' or ';' is a string literal in the macro's SQL
    return text if re.search(r"\w", text) else "'" + text.replace("'", "''") + "'"


def dispatch(name: str, package: str | None = None) -> Callable[..., str]:
    """The dbt macro ``name`` as a plain SQL function call (or a select for date_spine)."""

    def render(*args: object) -> str:
        if name == "date_spine":
            return f"select cast({_sql(args[0])} as date) as day"
        return f"{name}({', '.join(_sql(a) for a in args)})"

    return render
