"""Resident ID numbers and other identity documents: normalise, validate, classify.

The rule never guesses: a value is repaired only when the repair is lossless
(full-width digits, lower-case ``x``, separators, an Excel text apostrophe,
the 15 → 18 upgrade); anything else keeps its status (``checksum_failed``,
``excel_damaged``...) and ``id_number_norm`` is None.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from zhongtai.clean.repairs import Repair
from zhongtai.clean.text import has_fullwidth, to_halfwidth
from zhongtai.ids import resident_id as rid

RESIDENT_ID = "resident_id"
ID_TYPES = (
    RESIDENT_ID,
    "passport",
    "hk_macao_permit",
    "taiwan_permit",
    "foreign_permanent_resident",
)
VALID_STATUSES = frozenset({"valid", "repaired", "upgraded_15", "other_document"})
ID_STATUSES = (
    "valid",
    "repaired",
    "upgraded_15",
    "checksum_failed",
    "excel_damaged",
    "bad_format",
    "bad_birth_date",
    "bad_region",
    "missing",
    "other_document",
)
MIN_BIRTH_YEAR = 1900

_APOSTROPHES = "'‘’`´"
_SEPARATORS = re.compile(r"[\s\-‐‑–—_/.·]+")
_SCIENTIFIC = re.compile(r"^[0-9]+(?:\.[0-9]*)?[eE][+]?[0-9]+$")
_ID18 = re.compile(r"^[0-9]{17}[0-9X]$")
_ID15 = re.compile(r"^[0-9]{15}$")
_OTHER_DOC = re.compile(r"^[A-Z0-9]{5,20}$")


@dataclass
class IdResult:
    """What the rule made of one document number.

    Attributes:
        id_type: canonical document type (``resident_id`` when absent).
        number: normalised number, None when missing or unrepairable.
        status: one of :data:`ID_STATUSES`.
        valid: True when ``number`` is usable as an identifier.
        birth_date: birth date derived from a usable resident ID.
        gender: ``male``/``female`` derived from a usable resident ID.
        repairs: lossless repairs applied.
        flags: problems found (unrepairable, suspicious).
    """

    id_type: str
    number: str | None
    status: str
    valid: bool
    birth_date: dt.date | None = None
    gender: str | None = None
    repairs: list[Repair] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def _strip_common(raw: str, repairs: list[Repair]) -> str:
    """Lossless character repairs shared by every document type."""
    s = raw.strip()
    if s and s[0] in _APOSTROPHES:
        s = s.lstrip(_APOSTROPHES)
        repairs.append(Repair("id_number", "strip_excel_apostrophe", "excel_text_prefix", "plain"))
    if has_fullwidth(s):
        s = to_halfwidth(s)
        repairs.append(
            Repair("id_number", "fullwidth_to_ascii", "fullwidth_digits", "ascii_digits")
        )
    if _SCIENTIFIC.match(s):
        return s
    compact = _SEPARATORS.sub("", s)
    if compact != s:
        repairs.append(Repair("id_number", "remove_separators", "separated", "compact"))
    return compact


def _birth_ok(birth: dt.date | None, business_date: dt.date | None) -> bool:
    if birth is None or birth.year < MIN_BIRTH_YEAR:
        return False
    return business_date is None or birth <= business_date


def normalise_id(
    id_type: str | None, raw: str | None, business_date: dt.date | None = None
) -> IdResult:
    """Normalise and classify one document number.

    Args:
        id_type: canonical document type from raw (None means resident ID).
        raw: the number as delivered.
        business_date: the batch's business date; a birth date after it is implausible.

    Returns:
        An :class:`IdResult`; ``number`` is None unless the value is usable.
    """
    repairs: list[Repair] = []
    flags: list[str] = []
    if not id_type:
        id_type = RESIDENT_ID
    if raw is None or not raw.strip():
        return IdResult(id_type, None, "missing", False, flags=["id_number:missing"])
    s = _strip_common(raw, repairs)
    if not s:
        return IdResult(id_type, None, "missing", False, flags=["id_number:missing"])
    if id_type != RESIDENT_ID:
        s = s.upper()
        if _OTHER_DOC.match(s):
            return IdResult(id_type, s, "other_document", True, repairs=repairs)
        return IdResult(
            id_type, None, "bad_format", False, repairs=repairs, flags=["id_number:bad_format"]
        )
    if _SCIENTIFIC.match(s):
        return IdResult(
            id_type,
            None,
            "excel_damaged",
            False,
            repairs=repairs,
            flags=["id_number:excel_scientific"],
        )
    upgraded = False
    if _ID15.match(s):
        new = rid.upgrade_15(s)
        if new is None:  # pragma: no cover - _ID15 guarantees 15 ASCII digits
            return IdResult(
                id_type, None, "bad_format", False, repairs=repairs, flags=["id_number:bad_format"]
            )
        s = new
        upgraded = True
    elif len(s) == 18 and s.endswith("x") and s[:17].isdigit():
        s = s[:17] + "X"
        repairs.append(Repair("id_number", "uppercase_x", "lowercase_x", "uppercase_x"))
    if not _ID18.match(s):
        return IdResult(
            id_type, None, "bad_format", False, repairs=repairs, flags=["id_number:bad_format"]
        )
    if not upgraded and not rid.is_valid_check(s):
        if s.endswith("000"):
            return IdResult(
                id_type,
                None,
                "excel_damaged",
                False,
                repairs=repairs,
                flags=["id_number:excel_trailing_zeros"],
            )
        return IdResult(
            id_type,
            None,
            "checksum_failed",
            False,
            repairs=repairs,
            flags=["id_number:checksum_failed"],
        )
    if not rid.is_plausible_region(s):
        return IdResult(
            id_type, None, "bad_region", False, repairs=repairs, flags=["id_number:bad_region"]
        )
    birth = rid.birth_date(s)
    if not _birth_ok(birth, business_date):
        return IdResult(
            id_type,
            None,
            "bad_birth_date",
            False,
            repairs=repairs,
            flags=["id_number:bad_birth_date"],
        )
    if upgraded:
        repairs.append(Repair("id_number", "upgrade_15", "legacy15", "resident_id18"))
        status = "upgraded_15"
    else:
        status = "repaired" if repairs else "valid"
        if s.endswith("000"):
            # A real number can end in 000 (1 in 1100); keep it but let a human look.
            flags.append("id_number:possible_excel_trailing_zeros")
    return IdResult(id_type, s, status, True, birth, rid.gender(s), repairs, flags)


def cross_check(
    result: IdResult, given_birth: dt.date | None, given_gender: str | None
) -> tuple[bool | None, bool | None]:
    """Compare birth date and gender derived from the ID with the delivered columns.

    Returns:
        ``(birth_date_conflict, gender_conflict)``; None where either side is missing.
    """
    birth_conflict = (
        None
        if result.birth_date is None or given_birth is None
        else result.birth_date != given_birth
    )
    gender_conflict = (
        None if result.gender is None or given_gender is None else result.gender != given_gender
    )
    return birth_conflict, gender_conflict
