"""Parsing of business dates and date ranges given on the command line."""

from __future__ import annotations

import datetime as dt

from zhongtai.errors import ZhongtaiError

MAX_RANGE_DAYS = 366


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` → date, or a ZhongtaiError that shows the expected form."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ZhongtaiError(
            f"date {text!r} is not in the form YYYY-MM-DD (e.g. 2026-11-01)"
        ) from None


def parse_range(text: str) -> list[dt.date]:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD:YYYY-MM-DD`` (inclusive) → the list of dates."""
    if ":" in text:
        a, _, b = text.partition(":")
        start, end = parse_date(a), parse_date(b)
    else:
        start = end = parse_date(text)
    if end < start:
        raise ZhongtaiError(f"date range {text!r} ends before it starts")
    n = (end - start).days + 1
    if n > MAX_RANGE_DAYS:
        raise ZhongtaiError(f"date range {text!r} spans {n} days; at most {MAX_RANGE_DAYS}")
    return [start + dt.timedelta(days=i) for i in range(n)]
