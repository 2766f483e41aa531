"""Keyed pseudonyms: HMAC-SHA-256 with a secret, versioned key.

A plain hash of an ID number can be reversed by enumerating the ~10^10
plausible numbers in hours; an HMAC cannot without the key. The key version is
stored beside every pseudonym so that a key rotation is visible in the data.

What is hashed (every stage must use these helpers so pseudonyms join):
- a person's document: ``"<id_type>|<id_number_norm>"`` (e.g. ``resident_id|11010519...``)
- a phone: ``"phone|<phone_norm>"``
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from zhongtai.settings import Settings


def pseudonym(key: bytes, value: str) -> str:
    """Hex HMAC-SHA-256 of ``value`` (UTF-8) under ``key``."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Pseudonymiser:
    """Pseudonyms under one key version.

    Attributes:
        key: the secret key bytes (never logged; excluded from repr).
        version: the key version label stored with each pseudonym.
    """

    key: bytes
    version: str

    def __repr__(self) -> str:
        return f"Pseudonymiser(version={self.version!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> Pseudonymiser:
        """The pseudonymiser of the configured key (``settings.pseudonym_key()``)."""
        key, version = settings.pseudonym_key()
        return cls(key, version)

    def person(self, id_type: str | None, id_number_norm: str | None) -> str | None:
        """Pseudonym of a normalised document number, None when there is none."""
        if not id_number_norm or not id_type:
            return None
        return pseudonym(self.key, f"{id_type}|{id_number_norm}")

    def phone(self, phone_norm: str | None) -> str | None:
        """Pseudonym of a normalised phone, None when there is none."""
        if not phone_norm:
            return None
        return pseudonym(self.key, f"phone|{phone_norm}")
