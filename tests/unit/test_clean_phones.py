"""Phone rule: mobiles, landlines, prefixes, separators, invalid values."""

from __future__ import annotations

import pytest

from zhongtai.clean.phones import normalise_phone


@pytest.mark.parametrize(
    ("raw", "number", "kind"),
    [
        ("13812345678", "13812345678", "mobile"),
        ("138 1234 5678", "13812345678", "mobile"),
        ("138-1234-5678", "13812345678", "mobile"),
        ("+86 138 1234 5678", "13812345678", "mobile"),
        ("+8613812345678", "13812345678", "mobile"),
        ("0086-13812345678", "13812345678", "mobile"),
        ("8613812345678", "13812345678", "mobile"),
        ("１３８１２３４５６７８", "13812345678", "mobile"),
        ("'13812345678", "13812345678", "mobile"),
        ("010-62345678", "010-62345678", "landline"),
        ("01062345678", "010-62345678", "landline"),
        ("(010) 6234 5678", "010-62345678", "landline"),
        ("0571-87654321", "0571-87654321", "landline"),
        ("+86 571 87654321", "0571-87654321", "landline"),
        ("0755-2345678转801", "0755-2345678", "landline"),
        ("62345678", "62345678", "landline"),
    ],
)
def test_normalised(raw, number, kind):
    r = normalise_phone(raw)
    assert (r.number, r.kind) == (number, kind)


def test_canonical_values_need_no_repair():
    assert normalise_phone("13812345678").repairs == []
    assert normalise_phone("010-62345678").repairs == []


def test_repair_classes():
    r = normalise_phone("+86 138-1234-5678")
    assert [(x.rule, x.before, x.after) for x in r.repairs] == [
        ("remove_separators", "separated", "compact"),
        ("strip_country_code", "with_country_code", "national"),
    ]


@pytest.mark.parametrize("raw", ["12345", "12812345678", "138123456789", "abc", "0000000"])
def test_invalid_flagged(raw):
    r = normalise_phone(raw)
    assert (r.number, r.kind, r.flags) == (None, "invalid", ["phone:invalid"])


def test_missing_and_local_number():
    assert normalise_phone(None).kind == "missing"
    assert normalise_phone("  ").kind == "missing"
    assert normalise_phone("62345678").flags == ["phone:no_area_code"]
    assert normalise_phone("x", field_name="contact_phone").flags == ["contact_phone:invalid"]
