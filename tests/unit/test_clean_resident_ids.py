"""Resident ID rule: real-world dirt, each case with its known outcome."""

from __future__ import annotations

import datetime as dt

import pytest

from zhongtai.clean.resident_ids import cross_check, normalise_id

D = dt.date(2026, 11, 1)
# A real-format number: 110105 (Chaoyang, Beijing), born 1949-12-31, seq 002 (female), check X.
GOOD = "11010519491231002X"


def test_fixture_numbers_are_valid():
    from zhongtai.ids.resident_id import is_valid_check

    assert is_valid_check(GOOD)
    assert not is_valid_check(GOOD[:17] + "0")


@pytest.mark.parametrize(
    ("raw", "status", "rules"),
    [
        (GOOD, "valid", []),
        ("11010519491231002x", "repaired", ["uppercase_x"]),
        ("１１０１０５１９４９１２３１００２Ｘ", "repaired", ["fullwidth_to_ascii"]),
        ("110105 19491231 002X", "repaired", ["remove_separators"]),
        ("110105-19491231-002X", "repaired", ["remove_separators"]),
        ("'11010519491231002X", "repaired", ["strip_excel_apostrophe"]),
        (" ’11010519491231002x ", "repaired", ["strip_excel_apostrophe", "uppercase_x"]),
    ],
)
def test_lossless_repairs(raw, status, rules):
    r = normalise_id(None, raw, D)
    assert (r.number, r.status, r.valid) == (GOOD, status, True)
    assert [x.rule for x in r.repairs] == rules
    assert r.birth_date == dt.date(1949, 12, 31) and r.gender == "female"


def test_legacy_15_upgraded():
    r = normalise_id("resident_id", "110105491231002", D)
    assert r.status == "upgraded_15" and r.number == GOOD
    assert [(x.rule, x.before, x.after) for x in r.repairs] == [
        ("upgrade_15", "legacy15", "resident_id18")
    ]


@pytest.mark.parametrize(
    ("raw", "status", "flag"),
    [
        ("1.10105E+17", "excel_damaged", "id_number:excel_scientific"),
        ("1.10105194912310E+17", "excel_damaged", "id_number:excel_scientific"),
        ("110105194912310000", "excel_damaged", "id_number:excel_trailing_zeros"),
        ("11010519491231003X", "checksum_failed", "id_number:checksum_failed"),  # mistyped digit
        ("11010519492131002X", "checksum_failed", "id_number:checksum_failed"),  # swapped pair
        ("1101051949123100", "bad_format", "id_number:bad_format"),
        ("11010519491231002Y", "bad_format", "id_number:bad_format"),
        ("   ", "missing", "id_number:missing"),
        (None, "missing", "id_number:missing"),
    ],
)
def test_unrepairable_flagged_never_guessed(raw, status, flag):
    r = normalise_id(None, raw, D)
    assert r.status == status and r.number is None and not r.valid
    assert flag in r.flags


def _with_check(first17: str) -> str:
    from zhongtai.ids.resident_id import check_char

    return first17 + check_char(first17)


def test_region_and_birth_plausibility():
    assert normalise_id(None, _with_check("99010519491231002"), D).status == "bad_region"
    assert normalise_id(None, _with_check("11000019491231002"), D).status == "bad_region"
    assert normalise_id(None, _with_check("11010519490230002"), D).status == "bad_birth_date"
    assert normalise_id(None, _with_check("11010518800101002"), D).status == "bad_birth_date"
    # born after the business date
    assert normalise_id(None, _with_check("11010520261231002"), D).status == "bad_birth_date"


def test_valid_number_ending_000_kept_but_flagged():
    # Find a valid number with sequence x00 and check 0: real, but looks like Excel damage.
    for seq in range(0, 1000, 100):
        n = _with_check(f"110105199001{seq // 100 + 10:02d}{seq:03d}")
        if n.endswith("000"):
            r = normalise_id(None, n, D)
            assert r.valid and "id_number:possible_excel_trailing_zeros" in r.flags
            return
    pytest.skip("no such number in the small search space")


def test_other_documents_keep_their_type():
    r = normalise_id("passport", " e1234567-8 ", D)
    assert (r.id_type, r.number, r.status, r.valid) == (
        "passport",
        "E12345678",
        "other_document",
        True,
    )
    assert normalise_id("hk_macao_permit", "H1234", D).status == "other_document"
    assert normalise_id("passport", "##", D).status == "bad_format"
    assert normalise_id(None, GOOD, D).id_type == "resident_id"


def test_cross_check_birth_and_gender():
    r = normalise_id(None, GOOD, D)
    assert cross_check(r, dt.date(1949, 12, 31), "female") == (False, False)
    assert cross_check(r, dt.date(1950, 1, 1), "male") == (True, True)
    assert cross_check(r, None, None) == (None, None)
    bad = normalise_id(None, "1.10105E+17", D)
    assert cross_check(bad, dt.date(1950, 1, 1), "male") == (None, None)
