"""Dirt: the damage real departments do to values, applied to whole arrays at once.

Every function takes clean values, draws which rows get which dirt from the
configured rates, changes those rows, and records ``field:code`` per row in a
:class:`DirtLog`, which becomes the truth's ``dirt`` list. The dirts of one field
exclude each other (one draw per row), so the share of a code among the rows
eligible for it is its configured rate.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from zhongtai.generate.config import DirtConfig
from zhongtai.generate.names import DOT_VARIANTS, REMARKS, tables
from zhongtai.generate.text import replace, zfill
from zhongtai.ids.resident_id import check_chars_np

S = np.strings
FULLWIDTH = str.maketrans("0123456789Xx-", "０１２３４５６７８９Ｘｘ－")
EXCEL_EPOCH_DAYS = -25569  # 1899-12-30 as days since 1970-01-01

# Codes whose original value cannot be restored from the record alone.
IRREPARABLE = frozenset(
    {
        "id_number:typo",
        "id_number:transpose",
        "id_number:excel_sci",
        "id_number:excel_000",
        "id_number:parent_for_child",
        "id_number:other_person",
        "id_number:missing",
        "birth_date:impossible",
        "file:truncated_gzip",
    }
)


class DirtLog:
    """Which dirt went into which row, collected per batch."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._rows: list[np.ndarray] = []
        self._codes: list[str] = []

    def add(self, code: str, rows: np.ndarray) -> None:
        """Record ``code`` for the rows ``rows`` (indices or a boolean mask)."""
        rows = np.nonzero(rows)[0] if rows.dtype == bool else np.asarray(rows, dtype=np.int64)
        if len(rows):
            self._rows.append(rows)
            self._codes.append(code)

    def take(self, order: np.ndarray) -> DirtLog:
        """The log for the rows ``order`` of this batch, in that order (duplicates allowed)."""
        out = DirtLog(len(order))
        pos = np.full(self.n, -1, dtype=np.int64)
        # a row may appear several times in ``order``; map every occurrence
        sort = np.argsort(order, kind="stable")
        sorted_rows = order[sort]
        for rows, code in zip(self._rows, self._codes, strict=True):
            lo = np.searchsorted(sorted_rows, rows, "left")
            hi = np.searchsorted(sorted_rows, rows, "right")
            cnt = hi - lo
            if cnt.sum() == 0:
                continue
            starts = np.repeat(lo, cnt)
            within = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            out.add(code, sort[starts + within])
        del pos
        return out

    def codes(self) -> pa.ListArray:
        """Per row, the list of codes (in the order they were applied)."""
        if not self._rows:
            return pa.ListArray.from_arrays(
                pa.array(np.zeros(self.n + 1, dtype=np.int32)), pa.array([], pa.string())
            )
        rows = np.concatenate(self._rows)
        which = np.concatenate([np.full(len(r), i) for i, r in enumerate(self._rows)])
        order = np.argsort(rows, kind="stable")
        offsets = np.searchsorted(rows[order], np.arange(self.n + 1)).astype(np.int32)
        values = np.array(self._codes)[which[order]]
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))

    def irreparable(self) -> np.ndarray:
        """True for rows with at least one irreparable code."""
        out = np.zeros(self.n, dtype=bool)
        for rows, code in zip(self._rows, self._codes, strict=True):
            if code in IRREPARABLE or code.startswith("file:truncated"):
                out[rows] = True
        return out

    def count(self, code: str) -> int:
        """Rows carrying ``code``."""
        return int(sum(len(r) for r, c in zip(self._rows, self._codes, strict=True) if c == code))


def draw(rng: np.random.Generator, n: int, rates: list[float]) -> np.ndarray:
    """One exclusive draw per row: the index of the chosen rate, or -1 for none."""
    u = rng.random(n)
    edges = np.cumsum(rates)
    k = np.searchsorted(edges, u, side="right")
    return np.where(k < len(rates), k, -1)


def _chars(a: np.ndarray, width: int) -> np.ndarray:
    """An (n, width) uint32 code-point view of fixed-width strings."""
    return np.ascontiguousarray(a.astype(f"U{width}")).view(np.uint32).reshape(len(a), width)


def _from_chars(c: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(c).view(f"U{c.shape[1]}").ravel()


def id_numbers(
    rng: np.random.Generator,
    ids: np.ndarray,
    id_type: np.ndarray,
    cfg: DirtConfig,
    log: DirtLog,
    *,
    child: np.ndarray,
    parent_ids: np.ndarray,
    other_ids: np.ndarray,
    born_19xx: np.ndarray,
) -> np.ndarray:
    """Damage resident ID numbers the ways FEEDS.md lists; other documents stay as they are."""
    out = ids.astype("U24")
    resident = id_type == "resident_id"
    ends_x = S.endswith(ids, "X")
    # a parent's number for a child is decided first, among children only
    pfc = resident & child & (rng.random(len(ids)) < cfg.id_parent_for_child)
    out[pfc] = parent_ids[pfc]
    log.add("id_number:parent_for_child", pfc)
    kinds = [
        ("lowercase_x", cfg.id_lowercase_x, ends_x),
        ("fullwidth", cfg.id_fullwidth, None),
        ("spaces", cfg.id_spaces, None),
        ("legacy15", cfg.id_legacy15, born_19xx),
        ("typo", cfg.id_typo, None),
        ("transpose", cfg.id_transpose, None),
        ("excel_sci", cfg.id_excel_sci, None),
        ("excel_000", cfg.id_excel_000, None),
        ("apostrophe", cfg.id_apostrophe, None),
        ("other_person", cfg.id_other_person, None),
        ("missing", cfg.id_missing, None),
    ]
    k = draw(rng, len(ids), [r for _, r, _ in kinds])
    for i, (code, _, eligible) in enumerate(kinds):
        m = (k == i) & resident & ~pfc
        if eligible is not None:
            m &= eligible
        idx = np.nonzero(m)[0]
        if not len(idx):
            continue
        v = ids[idx].astype("U18")
        if code == "lowercase_x":
            new = replace(v, "X", "x")
        elif code == "fullwidth":
            new = S.translate(v, FULLWIDTH)
        elif code == "spaces":
            sep = np.where(rng.random(len(idx)) < 0.5, " ", "-")
            new = S.add(
                S.add(S.add(S.slice(v, 0, 6), sep), S.add(S.slice(v, 6, 14), sep)),
                S.slice(v, 14, 18),
            )
        elif code == "legacy15":
            new = S.add(S.slice(v, 0, 6), S.slice(v, 8, 17))
        elif code == "typo":
            c = _chars(v, 18)
            pos = rng.integers(0, 17, len(idx))
            digit = c[np.arange(len(idx)), pos] - ord("0")
            c[np.arange(len(idx)), pos] = (digit + rng.integers(1, 10, len(idx))) % 10 + ord("0")
            new = _from_chars(c)
        elif code == "transpose":
            c = _chars(v, 18)
            r = np.arange(len(idx))
            pos = rng.integers(0, 16, len(idx))
            for _ in range(16):
                same = c[r, pos] == c[r, pos + 1]
                if not same.any():
                    break
                pos = np.where(same, (pos + 1) % 16, pos)
            ok = c[r, pos] != c[r, pos + 1]
            a, b = c[r, pos].copy(), c[r, pos + 1].copy()
            c[r, pos], c[r, pos + 1] = np.where(ok, b, a), np.where(ok, a, b)
            new = _from_chars(c)
            idx, new = idx[ok], new[ok]
        elif code == "excel_sci":
            new = S.add(S.add(S.slice(v, 0, 1), "."), S.add(S.slice(v, 1, 6), "E+17"))
        elif code == "excel_000":
            new = S.add(S.slice(v, 0, 15), "000")
        elif code == "apostrophe":
            new = S.add("'", v)
        elif code == "other_person":
            new = other_ids[idx]
        else:
            new = np.full(len(idx), "")
        if code == "excel_000":
            # zeros that happen to give a valid number (or change nothing) are not this dirt
            c = _chars(new, 18) - ord("0")
            valid = (c[:, :17] >= 0).all(axis=1) & (
                check_chars_np(np.clip(c[:, :17], 0, 9)) == c[:, 17] + ord("0")
            )
            keep = ~valid & (new != v)
            idx, new = idx[keep], new[keep]
        out[idx] = new
        log.add(f"id_number:{code}", idx)
    return out


def names(
    rng: np.random.Generator,
    clean: np.ndarray,
    surname: np.ndarray,
    given1: np.ndarray,
    given2: np.ndarray,
    minority: np.ndarray,
    cfg: DirtConfig,
    log: DirtLog,
) -> np.ndarray:
    """Traditional characters, homophones, spaces, pinyin, remarks, other dots in minority names."""
    t = tables()
    out = clean.astype("U40")
    han = minority < 0
    kinds = [
        ("traditional", cfg.name_traditional),
        ("homophone", cfg.name_homophone),
        ("spaces", cfg.name_spaces),
        ("pinyin", cfg.name_pinyin),
        ("remark", cfg.name_remark),
    ]
    k = draw(rng, len(clean), [r for _, r in kinds])
    for i, (code, _) in enumerate(kinds):
        m = k == i
        if code in ("traditional", "homophone", "pinyin"):
            m &= han
        idx = np.nonzero(m)[0]
        if not len(idx):
            continue
        s, g1, g2 = surname[idx], given1[idx], given2[idx]
        if code == "traditional":
            new = S.add(S.add(t.surname_trad[s], t.given_trad[g1]), t.given_trad[g2])
        elif code == "homophone":
            first = t.has_homo[g1]
            a = np.where(first, t.given_homo[g1], t.given[g1])
            b = np.where(first, t.given[g2], t.given_homo[g2])
            new = S.add(S.add(t.surname[s], a), b)
        elif code == "spaces":
            v = clean[idx]
            new = np.where(
                han[idx],
                S.add(S.add(t.surname[s], " "), S.add(t.given[g1], t.given[g2])),
                replace(v, "·", " · "),
            )
        elif code == "pinyin":
            py = S.add(t.given_py[g1], t.given_py[g2])
            upper = rng.random(len(idx)) < 0.3
            new = S.add(S.add(t.surname_py[s], " "), S.capitalize(py))
            new = np.where(upper, S.upper(new), new)
        else:
            rem = np.array(REMARKS)[rng.integers(0, len(REMARKS), len(idx))]
            new = S.add(clean[idx], rem)
        changed = new != clean[idx]
        out[idx[changed]] = new[changed]
        log.add(f"name:{code}", idx[changed])
    dots = np.nonzero(~han & (k == -1) & (rng.random(len(clean)) < cfg.name_dot_variant))[0]
    if len(dots):
        variant = np.array(DOT_VARIANTS)[rng.integers(0, len(DOT_VARIANTS), len(dots))]
        for v in DOT_VARIANTS:
            sel = dots[variant == v]
            out[sel] = replace(clean[sel], "·", v)
        log.add("name:dot_variant", dots)
    return out


def phones(
    rng: np.random.Generator, clean: np.ndarray, landline: np.ndarray, cfg: DirtConfig, log: DirtLog
) -> np.ndarray:
    """``+86``, ``0086``, spaces or dashes in mobile numbers; missing phones."""
    out = clean.astype("U20")
    kinds = [
        ("plus86", cfg.phone_plus86),
        ("0086", cfg.phone_0086),
        ("separators", cfg.phone_separators),
        ("missing", cfg.phone_missing),
    ]
    k = draw(rng, len(clean), [r for _, r in kinds])
    for i, (code, _) in enumerate(kinds):
        m = k == i
        if code != "missing":
            m &= ~landline
        idx = np.nonzero(m)[0]
        if not len(idx):
            continue
        v = clean[idx]
        if code == "plus86":
            new = S.add(np.where(rng.random(len(idx)) < 0.5, "+86", "+86 "), v)
        elif code == "0086":
            new = S.add("0086", v)
        elif code == "separators":
            sep = np.where(rng.random(len(idx)) < 0.5, " ", "-")
            new = S.add(
                S.add(S.add(S.slice(v, 0, 3), sep), S.add(S.slice(v, 3, 7), sep)), S.slice(v, 7, 11)
            )
        else:
            new = np.full(len(idx), "")
        out[idx] = new
        log.add(f"phone:{code}", idx)
    return out


def _z2(a: np.ndarray) -> np.ndarray:
    return zfill(a.astype("U2"), 2)


def format_dates(y: np.ndarray, m: np.ndarray, d: np.ndarray, fmt: str) -> np.ndarray:
    """Dates as text.

    Formats: ``iso`` 2022-09-09, ``compact`` 20220909, ``slash`` 2022/9/9, ``cn`` 2022年9月9日.
    """
    ys = y.astype("U4")
    if fmt == "iso":
        return S.add(S.add(S.add(ys, "-"), S.add(_z2(m), "-")), _z2(d))
    if fmt == "compact":
        return S.add(S.add(ys, _z2(m)), _z2(d))
    if fmt == "slash":
        return S.add(S.add(S.add(ys, "/"), S.add(m.astype("U2"), "/")), d.astype("U2"))
    if fmt == "cn":
        return S.add(
            S.add(S.add(ys, "年"), S.add(m.astype("U2"), "月")), S.add(d.astype("U2"), "日")
        )
    raise ValueError(fmt)


DATE_FORMATS = ("iso", "compact", "slash", "cn")


def dates(
    rng: np.random.Generator,
    days: np.ndarray,
    default: str,
    cfg: DirtConfig,
    log: DirtLog,
    field: str,
) -> np.ndarray:
    """Dates (days since 1970-01-01) in the source's format, with other formats mixed in."""
    from zhongtai.generate.persons import ymd

    y, m, d = ymd(days)
    out = format_dates(y, m, d, default).astype("U16")
    kinds = [
        ("format", cfg.date_format),
        ("excel_serial", cfg.date_excel_serial),
        ("impossible", cfg.date_impossible),
    ]
    k = draw(rng, len(days), [r for _, r in kinds])
    idx = np.nonzero(k == 0)[0]
    if len(idx):
        others = [f for f in DATE_FORMATS if f != default]
        pick = rng.integers(0, len(others), len(idx))
        for j, f in enumerate(others):
            sel = idx[pick == j]
            out[sel] = format_dates(y[sel], m[sel], d[sel], f)
        log.add(f"{field}:format", idx)
    idx = np.nonzero(k == 1)[0]
    if len(idx):
        out[idx] = (days[idx] - EXCEL_EPOCH_DAYS).astype("U6")
        log.add(f"{field}:excel_serial", idx)
    idx = np.nonzero(k == 2)[0]
    if len(idx):
        out[idx] = format_dates(y[idx], np.full(len(idx), 2), np.full(len(idx), 30), default)
        log.add(f"{field}:impossible", idx)
    return out


def format_times(seconds: np.ndarray, fmt: str) -> np.ndarray:
    """Local times (seconds since 1970-01-01, naive) as text in one of the usual ways."""
    seconds = np.asarray(seconds, dtype=np.int64)
    if fmt in ("iso", "z"):
        iso = seconds.astype("datetime64[s]").astype("U19")
        if fmt == "z":
            return S.add(iso, "Z")
        c = _chars(iso, 19)
        c[:, 10] = ord(" ")
        return _from_chars(c)
    from zhongtai.generate.persons import ymd

    days = seconds // 86400
    y, m, d = ymd(days)
    sec = seconds % 86400
    hh, mm, ss = sec // 3600, sec // 60 % 60, sec % 60
    if fmt == "slash":
        return S.add(
            S.add(format_dates(y, m, d, "slash"), " "), S.add(S.add(hh.astype("U2"), ":"), _z2(mm))
        )
    if fmt == "compact":
        return S.add(format_dates(y, m, d, "compact"), S.add(S.add(_z2(hh), _z2(mm)), _z2(ss)))
    if fmt == "cn":
        return S.add(
            format_dates(y, m, d, "cn"),
            S.add(S.add(S.add(" ", _z2(hh)), S.add(":", _z2(mm))), S.add(":", _z2(ss))),
        )
    if fmt == "excel":
        return np.round(seconds / 86400.0 - EXCEL_EPOCH_DAYS, 5).astype("U12")
    raise ValueError(fmt)


def times(
    rng: np.random.Generator,
    seconds: np.ndarray,
    cfg: DirtConfig,
    log: DirtLog,
    field: str,
    utc_offset_s: int = 8 * 3600,
) -> pa.Array:
    """Naive local times as ``YYYY-MM-DD HH:MM:SS``; some in UTC with ``Z``, other formats."""
    import pyarrow.compute as pc

    base = pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s")).cast(pa.string())
    n = len(seconds)
    kinds = [
        ("utc_z", cfg.time_utc_z),
        ("format", cfg.date_format),
        ("excel_serial", cfg.date_excel_serial),
    ]
    k = draw(rng, n, [r for _, r in kinds])
    dirty = np.nonzero(k >= 0)[0]
    if not len(dirty):
        return base
    vals = np.empty(len(dirty), dtype="U24")
    kd = k[dirty]
    sel = kd == 0
    vals[sel] = format_times(seconds[dirty[sel]] - utc_offset_s, "z")
    log.add(f"{field}:utc_z", dirty[sel])
    sel = np.nonzero(kd == 1)[0]
    fmts = ("slash", "compact", "cn")
    pick = rng.integers(0, len(fmts), len(sel))
    for j, f in enumerate(fmts):
        vals[sel[pick == j]] = format_times(seconds[dirty[sel[pick == j]]], f)
    log.add(f"{field}:format", dirty[sel])
    sel = kd == 2
    vals[sel] = format_times(seconds[dirty[sel]], "excel")
    log.add(f"{field}:excel_serial", dirty[sel])
    mask = np.zeros(n, dtype=bool)
    mask[dirty] = True
    return pc.replace_with_mask(base, pa.array(mask), pa.array(vals.tolist(), pa.string()))


def addresses(
    rng: np.random.Generator, district, idx: np.ndarray, cfg: DirtConfig, log: DirtLog
) -> np.ndarray:  # noqa: ANN001
    """Full addresses of addresses ``idx``: abbreviated, old names, full-width, room styles."""
    n = len(idx)
    out = np.empty(n, dtype="U80")
    heads = ["standard", "county", "no_prefix", "old"]
    head = np.zeros(n, dtype=np.int64)
    k = draw(rng, n, [cfg.address_abbreviated, cfg.address_old_name, cfg.address_fullwidth])
    head[k == 0] = rng.integers(1, 3, int((k == 0).sum()))
    head[k == 1] = 3
    rooms = ["standard", "dong", "dash", "hanzi"]
    room = np.where(rng.random(n) < cfg.address_room_format, rng.integers(1, 4, n), 0)
    for h in range(4):
        for r in range(4):
            sel = np.nonzero((head == h) & (room == r))[0]
            if len(sel):
                out[sel] = district.address_text(idx[sel], heads[h], rooms[r])
    log.add("address:abbreviated", k == 0)
    log.add("address:old_name", k == 1)
    fw = np.nonzero(k == 2)[0]
    out[fw] = S.translate(out[fw], FULLWIDTH)
    log.add("address:fullwidth", fw)
    log.add("address:room_format", room > 0)
    return out
