"""Blocking keys for damaged resident IDs."""

from __future__ import annotations

from zhongtai.ids.resident_id import check_char, is_valid_check
from zhongtai.match.blocking import excel_prefix, id_neighbours

BODY = "11010519800101001"
GOOD = BODY + check_char(BODY)


def test_one_digit_typo_finds_the_true_number():
    typo = GOOD[:12] + ("7" if GOOD[12] != "7" else "8") + GOOD[13:]
    assert not is_valid_check(typo)
    near = id_neighbours(typo)
    assert GOOD in near
    assert all(is_valid_check(x) for x in near)
    assert len(near) < 40  # a handful of keys, not a scan


def test_swapped_digits_and_wrong_check_character():
    i = next(i for i in range(16) if GOOD[i] != GOOD[i + 1])
    swapped = GOOD[:i] + GOOD[i + 1] + GOOD[i] + GOOD[i + 2 :]
    assert GOOD in id_neighbours(swapped)
    wrong_check = BODY + ("0" if GOOD[17] != "0" else "1")
    assert GOOD in id_neighbours(wrong_check)


def test_garbage_gives_no_keys_and_excel_prefix():
    assert id_neighbours("1.10105E+17") == []
    assert id_neighbours(None) == []
    assert excel_prefix(GOOD[:15] + "000") == GOOD[:15]
    assert excel_prefix(GOOD) is None or GOOD.endswith("000")


def test_vectorised_neighbours_equal_the_per_value_function():
    import random

    import pyarrow as pa

    from zhongtai.match.blocking import id_neighbours_arrow

    rnd = random.Random(3)
    values: list[str | None] = [None, "", "1.10105E+17", GOOD[:15], GOOD + "1", "１" * 18]
    for _ in range(400):
        body = "".join(rnd.choice("0123456789") for _ in range(17))
        good = body + check_char(body)
        i = rnd.randrange(16)
        values += [
            good,
            good[:i] + str((int(good[i]) + 3) % 10) + good[i + 1 :],  # one digit off
            good[:i] + good[i + 1] + good[i] + good[i + 2 :],  # adjacent swap
            body + rnd.choice("0123456789X"),  # any check character
            good[:16] + good[17] + good[16] if good[17] != "X" else good,  # check moved
            good[:15] + "000",
        ]
    got = id_neighbours_arrow(pa.array(values, pa.string())).to_pylist()
    assert got == [id_neighbours(v) for v in values]
    assert sum(map(len, got)) > 2000  # the lists are not empty: the candidates were compared
    assert id_neighbours_arrow(pa.array([], pa.string())).to_pylist() == []
