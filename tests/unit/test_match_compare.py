"""Field comparators of the person linker (no Spark)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from zhongtai.clean.names import normalise_name
from zhongtai.match.compare import (
    FIELD_NAMES,
    compare_address,
    compare_arrow_batches,
    compare_birth_date,
    compare_id,
    compare_name,
    compare_phone,
    compare_record,
)


def _name(raw: str) -> tuple[str | None, str | None]:
    r = normalise_name(raw)
    return r.name, r.pinyin


def test_name_levels_follow_the_cleaning_rules():
    # traditional characters are simplified by the cleaning rule: exact after normalisation
    assert compare_name(*_name("張偉"), *_name("张伟")).level == 0
    # homophones: same pinyin, different hanzi
    assert compare_name(*_name("王晓明"), *_name("王小明")).level == 1
    # a pinyin-only name against its hanzi form
    assert compare_name(*_name("Wang Xiaoming"), *_name("王晓明")).level == 1
    # one character off: similar, not the same
    assert compare_name(*_name("李建国"), *_name("李建华")).level == 2
    assert compare_name(*_name("李建国"), *_name("赵敏")).level == 3
    assert compare_name(None, None, "赵敏", "zhaomin") is None


def test_id_levels():
    good = "11010519800101001X"
    assert compare_id(good, good).level == 0
    assert compare_id(good, "11010519800101002X").level == 1  # one digit
    assert compare_id(good, "11010519801001001X").level == 1  # adjacent swap
    assert compare_id(good, "110105198001010000").level == 2  # Excel turned the tail to 000
    assert compare_id(good, "32010219900505123X").level == 3
    assert compare_id(None, good) is None


def test_birth_date_gender_phone_address():
    assert compare_birth_date(dt.date(1990, 5, 6), "1990-05-06").level == 0
    assert compare_birth_date("1990-05-06", "1990-06-05").level == 1  # day and month swapped
    assert compare_birth_date("1990-05-06", "1991-05-06").level == 1
    assert compare_birth_date("1990-05-06", "1970-01-01").level == 2
    assert compare_phone("13800001111|13900002222", "13900002222").level == 0
    assert compare_phone("13800001111", "13800001112").level == 1
    assert compare_phone("13800001111", "15912345678").level == 2
    assert compare_address("A1|A2", "C1", "A2", "C9").level == 0
    assert compare_address("A1", "C1", "A3", "C1").level == 1
    assert compare_address(None, None, "A3", "C1") is None


def test_compare_record_and_arrow_batch_agree():
    left = {
        "name_norm": "张伟",
        "name_pinyin": "zhangwei",
        "birth_date": "2015-03-04",
        "phone_norm": "13800001111",
    }
    right = {
        "name_norm": "张玮",
        "name_pinyin": "zhangwei",
        "birth_date": "2015-03-04",
        "phone_norm": "13800001111",
        "id_digits": "110105201503040012",
    }
    rec = compare_record(left, right)
    assert rec["name"].level == 1 and rec["birth_date"].level == 0 and rec["id_number"] is None
    cols = [
        "name_norm",
        "name_pinyin",
        "id_digits",
        "birth_date",
        "gender",
        "phone_norm",
        "address_id",
        "community_code",
    ]
    data = {"l_ref": ["a"], "r_ref": ["b"]}
    for c in cols:
        data[f"l_{c}"] = [left.get(c)]
        data[f"r_{c}"] = [right.get(c)]
    out = next(compare_arrow_batches(iter([pa.RecordBatch.from_pydict(data)]))).to_pylist()[0]
    for f in FIELD_NAMES:
        expected = -1 if rec[f] is None else rec[f].level
        assert out[f"{f}_level"] == expected


# values of every kind the comparators meet: hanzi, traditional, homophones, pinyin-only and
# empty names; damaged IDs; swapped dates; shared and multi-valued phones and addresses
_NAMES = [
    ("张伟", "zhangwei"),
    ("张玮", "zhangwei"),
    ("張偉", "zhangwei"),
    ("张卫国", "zhangweiguo"),
    ("李建国", "lijianguo"),
    ("李建华", "lijianhua"),
    (None, "wangxiaoming"),
    ("王晓明", "wangxiaoming"),
    ("王小明", "wangxiaoming"),
    ("Wang Xiaoming", "wangxiaoming"),
    ("", ""),
    (None, None),
    ("赵敏", None),
    ("欧阳娜娜", "ouyangnana"),
]
_IDS = [
    "11010519800101001X",
    "11010519800101002X",
    "11010519801001001X",
    "110105198001010000",
    "110105800101001",
    "11010519800101",
    "32010219900505123X",
    "",
    None,
]
_DATES = ["1980-01-01", "1980-01-10", "1980-10-01", "1981-01-01", "1970-05-06", None]
_GENDERS = ["male", "female", "", None]
_PHONES = [
    "13800001111",
    "13800001112",
    "13800011111",
    "15912345678",
    "13800001111|13900002222",
    "13900002222|",
    "1380000111",
    "",
    None,
]
_ADDRESSES = ["A1", "A2", "A1|A2", "A3|", "", None]
_COMMUNITIES = ["C1", "C2", "C1|C9", "", None]


def _random_pairs(n: int, seed: int) -> dict[str, list[object]]:
    import random

    rnd = random.Random(seed)
    pools = {
        "id_digits": _IDS,
        "birth_date": _DATES,
        "gender": _GENDERS,
        "phone_norm": _PHONES,
        "address_id": _ADDRESSES,
        "community_code": _COMMUNITIES,
    }
    cols: dict[str, list[object]] = {}
    for side in ("l", "r"):
        names = [rnd.choice(_NAMES) for _ in range(n)]
        cols[f"{side}_name_norm"] = [a for a, _ in names]
        cols[f"{side}_name_pinyin"] = [b for _, b in names]
        for c, pool in pools.items():
            cols[f"{side}_{c}"] = [rnd.choice(pool) for _ in range(n)]
    return cols


def test_vectorised_comparisons_equal_the_per_pair_comparators():
    from zhongtai.match.compare import compare_arrays, compare_columns

    cols = _random_pairs(3000, seed=11)
    expected = compare_columns(cols)
    got = compare_arrays({k: pa.array(v, pa.string()) for k, v in cols.items()})
    for f in FIELD_NAMES:
        assert got[f"{f}_level"].to_pylist() == expected[f"{f}_level"], f
        assert got[f"{f}_sim"].to_pylist() == expected[f"{f}_sim"], f
    # every level of every field occurs, so each branch above was held to the reference
    for f in FIELD_NAMES:
        assert set(expected[f"{f}_level"]) >= {-1, 0, 1}, f
    assert {2, 3} <= set(expected["name_level"]) and {2, 3} <= set(expected["id_number_level"])


def test_vectorised_comparisons_of_an_empty_batch():
    from zhongtai.match.compare import compare_arrays

    cols = {k: pa.array([], pa.string()) for k in _random_pairs(1, seed=1)}
    out = compare_arrays(cols)
    assert all(len(v) == 0 for v in out.values())
