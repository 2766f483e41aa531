"""Resident ID numbers, GB 11643-1999: structure and ISO 7064 MOD 11-2 check.

An 18-character number is: 6-digit region code, 8-digit birth date
(YYYYMMDD), 3-digit sequence (odd for men, even for women), and a check
character in ``0-9X``. Scalar functions serve rules and tests; the ``*_np``
variants work on whole numpy arrays for the generator and the Spark UDFs.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_W = np.array(WEIGHTS, dtype=np.int64)
_CHECK_BYTES = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def is_valid_check(number: str) -> bool:
    """True if ``number`` is 17 digits plus the right check character (upper-case X)."""
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return False
    return check_char(number[:17]) == number[17]


def birth_date(number: str) -> dt.date | None:
    """The birth date encoded in an 18-digit number, None if it is not a real date."""
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except (ValueError, IndexError):
        return None


def gender(number: str) -> str | None:
    """``male`` for an odd sequence digit, ``female`` for even."""
    if len(number) < 17 or not number[16].isdigit():
        return None
    return "male" if int(number[16]) % 2 == 1 else "female"


def upgrade_15(number: str) -> str | None:
    """Turn a 15-digit legacy number into 18 digits (century 19, new check char)."""
    if len(number) != 15 or not number.isdigit() or not number.isascii():
        return None
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_char(first17)


def check_chars_np(first17: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) array of digit values 0-9, as a uint8 ASCII array."""
    total = (first17.astype(np.int64) * _W).sum(axis=1)
    return _CHECK_BYTES[total % 11]


def build_np(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Build valid 18-character numbers from arrays of region code, birth date and sequence.

    Args:
        region: int array of 6-digit region codes.
        birth: int array of YYYYMMDD values.
        seq: int array of 3-digit sequence numbers (0-999).

    Returns:
        A numpy array of 18-character strings (dtype ``<U18``).
    """
    n = len(region)
    digits = np.empty((n, 17), dtype=np.int64)
    for i, (values, width) in enumerate(((region, 6), (birth, 8), (seq, 3))):
        start = (0, 6, 14)[i]
        v = np.asarray(values, dtype=np.int64)
        for k in range(width):
            digits[:, start + width - 1 - k] = v % 10
            v = v // 10
    ascii_digits = (digits + ord("0")).astype(np.uint8)
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :17] = ascii_digits
    out[:, 17] = check_chars_np(digits)
    return out.view("S18").ravel().astype("U18")


# GB/T 2260 province-level codes (first two digits of a region code); 71 Taiwan,
# 81 Hong Kong, 82 Macao, 83 the code the Ministry of Public Security assigns to
# Taiwan, Hong Kong and Macao residents' residence permits.
PROVINCE_CODES = frozenset(
    str(c)
    for c in (
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
        83,
    )
)


def is_plausible_region(number: str) -> bool:
    """True if the first six characters look like a GB/T 2260 region code.

    The province part must exist and the city/county part must not be ``0000``
    (no person is registered at province level). Without the full GB/T 2260
    table this is a plausibility check, not proof that the code exists.
    """
    region = number[:6]
    if len(region) != 6 or not region.isdigit() or not region.isascii():
        return False
    return region[:2] in PROVINCE_CODES and region[2:] != "0000"
