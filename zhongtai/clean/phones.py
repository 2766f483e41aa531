"""Phone numbers: mainland mobiles and landlines, normalised and classified.

Normal forms: a mobile is its 11 digits (``13812345678``); a landline is
``<area code>-<number>`` (``010-62345678``, ``0571-87654321``), or the bare 7-8
digit local number when no area code was given (flagged). Extensions are dropped
with a repair record (the household is reached without them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from zhongtai.clean.repairs import Repair
from zhongtai.clean.text import has_fullwidth, to_halfwidth

PHONE_KINDS = ("mobile", "landline", "invalid", "missing")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# 3-digit area codes: 010 Beijing and 020-029; every other area code has 4 digits.
_LANDLINE = re.compile(r"^(010|02[0-9]|0[3-9][0-9]{2})([2-9][0-9]{6,7})$")
_LOCAL = re.compile(r"^[2-9][0-9]{6,7}$")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|#)\s*[0-9]{1,6}$", re.IGNORECASE)
_NORMAL_LANDLINE = re.compile(r"^0[0-9]{2,3}-[2-9][0-9]{6,7}$")
_SEPARATORS = re.compile(r"[\s\-‐‑–—()（）.]+")


@dataclass
class PhoneResult:
    """What the rule made of one phone (``number`` is None unless usable)."""

    number: str | None
    kind: str
    repairs: list[Repair] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def normalise_phone(raw: str | None, field_name: str = "phone") -> PhoneResult:
    """Normalise one phone number.

    Args:
        raw: the phone as delivered.
        field_name: column name used in repair records and flags.

    Returns:
        A :class:`PhoneResult` with kind ``mobile``, ``landline``, ``invalid`` or ``missing``.
    """
    repairs: list[Repair] = []
    if raw is None or not raw.strip():
        return PhoneResult(None, "missing")
    s = raw.strip()
    if s[0] in "'‘`":
        s = s.lstrip("'‘`")
        repairs.append(Repair(field_name, "strip_excel_apostrophe", "excel_text_prefix", "plain"))
    if has_fullwidth(s):
        s = to_halfwidth(s)
        repairs.append(Repair(field_name, "fullwidth_to_ascii", "fullwidth_digits", "ascii_digits"))
    ext = _EXTENSION.search(s)
    if ext and len(_SEPARATORS.sub("", s[: ext.start()])) >= 7:
        s = s[: ext.start()]
        repairs.append(Repair(field_name, "drop_extension", "with_extension", "without_extension"))
    compact = _SEPARATORS.sub("", s)
    if compact != s and not _NORMAL_LANDLINE.match(s):
        repairs.append(Repair(field_name, "remove_separators", "separated", "compact"))
    for prefix in ("+86", "0086", "86"):
        rest = compact[len(prefix) :]
        if compact.startswith(prefix) and (
            _MOBILE.match(rest) or (prefix != "86" and _LANDLINE.match("0" + rest.lstrip("0")))
        ):
            compact = rest if _MOBILE.match(rest) else "0" + rest.lstrip("0")
            repairs.append(
                Repair(field_name, "strip_country_code", "with_country_code", "national")
            )
            break
    if _MOBILE.match(compact):
        return PhoneResult(compact, "mobile", repairs)
    m = _LANDLINE.match(compact)
    if m:
        return PhoneResult(f"{m.group(1)}-{m.group(2)}", "landline", repairs)
    if _LOCAL.match(compact):
        return PhoneResult(compact, "landline", repairs, [f"{field_name}:no_area_code"])
    return PhoneResult(None, "invalid", repairs, [f"{field_name}:invalid"])
