"""A GX expectation that a column holds valid GB 11643 resident ID numbers.

The check (17 digits, then the ISO 7064 MOD 11-2 check character) is done
with numpy over the whole column, so a million-row partition costs a fraction
of a second. Importing this module registers the metric and the expectation
with Great Expectations; :mod:`zhongtai.quality.suites` imports it lazily.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from zhongtai.ids.resident_id import check_chars_np

_FORMAT = r"[0-9]{17}[0-9X]"


def valid_resident_ids(values: pd.Series) -> pd.Series:
    """True where a value is an 18-character resident ID with the right check character.

    Args:
        values: a column of strings (nulls are judged invalid; GX skips them anyway).

    Returns:
        A boolean Series aligned with ``values``.
    """
    s = values.astype("string")
    ok = s.str.fullmatch(_FORMAT).fillna(False).astype(bool).to_numpy()
    out = np.zeros(len(s), dtype=bool)
    if ok.any():
        good = s[ok].to_numpy(dtype=object)
        raw = np.frombuffer("".join(good).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        digits = raw[:, :17] - ord("0")
        out[ok] = check_chars_np(digits) == raw[:, 17]
    return pd.Series(out, index=values.index)


class ColumnValuesValidResidentId(ColumnMapMetricProvider):
    """Metric: the value is a valid 18-character resident ID (GB 11643)."""

    condition_metric_name = "column_values.zt_valid_resident_id"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        return valid_resident_ids(column)


class ExpectColumnValuesToBeValidResidentId(ColumnMapExpectation):
    """Expect column values to be valid 18-character resident IDs (GB 11643 check character)."""

    map_metric = "column_values.zt_valid_resident_id"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict[str, str | list[str] | bool]] = {
        "maturity": "production",
        "tags": ["zhongtai", "identity"],
        "contributors": ["zhongtai"],
        "requirements": [],
        "has_full_test_suite": False,
        "manually_reviewed_code": True,
    }
