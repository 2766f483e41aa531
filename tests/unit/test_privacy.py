"""Keyed pseudonyms and masking."""

from __future__ import annotations

import hashlib

from zhongtai.privacy import Pseudonymiser, mask_id, mask_name, mask_phone, pseudonym

ID = "11010519491231002X"


def test_pseudonym_is_keyed_hmac_sha256():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assert pseudonym(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    p = Pseudonymiser(b"k1", "v1")
    assert p.person("resident_id", ID) == pseudonym(b"k1", f"resident_id|{ID}")
    assert p.person("resident_id", ID) != hashlib.sha256(ID.encode()).hexdigest()
    assert p.person("resident_id", ID) != Pseudonymiser(b"k2", "v2").person("resident_id", ID)
    assert p.person("passport", ID) != p.person("resident_id", ID)
    assert p.phone("13812345678") == pseudonym(b"k1", "phone|13812345678")
    assert p.person("resident_id", None) is None and p.phone(None) is None


def test_key_never_in_repr():
    assert "k1" not in repr(Pseudonymiser(b"k1", "v1"))


def test_from_settings_uses_configured_key(settings):
    p = Pseudonymiser.from_settings(settings)
    assert (p.key, p.version) == (b"test-key-not-secret", "v1")


def test_masks():
    assert mask_id(ID) == "110105********002X"
    assert mask_id("E12345678", "passport") == "E******78"
    assert mask_id(None) is None
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-62345678") == "010-****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("买买提·艾力") == "买*****"
    assert mask_name("") is None
