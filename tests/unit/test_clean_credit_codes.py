"""GB 32100 credit codes: check character and the embedded organisation code."""

from __future__ import annotations

import pytest

from zhongtai.clean.credit_codes import normalise_uscc
from zhongtai.ids import uscc

# A published example code (GB 32100 annex style): 91350100M000100Y43.
REAL = "91350100M000100Y43"


def _make(prefix8: str, org8: str) -> str:
    org = org8 + uscc.org_check_char(org8)
    first17 = prefix8 + org
    return first17 + uscc.check_char(first17)


def test_real_code_is_valid():
    r = normalise_uscc(REAL)
    assert (r.code, r.status, r.valid) == (REAL, "valid", True)


@pytest.mark.parametrize(
    ("raw", "rules"),
    [
        ("91350100m000100y43", ["uppercase"]),
        ("９１３５０１００Ｍ０００１００Ｙ４３", ["fullwidth_to_ascii"]),
        ("9135 0100 M000 100Y43", ["remove_separators"]),
    ],
)
def test_lossless_repairs(raw, rules):
    r = normalise_uscc(raw)
    assert (r.code, r.status) == (REAL, "repaired")
    assert [x.rule for x in r.repairs] == rules


def test_check_failures():
    assert normalise_uscc(REAL[:17] + "0").status == "checksum_failed"
    # GB 32100 check right, embedded GB 11714 organisation check wrong
    org_bad = "91110105" + "12345678" + "0"
    org_bad += uscc.check_char(org_bad)
    if uscc.is_valid_org_code(org_bad):
        org_bad = "91110105" + "12345678" + "1"
        org_bad += uscc.check_char(org_bad)
    assert normalise_uscc(org_bad).status == "org_code_failed"
    made = _make("91110105", "MA01ABCD")
    assert normalise_uscc(made).status == "valid"
    assert normalise_uscc("91350100I000100Y43").status == "bad_format"  # I is never used
    assert normalise_uscc(None).status == "missing"
