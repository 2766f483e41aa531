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
    out: set[str] = set()
    body = digits[:17]
    # a wrong check character: the body is right
    out.add(body + rid.check_char(body))
    for i in range(17):
        for d in _DIGITS:
            if d == body[i]:
                continue
            cand = body[:i] + d + body[i + 1 :]
            if rid.check_char(cand) == digits[17]:
                out.add(cand + digits[17])
    chars = list(digits)
    for i in range(17):
        swapped = chars.copy()
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        cand = "".join(swapped)
        if rid.is_valid_check(cand):
            out.add(cand)
    out.discard(digits)
    return sorted(out)


def excel_prefix(digits: str | None) -> str | None:
    """The first 15 characters of an 18-character number whose last three are ``000``
    (Excel's damage to long numbers), else None."""
    if digits and len(digits) == 18 and digits.endswith("000") and digits[:15].isdigit():
        return digits[:15]
    return None
