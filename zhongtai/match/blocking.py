"""Blocking keys for the records that the exact-ID fast path cannot link.

A residue record is compared only with the persons (and other residue records) that
share a blocking key with it. The keys follow the ways the domain damages identity:
an ID one digit or one adjacent swap away (the check character catches one wrong digit
but not the right one, so the candidates are the neighbours that pass the check), an
ID whose last three digits Excel turned to ``000``, the pinyin name with the birth date,
the phone with the surname or the name, the address with the name.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.ids import resident_id as rid

_DIGITS = "0123456789"


def id_neighbours(digits: str | None) -> list[str]:
    """Valid resident IDs one substitution or one adjacent transposition away from ``digits``.

    The readable definition, one number at a time; the linker runs
    :func:`id_neighbours_arrow`, which the tests hold to it.

    Args:
        digits: an 18-character number (``0-9`` then ``0-9X``) whose check failed,
            or a valid number (then its neighbours are the numbers it might be a
            typo of). Anything else gives no neighbours.

    Returns:
        The distinct valid numbers, sorted (at most a few dozen).
    """
    if not digits or len(digits) != 18 or not digits[:17].isdigit() or not digits.isascii():
        return []
    if digits[17] not in "0123456789X":
        return []
    # The check sum is linear in the digits, so each candidate's check is one addition on
    # the body's sum instead of a 17-digit recomputation (170 candidates per number).
    body = digits[:17]
    b = [ord(c) - 48 for c in body]
    w = rid.WEIGHTS
    total = sum(x * y for x, y in zip(b, w, strict=True))
    want = rid.CHECK_CHARS.index(digits[17])  # the sum mod 11 that gives this check char
    out: set[str] = set()
    # a wrong check character: the body is right
    out.add(body + rid.CHECK_CHARS[total % 11])
    for i in range(17):
        bi, wi = b[i], w[i]
        for d in range(10):
            if d != bi and (total + wi * (d - bi)) % 11 == want:
                out.add(body[:i] + chr(48 + d) + body[i + 1 :] + digits[17])
    for i in range(16):
        if b[i] != b[i + 1] and (total + (w[i] - w[i + 1]) * (b[i + 1] - b[i])) % 11 == want:
            out.add(body[:i] + body[i + 1] + body[i] + body[i + 2 :] + digits[17])
    # the last body digit swapped with the check character
    if digits[17] != "X":
        moved = total + w[16] * (ord(digits[17]) - 48 - b[16])
        if rid.CHECK_CHARS[moved % 11] == body[16]:
            out.add(body[:16] + digits[17] + body[16])
    out.discard(digits)
    return sorted(out)


def excel_prefix(digits: str | None) -> str | None:
    """The first 15 characters of an 18-character number whose last three are ``000``
    (Excel's damage to long numbers), else None."""
    if digits and len(digits) == 18 and digits.endswith("000") and digits[:15].isdigit():
        return digits[:15]
    return None


def id_neighbours_arrow(digits: pa.Array) -> pa.Array:
    """:func:`id_neighbours` of every value of a string array, vectorised (NumPy).

    The same lists (distinct, sorted) as the per-value function, which the tests hold it
    to: each candidate's check is one addition on the body's weighted sum, computed for all
    substitutions and swaps of all numbers at once.
    """
    n = len(digits)
    shaped = pc.fill_null(pc.match_substring_regex(digits, "^[0-9]{17}[0-9X]$"), False)
    rows = np.flatnonzero(np.asarray(shaped.to_numpy(zero_copy_only=False), dtype=bool))
    if not len(rows):
        return pa.array([[] for _ in range(n)], pa.list_(pa.string()))
    codes = np.array(digits.take(pa.array(rows)).to_pylist(), dtype="S18")
    mat = codes.view(np.uint8).reshape(-1, 18)
    body = mat[:, :17].astype(np.int64) - 48
    w = np.array(rid.WEIGHTS, dtype=np.int64)
    check_bytes = np.frombuffer(rid.CHECK_CHARS.encode(), dtype=np.uint8)
    # the sum mod 11 that yields each check character
    want_of = np.zeros(256, dtype=np.int64)
    want_of[check_bytes] = np.arange(11)
    total = body @ w
    want = want_of[mat[:, 17]]
    found: list[tuple[np.ndarray, np.ndarray]] = []  # (which number, candidate bytes)
    # a wrong check character: the body is right
    fixed = mat.copy()
    fixed[:, 17] = check_bytes[total % 11]
    found.append((np.arange(len(rows)), fixed))
    # one digit substituted
    d = np.arange(10)
    hit = (total[:, None, None] + w[None, :, None] * (d[None, None, :] - body[:, :, None])) % 11
    hit = (hit == want[:, None, None]) & (d[None, None, :] != body[:, :, None])
    k, i, dd = np.nonzero(hit)
    sub = mat[k].copy()
    sub[np.arange(len(k)), i] = 48 + dd
    found.append((k, sub))
    # two adjacent body digits swapped
    lo, hi = body[:, :16], body[:, 1:]
    swap = (lo != hi) & ((total[:, None] + (w[:16] - w[1:]) * (hi - lo)) % 11 == want[:, None])
    k, i = np.nonzero(swap)
    sw = mat[k].copy()
    sw[np.arange(len(k)), i], sw[np.arange(len(k)), i + 1] = mat[k, i + 1], mat[k, i]
    found.append((k, sw))
    # the last body digit swapped with the check character
    last = mat[:, 17] != ord("X")
    moved = total + w[16] * (mat[:, 17].astype(np.int64) - 48 - body[:, 16])
    k = np.flatnonzero(last & (check_bytes[moved % 11] == mat[:, 16]))
    mv = mat[k].copy()
    mv[:, 16], mv[:, 17] = mat[k, 17], mat[k, 16]
    found.append((k, mv))
    which = np.concatenate([f[0] for f in found])
    cand = np.concatenate([f[1] for f in found]).view("S18").reshape(-1)
    keep = cand != codes[which]
    which, cand = which[keep], cand[keep]
    order = np.lexsort((cand, which))
    which, cand = which[order], cand[order]
    first = np.r_[True, (which[1:] != which[:-1]) | (cand[1:] != cand[:-1])]
    which, cand = which[first], cand[first]
    counts = np.zeros(n, dtype=np.int64)
    np.add.at(counts, rows[which], 1)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
    values = pa.array(cand, pa.binary(18)).cast(pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)
