"""Masked display values: enough to recognise a record, not to identify a person."""

from __future__ import annotations


def mask_id(number: str | None, id_type: str | None = "resident_id") -> str | None:
    """``110105199001010021`` → ``110105********0021``; other documents keep 1 + last 2.

    Args:
        number: a normalised document number.
        id_type: its canonical type.
    """
    if not number:
        return None
    if id_type in (None, "resident_id") and len(number) == 18:
        return number[:6] + "*" * 8 + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return number[0] + "*" * (len(number) - 3) + number[-2:]


def mask_phone(number: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; ``010-62345678`` → ``010-****5678``."""
    if not number:
        return None
    if "-" in number:
        area, local = number.split("-", 1)
        return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"
    if len(number) == 11:
        return number[:3] + "****" + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


def mask_name(name: str | None) -> str | None:
    """Keep the first character, star the rest: ``张三`` → ``张*``, ``李小明`` → ``李**``."""
    if not name:
        return None
    return name[0] + "*" * (len(name) - 1)
