"""Character-level folding shared by the rules: full-width forms, spaces, Chinese numerals."""

from __future__ import annotations

import re

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u3000\ufeff]+")


_FULLWIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")


def has_fullwidth(s: str) -> bool:
    """True if ``s`` holds full-width ASCII forms or an ideographic space."""
    return _FULLWIDTH_RE.search(s) is not None


def to_halfwidth(s: str) -> str:
    """Fold full-width ASCII forms (０-９, Ａ-Ｚ, －...) and the ideographic space to ASCII."""
    return s.translate(_FULLWIDTH)


def collapse_spaces(s: str) -> str:
    """Trim and collapse every run of white space (incl. NBSP, zero-width) to one space."""
    return _SPACES.sub(" ", s).strip()


def remove_spaces(s: str) -> str:
    """Remove all white space."""
    return _SPACES.sub("", s)


CN_DIGITS = {
    "零": "0",
    "〇": "0",
    "○": "0",
    "Ｏ": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}


def cn_number(s: str) -> str | None:
    """Arabic digits for a Chinese numeral (五零一 → 501, 二十三 → 23); None if not one."""
    if not s:
        return None
    if "十" in s or "百" in s:
        m = re.fullmatch(
            r"(?:([一二两三四五六七八九])百)?(?:([一二三四五六七八九])?(十))?([一二三四五六七八九])?",
            s,
        )
        if not m or not s:
            return None
        hundreds = int(CN_DIGITS[m.group(1)]) if m.group(1) else 0
        tens = (int(CN_DIGITS[m.group(2)]) if m.group(2) else 1) if m.group(3) else 0
        ones = int(CN_DIGITS[m.group(4)]) if m.group(4) else 0
        return str(hundreds * 100 + tens * 10 + ones)
    out = []
    for ch in s:
        if ch in CN_DIGITS:
            out.append(CN_DIGITS[ch])
        else:
            return None
    return "".join(out)
