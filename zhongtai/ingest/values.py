"""Type delivered values by the contract, vectorised with pyarrow.compute and numpy.

Every function takes the delivered column (strings from text formats, or typed
values from Parquet/XLSX) and returns a :class:`Typed`: the typed Arrow array
(null where the value is missing or could not be typed), a mask of values that
were delivered but failed, a reason code for them, and the delivered text.

Dates and times accept ``2022-09-09``, ``2022/9/9``, ``2022.9.9``, ``20220909``,
``2022年9月9日`` (with optional ``8时30分`` or ``08:30[:00[.ffffff]]``), ISO
``T`` forms with ``Z`` or an offset, and Excel serial numbers (five digits,
optional fraction). Naive times are local to the business time zone. Impossible
dates (30 February, month 13) fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.contracts.model import Column

NULL_TOKENS = ["null", "none", "nan", "nat", "\\n", "n/a", "#n/a", "-", "--", "无"]

_TZ = r"\s*(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
_DELIMITED = (
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})"
    r"(?:\s*[:分]\s*(?P<S>\d{1,2})(?:[.,](?P<f>\d{1,9}))?\s*秒?)?\s*分?)?" + _TZ + "$"
)
_COMPACT = (
    r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"
    r"(?:[\sT]*(?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?" + _TZ + "$"
)
_SERIAL = r"^\d{5}(?:\.\d+)?$"
_INTEGER = r"^[+-]?\d{1,18}(?:\.0*)?$"
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_US_PER_DAY = 86_400_000_000
_EXCEL_EPOCH_DAYS = 25_569  # 1970-01-01 as an Excel serial


@dataclass
class Typed:
    """A column after typing.

    Attributes:
        values: typed values; null where missing or failed.
        failed: True where a value was delivered but could not be typed or mapped.
        reason: reason code for ``failed`` rows.
        text: the delivered value as text (null where nothing was delivered).
    """

    values: pa.Array
    failed: np.ndarray
    reason: str
    text: pa.Array


def _arr(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        return a.combine_chunks() if a.num_chunks != 1 else a.chunk(0)
    return a


def as_text(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The delivered values as strings; integral floats become their integer digits."""
    a = _arr(a)
    t = a.type
    if pa.types.is_string(t):
        return a
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return a.cast(pa.string())
    if pa.types.is_dictionary(t):
        return as_text(a.cast(t.value_type))
    if pa.types.is_floating(t):
        f = a.cast(pa.float64())
        fin = pc.and_(pc.is_finite(f), pc.less(pc.abs(f), 2.0**63))
        integral = pc.fill_null(pc.and_(fin, pc.equal(pc.floor(f), f)), False)
        as_int = pc.if_else(integral, f, 0.0).cast(pa.int64()).cast(pa.string())
        return pc.if_else(integral, as_int, f.cast(pa.string()))
    if pa.types.is_timestamp(t):
        if t.tz:
            return pc.strftime(a, format="%Y-%m-%dT%H:%M:%S%z")
        return pc.strftime(a, format="%Y-%m-%dT%H:%M:%S")
    try:
        return a.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        import json

        return pa.array(
            [
                None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                for v in a.to_pylist()
            ],
            pa.string(),
        )


def _clean(text: pa.Array, nfkc: bool) -> pa.Array:
    s = pc.utf8_trim_whitespace(text)
    if nfkc:
        s = pc.utf8_trim_whitespace(pc.utf8_normalize(s, "NFKC"))
    empty = pc.or_kleene(pc.equal(s, ""), pc.is_in(pc.utf8_lower(s), pa.array(NULL_TOKENS)))
    return pc.if_else(empty, pa.scalar(None, pa.string()), s)


def _np_bool(a: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(a, False).to_numpy(zero_copy_only=False), dtype=bool)


def _failed(delivered: pa.Array, values: pa.Array) -> np.ndarray:
    return _np_bool(pc.and_(pc.is_valid(delivered), pc.is_null(values)))


def type_string(a: pa.Array | pa.ChunkedArray) -> Typed:
    """Strings are kept verbatim, trimmed; blank becomes null."""
    text = as_text(a)
    s = pc.utf8_trim_whitespace(text)
    s = pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)
    return Typed(s, np.zeros(len(s), dtype=bool), "", text)


def type_enum(a: pa.Array | pa.ChunkedArray, column: Column) -> Typed:
    """Map delivered spellings to the canonical value via the contract's enum synonyms."""
    text = as_text(a)
    s = _clean(text, nfkc=False)
    keys = list(column.value_synonyms)
    values = pa.array([column.value_synonyms[k] for k in keys], pa.string())
    idx = pc.index_in(pc.utf8_lower(s), value_set=pa.array(keys, pa.string()))
    nf = pc.utf8_lower(pc.utf8_normalize(s, "NFKC"))
    idx = pc.coalesce(idx, pc.index_in(nf, value_set=pa.array(keys, pa.string())))
    mapped = pc.take(values, idx)
    return Typed(mapped, _failed(s, mapped), "not_allowed", text)


def type_integer(a: pa.Array | pa.ChunkedArray) -> Typed:
    """Integers: digits, optionally ``.0``; integral floats from spreadsheets."""
    a = _arr(a)
    if pa.types.is_integer(a.type):
        return Typed(a.cast(pa.int64()), np.zeros(len(a), bool), "bad_integer", as_text(a))
    text = as_text(a)
    s = _clean(text, nfkc=True)
    ok = pc.fill_null(pc.match_substring_regex(s, _INTEGER), False)
    digits = pc.replace_substring_regex(pc.if_else(ok, s, "0"), r"\.0*$", "")
    v = pc.if_else(ok, digits.cast(pa.int64()), pa.scalar(None, pa.int64()))
    return Typed(v, _failed(s, v), "bad_integer", text)


def type_number(a: pa.Array | pa.ChunkedArray) -> Typed:
    """Decimal numbers as float64."""
    a = _arr(a)
    if pa.types.is_integer(a.type) or pa.types.is_floating(a.type):
        return Typed(a.cast(pa.float64()), np.zeros(len(a), bool), "bad_number", as_text(a))
    text = as_text(a)
    s = _clean(text, nfkc=True)
    ok = pc.fill_null(pc.match_substring_regex(s, _NUMBER), False)
    v = pc.if_else(ok, pc.if_else(ok, s, "0").cast(pa.float64()), pa.scalar(None, pa.float64()))
    return Typed(v, _failed(s, v), "bad_number", text)


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (vectorised)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    table = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    dim = table[np.clip(m, 1, 12) - 1]
    return dim + ((m == 2) & leap)


def _np_int(a: pa.Array) -> np.ndarray:
    return np.asarray(
        pc.fill_null(a.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )


def _field_int(struct: pa.Array, name: str, default: int = 0) -> np.ndarray:
    f = pc.struct_field(struct, name)
    f = pc.if_else(pc.or_kleene(pc.is_null(f), pc.equal(f, "")), str(default), f)
    return np.asarray(f.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


@dataclass
class _Parsed:
    local_us: np.ndarray  # naive local microseconds since epoch
    offset_min: np.ndarray  # offset minutes where a zone was given
    has_zone: np.ndarray
    ok: np.ndarray


def _parse_datetimes(s: pa.Array) -> _Parsed:
    n = len(s)
    local_us = np.zeros(n, dtype=np.int64)
    offset = np.zeros(n, dtype=np.int64)
    has_zone = np.zeros(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    for pattern in (_DELIMITED, _COMPACT):
        if s.null_count == len(s):
            break
        st = pc.extract_regex(s, pattern)
        hit = _np_bool(pc.is_valid(st)) & ~ok
        if not hit.any():
            continue
        y, m, d = (_field_int(st, k) for k in ("y", "m", "d"))
        hh, mi, ss = (_field_int(st, k) for k in ("H", "M", "S"))
        frac = pc.utf8_slice_codeunits(
            pc.utf8_rpad(pc.fill_null(pc.struct_field(st, "f"), ""), 6, "0"), 0, 6
        )
        us = np.asarray(frac.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        valid = (
            (m >= 1)
            & (m <= 12)
            & (d >= 1)
            & (d <= _days_in_month(y, m))
            & (hh < 24)
            & (mi < 60)
            & (ss < 60)
        )
        days = days_from_civil(y, np.clip(m, 1, 12), d)
        t = days * _US_PER_DAY + ((hh * 60 + mi) * 60 + ss) * 1_000_000 + us
        z = pc.fill_null(pc.struct_field(st, "z"), "")
        zone = _np_bool(pc.not_equal(z, ""))
        digits = pc.replace_substring(z, ":", "")
        hours = pc.utf8_slice_codeunits(digits, 1, 3)
        mins = pc.utf8_slice_codeunits(digits, 3, 5)
        numeric = pc.and_(pc.not_equal(hours, ""), pc.not_equal(z, "Z"))
        h_off = _np_int(pc.if_else(numeric, hours, "0"))
        m_off = _np_int(pc.if_else(pc.equal(mins, ""), "0", mins))
        sign = np.where(_np_bool(pc.starts_with(z, "-")), -1, 1)
        off = np.where(
            zone & ~_np_bool(pc.is_in(z, pa.array(["Z", "z"]))), sign * (h_off * 60 + m_off), 0
        )
        sel = hit & valid
        local_us[sel] = t[sel]
        offset[sel] = off[sel]
        has_zone[sel] = zone[sel]
        ok |= sel
        # done, or matched but impossible: a looser pattern must not retry it
        s = pc.if_else(pa.array(hit), pa.scalar(None, pa.string()), s)
    serial_hit = _np_bool(pc.match_substring_regex(s, _SERIAL)) & ~ok
    if serial_hit.any():
        f = np.asarray(
            pc.if_else(pa.array(serial_hit), s, "0")
            .cast(pa.float64())
            .to_numpy(zero_copy_only=False),
            dtype=np.float64,
        )
        secs = np.rint((f - _EXCEL_EPOCH_DAYS) * 86_400).astype(np.int64)
        local_us[serial_hit] = secs[serial_hit] * 1_000_000
        ok |= serial_hit
    return _Parsed(local_us, offset, has_zone, ok)


def _utc_from_local(local_us: np.ndarray, mask: np.ndarray, tz: str) -> np.ndarray:
    naive = pa.array(local_us, pa.timestamp("us"), mask=~mask)
    aware = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return np.asarray(
        aware.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
    )


def type_timestamp(a: pa.Array | pa.ChunkedArray, tz: str) -> Typed:
    """Timestamps as ``timestamp[us, UTC]``; naive values are local to ``tz``."""
    a = _arr(a)
    t = a.type
    utc = pa.timestamp("us", tz="UTC")
    if pa.types.is_timestamp(t):
        v = (
            a
            if t.tz
            else pc.assume_timezone(a, timezone=tz, ambiguous="earliest", nonexistent="earliest")
        )
        return Typed(v.cast(utc), np.zeros(len(a), bool), "bad_timestamp", as_text(a))
    if pa.types.is_date(t):
        naive = a.cast(pa.timestamp("us"))
        v = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest")
        return Typed(v.cast(utc), np.zeros(len(a), bool), "bad_timestamp", as_text(a))
    text = as_text(a)
    s = _clean(text, nfkc=True)
    p = _parse_datetimes(s)
    naive_rows = p.ok & ~p.has_zone
    out = np.zeros(len(s), dtype=np.int64)
    if naive_rows.any():
        out = np.where(naive_rows, _utc_from_local(p.local_us, naive_rows, tz), out)
    zoned = p.ok & p.has_zone
    out = np.where(zoned, p.local_us - p.offset_min * 60_000_000, out)
    v = pa.array(out, pa.int64(), mask=~p.ok).cast(utc)
    return Typed(v, _failed(s, v), "bad_timestamp", text)


def type_date(a: pa.Array | pa.ChunkedArray, tz: str) -> Typed:
    """Dates as ``date32``; a value with a zone is converted to the local date."""
    a = _arr(a)
    t = a.type
    if pa.types.is_date(t):
        return Typed(a.cast(pa.date32()), np.zeros(len(a), bool), "bad_date", as_text(a))
    if pa.types.is_timestamp(t):
        v = pc.local_timestamp(a.cast(pa.timestamp("us", tz=tz))) if t.tz else a
        return Typed(v.cast(pa.date32()), np.zeros(len(a), bool), "bad_date", as_text(a))
    text = as_text(a)
    s = _clean(text, nfkc=True)
    p = _parse_datetimes(s)
    days = np.floor_divide(p.local_us, _US_PER_DAY)
    zoned = p.ok & p.has_zone
    if zoned.any():
        inst = pa.array(p.local_us - p.offset_min * 60_000_000, pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        )
        local = pc.local_timestamp(inst.cast(pa.timestamp("us", tz=tz)))
        local_days = np.floor_divide(
            np.asarray(local.cast(pa.int64()).to_numpy(zero_copy_only=False)), _US_PER_DAY
        )
        days = np.where(zoned, local_days, days)
    v = pa.array(days.astype(np.int32), pa.int32(), mask=~p.ok).cast(pa.date32())
    return Typed(v, _failed(s, v), "bad_date", text)


_DISTINCT_MIN_ROWS = 4096


def type_column(a: pa.Array | pa.ChunkedArray, column: Column, tz: str) -> Typed:
    """Type one delivered column by its contract column.

    Delivered text repeats a lot (times to the minute, dates, codes, enum
    spellings), and typing is a function of the value alone, so a text column
    is typed once per distinct value and the result is spread back by index.
    """
    a = _arr(a)
    if (
        len(a) >= _DISTINCT_MIN_ROWS
        and pa.types.is_string(a.type)
        and (column.allowed_values or column.logical_type != "string")
    ):
        enc = pc.dictionary_encode(a, null_encoding="encode")
        if 2 * len(enc.dictionary) <= len(a):
            typed = _type_values(enc.dictionary, column, tz)
            idx = enc.indices
            failed = typed.failed[np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)]
            return Typed(typed.values.take(idx), failed, typed.reason, a)
    return _type_values(a, column, tz)


def _type_values(a: pa.Array, column: Column, tz: str) -> Typed:
    if column.allowed_values:
        return type_enum(a, column)
    lt = column.logical_type
    if lt == "date":
        return type_date(a, tz)
    if lt == "timestamp":
        return type_timestamp(a, tz)
    if lt == "integer":
        return type_integer(a)
    if lt == "number":
        return type_number(a)
    return type_string(a)


def arrow_type(column: Column) -> pa.DataType:
    """The raw-zone Arrow type of a contract column."""
    return {
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
    }.get(column.logical_type, pa.string())
