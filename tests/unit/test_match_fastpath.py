"""The per-partition fast path: identity votes, conflict flags, picks, sets and firsts."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from zhongtai.match.fastpath import FastPathSpec, Pick, fast_path_table

SPEC = FastPathSpec(
    max_pinyin_edits=1,
    head_order=("_o_head_0",),
    picks=(Pick("phone", ("_o_phone_missing", "_o_trust"), ("phone_masked",)),),
    joined_sets=(("phone_norm", "phone_norm"),),
    firsts=(
        ("_pii_name_norm", ("name_norm",)),
        ("_pii_birth", ("birth_date_from_id", "birth_date")),
    ),
)
HEAD = pa.struct(
    [
        ("name_norm", pa.string()),
        ("name_pinyin", pa.string()),
        ("birth_date", pa.date32()),
        ("gender", pa.string()),
        ("id_digits", pa.string()),
    ]
)
PICK = pa.struct(
    [
        ("o", pa.struct([("k0", pa.int32()), ("k1", pa.int32()), ("k2", pa.string())])),
        ("_has", pa.bool_()),
        ("_src", pa.string()),
        ("phone_masked", pa.string()),
    ]
)
OUT = pa.schema(
    [
        ("id_pseudonym", pa.string()),
        ("_h", HEAD),
        ("phone_norm", pa.string()),
        ("_pick_phone", PICK),
        ("_has_pop", pa.int32()),
        ("_systems", pa.list_(pa.string())),
        ("first_seen_date", pa.date32()),
        ("last_seen_date", pa.date32()),
        ("pseudonym_key_version", pa.string()),
        ("records", pa.int64()),
        ("_pii_name_norm", pa.string()),
        ("_pii_birth", pa.date32()),
    ]
)
D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
B = dt.date(1980, 5, 6)

# ref, feed, id, name, pinyin, phone, trust, day, birth from ID
ROWS = [
    ("p:grid:1", "population", "ID1", "李强", "liqiang", "13900000002", 1, D1, B),
    ("n:city:2", "nucleic_acid", "ID1", "李强", "liqiang", None, 5, D2, B),
    ("n:city:1", "nucleic_acid", "ID1", "李墙", "liqiang", "13900000009", 5, D2, B),  # homophone
    ("n:city:4", "nucleic_acid", "ID1", "李小雨", "lixiaoyu", "13900000002", 5, D2, B),  # child
    ("n:city:5", "nucleic_acid", "ID1", "李强", "liqiangg", None, 5, D2, B),  # one edit
    ("n:nat:6", "nucleic_acid", None, "王磊", "wanglei", "13700000003", 5, D1, None),  # no ID
    ("n:nat:7", "nucleic_acid", "ID2", "王磊", "wanglei", None, 5, D1, None),
]


def _table() -> pa.Table:
    cols = list(zip(*ROWS, strict=True))
    ref, feed, ids, name, py, phone, trust, day, birth = cols
    t = pa.table(
        {
            "rec_ref": pa.array(ref),
            "feed": pa.array(feed),
            "source_system": pa.array([r.split(":")[1] for r in ref]),
            "id_pseudonym": pa.array(ids),
            "has_id": pa.array([i is not None for i in ids]),
            "name_norm": pa.array(name),
            "name_pinyin": pa.array(py),
            "phone_norm": pa.array(phone),
            "phone_masked": pa.array([p and p[:3] + "****" for p in phone]),
            "birth_date_from_id": pa.array(birth, pa.date32()),
            "birth_date": pa.array([None] * len(ref), pa.date32()),
            "gender_from_id": pa.array(["male"] * len(ref)),
            "gender": pa.array([None] * len(ref), pa.string()),
            "id_type": pa.array(["resident_id"] * len(ref)),
            "id_number_norm": pa.array([i and i + "-digits" for i in ids]),
            "business_date": pa.array(day, pa.date32()),
            "pseudonym_key_version": pa.array(["v1", "v2", "v1", "v1", "v1", "v1", "v1"]),
            "_o_head_0": pa.array([f != "population" for f in feed]).cast(pa.int32()),
            "_o_phone_missing": pa.array([p is None for p in phone]).cast(pa.int32()),
            "_o_trust": pa.array(trust, pa.int32()),
        }
    )
    # several chunks, as a partition's files are read
    return pa.Table.from_batches(t.to_batches(max_chunksize=3))


def _run() -> tuple[dict[str, dict], dict[str, bool]]:
    markers, out = fast_path_table(SPEC, OUT, _table(), ("rec_ref", "phone_norm"))
    # the residue carries the columns asked for
    assert markers.column_names == ["rec_ref", "phone_norm", "id_conflict"]
    assert out is not None and out.schema == OUT
    ids = {r["id_pseudonym"]: r for r in out.to_pylist()}
    return ids, {r["rec_ref"]: r["id_conflict"] for r in markers.to_pylist()}


def test_a_record_whose_name_is_not_its_ids_holder_leaves_the_fast_path():
    _, markers = _run()
    # the child under the parent's ID is a conflict; the record without an ID is residue;
    # the homophone and the one-edit pinyin stay with the holder
    assert markers == {"n:city:4": True, "n:nat:6": False}


def test_one_row_per_id_over_its_fast_records():
    ids, _ = _run()
    assert set(ids) == {"ID1", "ID2"}
    one = ids["ID1"]
    assert one["records"] == 4  # the child's record is not the holder's
    assert one["_h"]["name_norm"] == "李强" and one["_h"]["id_digits"] == "ID1-digits"
    assert one["_h"]["birth_date"] == B
    # the distinct phones of the holder's records, sorted; not the child's
    assert one["phone_norm"] == "13900000002|13900000009"
    assert sorted(one["_systems"]) == ["nucleic_acid:city", "population:grid"]
    assert one["_has_pop"] == 1
    assert (one["first_seen_date"], one["last_seen_date"]) == (D1, D2)
    assert one["pseudonym_key_version"] == "v2"
    assert ids["ID2"]["phone_norm"] == "" and ids["ID2"]["_has_pop"] == 0


def test_picks_follow_the_order_then_the_reference():
    ids, _ = _run()
    pick = ids["ID1"]["_pick_phone"]
    # a record with a phone first, then the most trusted (1: population)
    assert pick["_src"] == "p:grid:1" and pick["_has"] is True
    assert pick["o"] == {"k0": 0, "k1": 1, "k2": "p:grid:1"}
    pick2 = ids["ID2"]["_pick_phone"]
    assert pick2["_has"] is False and pick2["_src"] == "n:nat:7"


def test_firsts_take_the_first_record_by_reference_that_has_a_value():
    ids, _ = _run()
    # the homophone's n:city:1 sorts first (the head prefers the population record)
    assert ids["ID1"]["_pii_name_norm"] == "李墙"
    assert ids["ID1"]["_pii_birth"] == B
    assert ids["ID2"]["_pii_birth"] is None


def test_more_id_partitions_when_the_records_would_outgrow_a_worker(tmp_path):
    import pyarrow.parquet as pq

    from zhongtai.spark.jobs import load_job

    job = load_job("match_persons")
    files = []
    for i, n in enumerate((12, 13)):
        f = tmp_path / f"{i}.parquet"
        pq.write_table(pa.table({"x": list(range(n))}), f)
        files.append(str(f))
    assert job.id_partitions(files, 8, most=10) == 8  # 25 records fit the configured 8
    assert job.id_partitions(files, 2, most=10) == 3  # 2 would hold 13 each
