"""Keyed pseudonyms and masked display values for personal data outside restricted zones."""

from zhongtai.privacy.masking import mask_id, mask_name, mask_phone
from zhongtai.privacy.pseudonym import Pseudonymiser, pseudonym

__all__ = ["Pseudonymiser", "mask_id", "mask_name", "mask_phone", "pseudonym"]
