"""Blocking keys for the records that the exact-ID fast path cannot link.

A residue record is compared only with the persons (and other residue records) that
share a blocking key with it. The keys follow the ways the domain damages identity:
an ID one digit or one adjacent swap away (the check character catches one wrong digit
but not the right one, so the candidates are the neighbours that pass the check), an
ID whose last three digits Excel turned to ``000``, the pinyin name with the birth date,
the phone with the surname or the name, the address with the name.
"""

from __future__ import annotations

from zhongtai.ids import resident_id as rid

_DIGITS = "0123456789"


def id_neighbours(digits: str | None) -> list[str]:
    """Valid resident IDs one substitution or one adjacent transposition away from ``digits``.

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
