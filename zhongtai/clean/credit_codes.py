"""Unified social credit codes (GB 32100) of the legal_entity feed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from zhongtai.clean.repairs import Repair
from zhongtai.clean.text import has_fullwidth, to_halfwidth
from zhongtai.ids import uscc

USCC_STATUSES = ("valid", "repaired", "checksum_failed", "org_code_failed", "bad_format", "missing")
_SEPARATORS = re.compile(r"[\s\-‐‑–—_]+")
# GB 32100 never uses I, O, S, V, Z; these are the letters people type for digits.
_FORMAT = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{18}$")


@dataclass
class UsccResult:
    """What the rule made of one credit code (``code`` is None unless usable)."""

    code: str | None
    status: str
    valid: bool
    repairs: list[Repair] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def normalise_uscc(raw: str | None) -> UsccResult:
    """Normalise a credit code (case, full-width, separators) and check both check characters.

    Args:
        raw: the code as delivered.

    Returns:
        A :class:`UsccResult`: ``valid``/``repaired`` when the GB 32100 check and the
        embedded GB 11714 organisation-code check pass.
    """
    repairs: list[Repair] = []
    if raw is None or not raw.strip():
        return UsccResult(None, "missing", False, flags=["uscc:missing"])
    s = raw.strip()
    if has_fullwidth(s):
        s = to_halfwidth(s)
        repairs.append(Repair("uscc", "fullwidth_to_ascii", "fullwidth_chars", "ascii_chars"))
    compact = _SEPARATORS.sub("", s)
    if compact != s:
        repairs.append(Repair("uscc", "remove_separators", "separated", "compact"))
    if compact != compact.upper():
        repairs.append(Repair("uscc", "uppercase", "lowercase_letters", "uppercase_letters"))
        compact = compact.upper()
    if not _FORMAT.match(compact):
        return UsccResult(None, "bad_format", False, repairs, ["uscc:bad_format"])
    if not uscc.is_valid(compact):
        return UsccResult(None, "checksum_failed", False, repairs, ["uscc:checksum_failed"])
    if not uscc.is_valid_org_code(compact):
        return UsccResult(None, "org_code_failed", False, repairs, ["uscc:org_code_failed"])
    return UsccResult(compact, "repaired" if repairs else "valid", True, repairs)
