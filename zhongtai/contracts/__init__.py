"""Data contracts (ODCS v3): the single source of truth for every feed."""

from zhongtai.contracts.model import (
    Column,
    Contract,
    all_contracts,
    feed_names,
    load_contract,
    validate_contract_document,
)

__all__ = [
    "Column",
    "Contract",
    "all_contracts",
    "feed_names",
    "load_contract",
    "validate_contract_document",
]
