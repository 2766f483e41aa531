"""Unified social credit codes, GB 32100-2015, with the embedded organisation code (GB 11714).

18 characters: registration authority (1), entity category (1), region code
(6), organisation code (9, whose last character is its own GB 11714 check),
and a check character over the first 17 in base 31.
"""

from __future__ import annotations

import numpy as np

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_VALUE = {c: i for i, c in enumerate(CHARSET)}


def check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise ValueError("need 17 characters from the GB 32100 character set")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_check_char(first8: str) -> str:
    """The GB 11714 check character of an organisation code's first 8 characters."""
    total = 0
    for c, w in zip(first8, ORG_WEIGHTS, strict=True):
        if c.isdigit():
            v = int(c)
        elif "A" <= c <= "Z":
            v = ord(c) - ord("A") + 10
        else:
            raise ValueError(f"bad organisation-code character {c!r}")
        total += v * w
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def is_valid(code: str) -> bool:
    """True if the 18-character code passes the GB 32100 check."""
    if len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_char(code[:17]) == code[17]


def is_valid_org_code(code: str) -> bool:
    """True if the embedded organisation code (characters 9-17) passes GB 11714."""
    if len(code) != 18:
        return False
    org = code[8:17]
    try:
        return org_check_char(org[:8]) == org[8]
    except ValueError:
        return False


_CHAR_VALUE_NP = np.full(128, -1, dtype=np.int64)
for _i, _c in enumerate(CHARSET):
    _CHAR_VALUE_NP[ord(_c)] = _i
_ORG_VALUE_NP = np.full(128, -1, dtype=np.int64)
for _c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    _ORG_VALUE_NP[ord(_c)] = int(_c) if _c.isdigit() else ord(_c) - ord("A") + 10
_CHARSET_BYTES = np.frombuffer(CHARSET.encode(), dtype=np.uint8)
_ORG_CHECK_BYTES = np.frombuffer(b"0123456789X0", dtype=np.uint8)


def build_np(
    authority: np.ndarray, category: np.ndarray, region: np.ndarray, org8: np.ndarray
) -> np.ndarray:
    """Build valid codes from arrays of their parts, vectorised.

    Args:
        authority: one-character registration authority codes (e.g. ``9`` market regulation,
            ``5`` civil affairs).
        category: one-character entity categories (e.g. ``1`` enterprise, ``2`` sole trader).
        region: 6-digit region codes (ints or strings).
        org8: the first 8 characters of the organisation codes (digits and upper-case
            letters of the GB 32100 character set).

    Returns:
        An array of 18-character codes (``<U18``) passing both the GB 11714 check of the
        embedded organisation code and the GB 32100 check.
    """
    n = len(org8)
    reg = np.char.zfill(np.asarray(region).astype("U6"), 6)
    head = np.char.add(
        np.char.add(np.asarray(authority).astype("U1"), np.asarray(category).astype("U1")), reg
    )
    org = np.asarray(org8).astype("U8")
    org_codes = np.ascontiguousarray(org).view(np.uint32).reshape(n, 8).astype(np.int64)
    org_total = (_ORG_VALUE_NP[org_codes] * np.array(ORG_WEIGHTS, dtype=np.int64)).sum(axis=1)
    org_check = _ORG_CHECK_BYTES[11 - org_total % 11].view("S1").astype("U1")
    first17 = np.char.add(np.char.add(head, org), org_check)
    codes = (
        np.ascontiguousarray(first17.astype("U17")).view(np.uint32).reshape(n, 17).astype(np.int64)
    )
    total = (_CHAR_VALUE_NP[codes] * np.array(WEIGHTS, dtype=np.int64)).sum(axis=1)
    check = _CHARSET_BYTES[(31 - total % 31) % 31].view("S1").astype("U1")
    return np.char.add(first17, check)
