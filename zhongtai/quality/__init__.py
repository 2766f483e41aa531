"""Great Expectations validation of the lake zones, with suites built from the contracts.

Great Expectations itself is imported only when a suite is built or a
partition validated, so importing this package stays cheap.
"""

from zhongtai.quality.suites import build_suite, expected_columns, suite_name
from zhongtai.quality.validate import (
    ExpectationOutcome,
    ValidationFailed,
    ValidationReport,
    validate_frame,
    validate_partition,
)

__all__ = [
    "ExpectationOutcome",
    "ValidationFailed",
    "ValidationReport",
    "build_suite",
    "expected_columns",
    "suite_name",
    "validate_frame",
    "validate_partition",
]
