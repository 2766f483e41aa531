"""The person linker against the hard cases of the domain, on tiny hand-built clean partitions.

Each case is a small household written as the clean zone holds it (the cleaning rules
themselves normalise the hand-written IDs, names and phones); one matching run links them
all, and each test asserts on the crosswalk the run produced.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from zhongtai.clean.names import normalise_name
from zhongtai.clean.phones import normalise_phone
from zhongtai.clean.resident_ids import normalise_id
from zhongtai.ids.resident_id import check_char
from zhongtai.lake import Lake
from zhongtai.match import build_person_master
from zhongtai.privacy.masking import mask_id, mask_name, mask_phone
from zhongtai.privacy.pseudonym import Pseudonymiser
from zhongtai.settings import Settings

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 1)
TS = pa.timestamp("us", tz="UTC")


def rid(birth: str, seq: str, region: str = "110105") -> str:
    body = region + birth + seq
    return body + check_char(body)


IDS = {
    "twin_a": rid("20100305", "011"),
    "twin_b": rid("20100305", "021"),
    "parent": rid("19800101", "033"),
    "child": rid("20150601", "042"),
    "father": rid("19700202", "051"),
    "mother": rid("19720303", "062"),
    "son": rid("19990909", "071"),
    "chen": rid("19850505", "081"),
    "zhao": rid("19900707", "092"),
    "sun": rid("19650808", "101"),
    "zhou": rid("19880808", "111"),
    "wu": rid("19800707", "121"),
}


def _swap(n: str) -> str:
    i = next(i for i in range(8, 16) if n[i] != n[i + 1])
    return n[:i] + n[i + 1] + n[i] + n[i + 2 :]


class _Rows:
    def __init__(self, settings: Settings) -> None:
        self.ps = Pseudonymiser.from_settings(settings)
        self.rows: dict[str, list[dict]] = {"population": [], "nucleic_acid": []}

    def add(
        self,
        feed: str,
        rec: str,
        id_number: str | None,
        name: str,
        phone: str | None,
        address_id: str | None = None,
    ) -> None:
        i = normalise_id(None, id_number, D)
        n = normalise_name(name)
        p = normalise_phone(phone)
        row = {
            "id_type": i.id_type,
            "id_number": id_number,
            "id_number_norm": i.number,
            "id_status": i.status,
            "id_valid": i.valid,
            "id_pseudonym": self.ps.person(i.id_type, i.number),
            "id_masked": mask_id(i.number, i.id_type),
            "birth_date_from_id": i.birth_date,
            "gender_from_id": i.gender,
            "name_norm": n.name,
            "name_pinyin": n.pinyin,
            "name_masked": mask_name(n.name),
            "phone_norm": p.number,
            "phone_pseudonym": self.ps.phone(p.number),
            "phone_masked": mask_phone(p.number),
            "pseudonym_key_version": "v1",
            "business_date": D,
            "_line_number": 1,
            "_ingested_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        }
        if feed == "population":
            row |= {
                "source_system": "hukou",
                "source_record_id": rec,
                "address_id": address_id,
                "address_community_code": "110105001001",
                "grid_id": "G1",
                "residence_status": "permanent",
                "record_status": "active",
            }
        else:
            row |= {"source_platform": "city", "sample_id": rec}
        self.rows[feed].append(row)

    def table(self, feed: str) -> pa.Table:
        rows = self.rows[feed]
        types = {
            "birth_date_from_id": pa.date32(),
            "business_date": pa.date32(),
            "_ingested_at": TS,
            "_line_number": pa.int64(),
            "id_valid": pa.bool_(),
        }
        names = list(dict.fromkeys(k for r in rows for k in r))
        schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
        return pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)


@pytest.fixture(scope="module")
def linked(spark, tmp_path_factory):
    """One matching run over every adversarial case; the crosswalk by record id."""
    root = tmp_path_factory.mktemp("adversarial")
    settings = Settings(
        lake=str(root / "lake"),
        state_dir=str(root / "state"),
        truth_dir=str(root / "truth"),
        _pseudonym_key="test-key-not-secret",
    )
    r = _Rows(settings)
    pop = [
        ("twin_a", "张一鸣", "13800000001", "A1"),
        ("twin_b", "张一明", "13800000001", "A1"),
        ("parent", "李强", "13900000002", "A2"),
        ("child", "李小雨", "13900000002", "A2"),
        ("father", "王建国", "13700000003", "A3"),
        ("mother", "刘芳", "13700000003", "A3"),
        ("son", "王磊", "13700000003", "A3"),
        ("chen", "陈晓东", "13600000004", "A4"),
        ("zhao", "赵敏", "13500000005", "A5"),
        ("sun", "孙伟", "13300000006", "A6"),
        ("zhou", "周杰", "13200000007", "A7"),
        ("wu", "吴磊", None, "A8"),  # no phone in the population register
    ]
    for who, name, phone, addr in pop:
        r.add("population", f"h-{who}", IDS[who], name, phone, addr)
    sun15 = IDS["sun"][:6] + IDS["sun"][8:17]
    tests = [
        ("t-twin-a", None, "张一鸣", "13800000001"),  # twin, ID missing
        ("t-child", IDS["parent"], "李小雨", "13900000002"),  # child tested under parent's ID
        ("t-parent", IDS["parent"], "李强", "13900000002"),
        ("t-mother", None, "刘芳", "137 0000 0003"),  # household phone, no ID
        ("t-chen-trad", None, "陳曉東", "13600000004"),  # traditional characters
        ("t-chen-homo", IDS["chen"], "陈小东", None),  # homophone with a valid ID
        ("t-zhao-swap", _swap(IDS["zhao"]), "赵敏", None),  # two swapped digits
        ("t-sun-15", sun15, "孙伟", None),  # 15-digit legacy ID
        ("t-zhou-pinyin", None, "Zhou Jie", "13200000007"),  # pinyin-only name
        ("t-stranger", None, "欧阳娜娜", "18800000009"),  # nobody we know
        ("t-wu-swap", _swap(IDS["wu"]), "吴磊", "13100000008"),  # the only phone of 吴磊
    ]
    for rec, id_number, name, phone in tests:
        r.add("nucleic_acid", rec, id_number, name, phone)
    lake = Lake(settings)
    lake.publish_table("clean", "population", D, r.table("population"), "r1")
    lake.publish_table("clean", "nucleic_acid", D, r.table("nucleic_acid"), "r1")
    report = build_person_master(settings, D, "r1")
    xw = {
        row["source_record_id"]: row
        for row in lake.read_table("master", "person_crosswalk", D).to_pylist()
    }
    return report, xw, lake


def key(xw: dict, rec: str) -> str:
    return xw[rec]["person_key"]


def test_twins_stay_two_persons_and_a_record_finds_the_right_twin(linked):
    _, xw, _ = linked
    assert key(xw, "h-twin_a") != key(xw, "h-twin_b")
    assert key(xw, "t-twin-a") == key(xw, "h-twin_a")
    assert xw["t-twin-a"]["grade"] in ("certain", "possible")


def test_child_tested_under_a_parents_id_links_to_the_child(linked):
    _, xw, _ = linked
    assert key(xw, "t-child") == key(xw, "h-child")
    assert key(xw, "t-child") != key(xw, "h-parent")
    assert key(xw, "t-parent") == key(xw, "h-parent")
    assert '"rule":"scored"' in xw["t-child"]["evidence"]


def test_household_sharing_one_phone_is_not_merged(linked):
    _, xw, _ = linked
    assert len({key(xw, f"h-{w}") for w in ("father", "mother", "son")}) == 3
    assert key(xw, "t-mother") == key(xw, "h-mother")


def test_traditional_and_homophone_names(linked):
    _, xw, _ = linked
    assert key(xw, "t-chen-trad") == key(xw, "h-chen")
    assert key(xw, "t-chen-homo") == key(xw, "h-chen")
    assert xw["t-chen-homo"]["grade"] == "certain"


def test_swapped_digits_and_legacy_15_digit_ids(linked):
    _, xw, _ = linked
    assert key(xw, "t-zhao-swap") == key(xw, "h-zhao")
    assert xw["t-zhao-swap"]["grade"] == "certain"
    assert '"id_number":{"level":"one_edit"' in xw["t-zhao-swap"]["evidence"]
    assert key(xw, "t-sun-15") == key(xw, "h-sun")
    assert '"rule": "exact_valid_id"' in xw["t-sun-15"]["evidence"]


def test_pinyin_only_name_and_a_stranger(linked):
    report, xw, lake = linked
    assert key(xw, "t-zhou-pinyin") == key(xw, "h-zhou")
    assert xw["t-stranger"]["grade"] == "new"
    assert key(xw, "t-stranger") not in {key(xw, f"h-{w}") for w in IDS}
    # every record has exactly one row; 12 library persons + the stranger
    assert report.records == 23 and report.persons == 13
    persons = lake.read_table("master", "persons", D)
    assert not {"id_number_norm", "name_norm", "phone_norm"} & set(persons.column_names)
    assert lake.read_table("master", "person_key_log", D).num_rows == 13


def test_golden_record_merges_the_id_records_with_the_residue_that_joined_them(linked):
    """A residue record linked to an ID's person takes part in its golden record: its
    record and source system count, and it supplies a field the ID's records lack (the
    phone), while the register keeps the fields its trust wins (name, residence)."""
    import json

    _, xw, lake = linked
    wu = key(xw, "h-wu")
    assert key(xw, "t-wu-swap") == wu
    persons = {r["person_key"]: r for r in lake.read_table("master", "persons", D).to_pylist()}
    p = persons[wu]
    assert p["records"] == 2
    assert p["source_systems"] == "nucleic_acid:city;population:hukou"
    assert p["phone_masked"] == mask_phone("13100000008")
    sources = json.loads(p["field_sources"])
    assert sources["phone"] == "nucleic_acid:city:t-wu-swap"
    assert sources["name"] == sources["residence"] == sources["id"] == "population:hukou:h-wu"
    assert (p["is_resident"], p["address_id"]) == (True, "A8")
    # the mother's residue record adds its record and system; the register's phone wins
    mother = persons[key(xw, "h-mother")]
    assert key(xw, "t-mother") == key(xw, "h-mother")
    assert mother["records"] == 2
    assert json.loads(mother["field_sources"])["phone"] == "population:hukou:h-mother"
    # a person of residue records only has no ID and no residence
    stranger = persons[key(xw, "t-stranger")]
    assert (stranger["records"], stranger["id_pseudonym"], stranger["is_resident"]) == (
        1,
        None,
        False,
    )
    assert set(json.loads(stranger["field_sources"])) == {"name", "phone"}
