"""Map delivered headers to the contract's canonical column names."""

from __future__ import annotations

from dataclasses import dataclass

from zhongtai.contracts.model import Contract, normalise_header


@dataclass(frozen=True)
class HeaderMapping:
    """How a delivery's headers relate to the contract.

    Attributes:
        columns: canonical column name -> delivered header.
        extra: delivered headers the contract does not know (ignored).
        missing_required: required canonical columns with no header.
        missing_optional: optional canonical columns with no header.
        conflicts: canonical columns named by more than one delivered header.
    """

    columns: dict[str, str]
    extra: list[str]
    missing_required: list[str]
    missing_optional: list[str]
    conflicts: dict[str, list[str]]


def map_headers(
    contract: Contract, headers: list[str], filled: tuple[str, ...] = ()
) -> HeaderMapping:
    """Map ``headers`` through the contract's aliases.

    Args:
        contract: the feed's contract.
        headers: the delivered header names, in file order.
        filled: canonical columns that ingestion fills itself when absent (the
            source column), so they are never reported missing.
    """
    lookup = contract.header_map()
    found: dict[str, list[str]] = {}
    extra = []
    for h in headers:
        canonical = lookup.get(normalise_header(h))
        if canonical is None:
            extra.append(h)
        else:
            found.setdefault(canonical, []).append(h)
    columns = {c: hs[0] for c, hs in found.items()}
    conflicts = {c: hs for c, hs in found.items() if len(hs) > 1}
    missing_required = [
        c.name
        for c in contract.columns
        if c.required and c.name not in found and c.name not in filled
    ]
    missing_optional = [
        c.name
        for c in contract.columns
        if not c.required and c.name not in found and c.name not in filled
    ]
    return HeaderMapping(columns, extra, missing_required, missing_optional, conflicts)
