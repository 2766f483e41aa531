"""Unified social credit codes, GB 32100-2015, with the embedded organisation code (GB 11714).

18 characters: registration authority (1), entity category (1), region code
(6), organisation code (9, whose last character is its own GB 11714 check),
and a check character over the first 17 in base 31.
"""

from __future__ import annotations

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
