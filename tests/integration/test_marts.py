"""The marts on a small known day (codes, coverage, tasks, reconciliation) on DuckDB and Postgres.

The lake holds three business days (2026-11-01..03, Asia/Shanghai) for eleven persons whose
expected codes follow from the default rule set by hand (see ``PEOPLE``); the marts are built
once per module for 2026-11-03 and every test reads what dbt produced.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from zhongtai.ids.resident_id import check_char
from zhongtai.lake.store import Lake
from zhongtai.privacy import Pseudonymiser
from zhongtai.settings import Settings
from zhongtai.warehouse import build_marts, load_warehouse, read_mart

pytestmark = pytest.mark.integration

SH = dt.timezone(dt.timedelta(hours=8))
D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
C1, C2, TOWNSHIP = "110105001001", "110105001002", "110105001000"
TS = pa.timestamp("us", tz="UTC")

# person: (residence_status, record_status, has_population_record, community, grid, birth_year)
PEOPLE = {
    "P01": ("permanent", "active", True, C1, "G1", 1980),  # R1 red day1, R1_CLEAR day3
    "P02": ("permanent", "active", True, C1, "G1", 1990),  # Y1 missed round, cleared by test day2
    "P03": ("floating", "active", True, C2, "G2", 2000),  # tested on both platforms: once
    "P04": ("permanent", "active", True, C2, "G2", 1950),  # Y2 suspect day2, appeal clears day3
    "P05": ("permanent", "active", True, C1, "G1", 2015),  # pooled positive day2: yellow Y3
    "P06": ("away", "active", True, C1, "G1", 1985),  # not in a round's scope
    "P07": (None, "active", False, None, None, 1970),  # tested, not in the library
    "P08": ("permanent", "removed", True, C1, "G1", 1940),  # not a resident
    "P09": ("floating", "active", True, C2, "G2", 1995),  # invalid result in round: Y1 stays
    "P10": ("permanent", "active", True, C2, "G2", 1960),  # a possible match
    "P11": ("permanent", "active", True, C1, "G1", 1975),  # positive corrected to negative
}
# a duplicate master record of P03 on D1 and D2 (the same ID), merged into KP03 on D3
DUPLICATE = {"P03B": ("away", "active", True, C2, "G2", 2000)}


# raw identity of each person: must never reach the warehouse
def _resident_id(i: int) -> str:
    first17 = f"11010519{60 + i:02d}0101{i:03d}"
    return first17 + check_char(first17)


PII = {k: (_resident_id(i), f"张{k}三", f"1380000{i:04d}") for i, k in enumerate(PEOPLE)}
PSEUDONYM_KEY = "test-key-not-secret"


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH).astimezone(dt.UTC)


# (platform, sample_id, tube_id, pool, person, sampled, tested, result, in_district, delivered)
TESTS = [
    ("city", "S01a", "T01a", 1, "P01", at(D1, 10), at(D1, 12), "positive", True, D1),
    ("city", "S01b", "T01b", 1, "P01", at(D2, 8), at(D2, 12), "negative", True, D2),
    ("city", "S01c", "T01c", 1, "P01", at(D3, 9), at(D3, 13), "negative", True, D3),
    ("city", "S02", "T02", 1, "P02", at(D2, 9), at(D2, 15), "negative", True, D2),
    ("city", "S03", "T03", 1, "P03", at(D1, 9), at(D1, 14), "negative", True, D1),
    ("national", "N03", "T03", 1, "P03", at(D1, 9), at(D1, 14), "negative", True, D1),
    ("city", "S04a", "T04a", 1, "P04", at(D1, 11), at(D1, 16), "negative", True, D1),
    ("city", "S04b", "T04b", 1, "P04", at(D2, 10), at(D2, 14), "suspect", True, D2),
    ("city", "S05a", "T05a", 5, "P05", at(D1, 9), at(D1, 13), "negative", True, D1),
    ("city", "S05b", "T05b", 5, "P05", at(D2, 9), at(D2, 16), "positive", True, D2),
    ("city", "S07", "T07", 1, "P07", at(D1, 9), at(D1, 12), "negative", True, D1),
    ("city", "S09", "T09", 1, "P09", at(D1, 9), at(D1, 12), "invalid", True, D1),
    ("city", "S10", "T10", 1, "P10", at(D2, 9), at(D2, 12), "negative", True, D2),
    ("city", "S11", "T11", 1, "P11", at(D1, 9), at(D1, 12), "positive", True, D1),
    ("city", "S11", "T11", 1, "P11", at(D1, 9), at(D1, 12), "negative", True, D2),  # correction
]
ROUND = ("R2026-01", "全员核酸第一轮", at(D1, 8), at(D1, 20), TOWNSHIP)
# appeal: (appeal_id, person, submitted, decision, decided, delivered)
APPEALS = [
    ("A04", "P04", at(D2, 18), "pending", None, D2),
    ("A04", "P04", at(D2, 18), "approved", at(D3, 10), D3),
]


# vaccination: (system, record_id, person, dose, vaccinated, delivered)
VACCINATIONS = [
    ("cdc", "V1", "P01", 1, at(D1, 9), D1),
    ("cdc", "V2", "P01", 2, at(D2, 9), D2),
    ("cdc", "V3", "P02", 1, at(D1, 10), D1),
    ("clinic", "V4", "P02", 1, at(D1, 10), D1),  # the same dose from a second system: once
    ("cdc", "V5", "P05", 1, at(D2, 10), D2),
    ("cdc", "V7", "P07", 1, at(D2, 10), D2),  # not a resident: not counted
]


def _pseudo(person: str) -> str:
    """The keyed pseudonym the cleaning step gives the person's resident ID."""
    return Pseudonymiser(PSEUDONYM_KEY.encode(), "v1").person("resident_id", PII[person][0])


def _lineage(n: int, day: dt.date, feed: str) -> dict[str, Any]:
    return {
        "_delivery_id": [f"{feed}-{day}"] * n,
        "_source": ["city"] * n,
        "_ingested_at": pa.array([at(day, 22)] * n, TS),
        "business_date": pa.array([day] * n, pa.date32()),
    }


def publish_master(lake: Lake, day: dt.date, run: str) -> None:
    """The master snapshot of ``day``: on D1 and D2 the matcher still holds P03 twice (KP03 and
    KP03B share one ID pseudonym: an identity conflict), merged on D3; the crosswalk holds the
    records delivered so far."""
    people = {**PEOPLE, **(DUPLICATE if day < D3 else {})}
    persons = list(people)
    pseudo = {p: _pseudo(p[:3]) for p in persons}
    lake.publish_table(
        "master",
        "persons",
        day,
        pa.table(
            {
                "person_key": [f"K{p}" for p in persons],
                "id_type": ["resident_id"] * len(persons),
                "id_pseudonym": [pseudo[p] for p in persons],
                "id_masked": [PII[p[:3]][0][:6] + "********" + PII[p[:3]][0][-4:] for p in persons],
                "name_masked": ["张*"] * len(persons),
                "gender": ["M"] * len(persons),
                "birth_year": [people[p][5] for p in persons],
                "phone_pseudonym": [f"ph-{p}" for p in persons],
                "phone_masked": ["138****0000"] * len(persons),
                "residence_status": [people[p][0] for p in persons],
                "record_status": [people[p][1] for p in persons],
                "has_population_record": [people[p][2] for p in persons],
                "is_resident": [people[p][2] and people[p][1] == "active" for p in persons],
                "community_code": [people[p][3] for p in persons],
                "grid_id": [people[p][4] for p in persons],
                "address_id": [None] * len(persons),
                "source_systems": [["hukou"]] * len(persons),
                "first_seen_date": pa.array([D1] * len(persons), pa.date32()),
                "last_seen_date": pa.array([day] * len(persons), pa.date32()),
                "pseudonym_key_version": ["v1"] * len(persons),
                # matching internals that must not be loaded even if a stage leaves them here
                "id_number_norm": [PII[p[:3]][0] for p in persons],
                "name_norm": [PII[p[:3]][1] for p in persons],
            }
        ),
        run,
    )
    xw_rows = [
        (
            "nucleic_acid",
            t[0],
            t[1],
            f"K{t[4]}",
            "possible" if t[4] == "P10" else ("new" if t[4] == "P07" else "certain"),
        )
        for t in TESTS
        if t[9] <= day
    ] + [("appeals", "appeals", a[0], f"K{a[1]}", "certain") for a in APPEALS if a[5] <= day]
    xw_rows = list(dict.fromkeys(xw_rows))
    lake.publish_table(
        "master",
        "person_crosswalk",
        day,
        pa.table(
            {
                "feed": [r[0] for r in xw_rows],
                "source_system": [r[1] for r in xw_rows],
                "source_record_id": [r[2] for r in xw_rows],
                "person_key": [r[3] for r in xw_rows],
                "grade": [r[4] for r in xw_rows],
                "score": [0.99] * len(xw_rows),
                "evidence": ['{"id": "exact"}'] * len(xw_rows),
                "business_date": pa.array([day] * len(xw_rows), pa.date32()),
            }
        ),
        run,
    )


# raw values the address and entity matchers keep beside their golden records
ADDRESS_TEXT, REPRESENTATIVE = "北京市朝阳区某路1号3栋2单元501", "王某某建国"


def publish_entity_and_address_masters(lake: Lake, day: dt.date, run: str) -> None:
    """The address and legal-entity libraries, first built on ``day`` (absent before)."""

    def table(columns: dict[str, list[Any]], dates: tuple[str, ...] = ()) -> pa.Table:
        return pa.table(
            {k: pa.array(v, pa.date32()) if k in dates else v for k, v in columns.items()}
        )

    golden = ("first_seen_date", "last_seen_date")
    lake.publish_table(
        "master",
        "addresses",
        day,
        table(
            {
                "address_key": ["A1", "A2"],
                "address_id": ["ADDR1", None],
                "community_code": [C1, C2],
                "grid_id": ["G1", "G2"],
                "building": ["3", "7"],
                "unit": ["2", "1"],
                "room": ["501", "101"],
                "address_masked": [
                    "北京市朝阳区某路1号*栋*单元***",
                    "北京市朝阳区某街2号*栋*单元***",
                ],
                "source_systems": [
                    "addresses:std;population:hukou",
                    "legal_entity:market_regulation",
                ],
                "records": [2, 1],
                "first_seen_date": [day, day],
                "last_seen_date": [day, day],
                "field_sources": ['{"grid_id": "addresses:std:ADDR1"}', "{}"],
                "address_norm": [ADDRESS_TEXT, ADDRESS_TEXT],  # an internal left behind
            },
            golden,
        ),
        run,
    )
    xw = [
        ("addresses", "std", "ADDR1", "standard", "A1", "certain"),
        ("population", "hukou", "H01", "residence", "A1", "certain"),
        ("legal_entity", "market_regulation", "M1", "registered", "A2", "new"),
    ]
    keys = ("feed", "source_system", "source_record_id", "address_role", "address_key", "grade")
    lake.publish_table(
        "master",
        "address_crosswalk",
        day,
        table(
            {
                **{k: [r[i] for r in xw] for i, k in enumerate(keys)},
                "score": [1.0, 0.97, 0.0],
                "evidence": ['{"address_id": "exact"}', '{"core": 0.97}', "{}"],
                "business_date": [day] * len(xw),
            },
            ("business_date",),
        ),
        run,
    )
    lake.publish_table(
        "master",
        "entities",
        day,
        table(
            {
                "entity_key": ["E1"],
                "uscc": ["91110105MA00000000"],
                "entity_name": ["北京某某科技有限公司"],
                "legal_representative": [REPRESENTATIVE],
                "legal_representative_masked": ["王****"],
                "contact_phone_pseudonym": ["ph-E1"],
                "contact_phone_masked": ["139****0000"],
                "registered_address_key": ["A2"],
                "business_address_key": [None],
                "source_systems": ["legal_entity:market_regulation;legal_entity:tax"],
                "records": [2],
                "first_seen_date": [day],
                "last_seen_date": [day],
                "field_sources": ['{"entity_name": "legal_entity:market_regulation:M1"}'],
            },
            golden,
        ),
        run,
    )
    lake.publish_table(
        "master",
        "entity_crosswalk",
        day,
        table(
            {
                "feed": ["legal_entity", "legal_entity"],
                "source_system": ["market_regulation", "tax"],
                "source_record_id": ["M1", "T1"],
                "entity_key": ["E1", "E1"],
                "grade": ["certain", "possible"],
                "score": [1.0, 0.9],
                "evidence": ['{"uscc": "exact"}', '{"name": 0.9}'],
                "business_date": [day, day],
            },
            ("business_date",),
        ),
        run,
    )


def build_lake(settings: Settings) -> None:
    """Publish the three days into the lake (clean feeds carry raw PII, as in production)."""
    lake = Lake(settings)
    run = "test-run"
    for day in (D1, D2, D3):
        publish_master(lake, day, run)
    publish_entity_and_address_masters(lake, D3, run)
    for day in (D1, D2, D3):
        rows = [t for t in TESTS if t[9] == day]
        n = len(rows)
        lake.publish_table(
            "clean",
            "nucleic_acid",
            day,
            pa.table(
                {
                    "source_platform": [r[0] for r in rows],
                    "sample_id": [r[1] for r in rows],
                    "tube_id": [r[2] for r in rows],
                    "pool_size": pa.array([r[3] for r in rows], pa.int64()),
                    "id_type": ["resident_id"] * n,
                    "id_number": [PII[r[4]][0] for r in rows],
                    "name": [PII[r[4]][1] for r in rows],
                    "phone": [PII[r[4]][2] for r in rows],
                    "id_number_norm": [PII[r[4]][0] for r in rows],
                    "name_norm": [PII[r[4]][1] for r in rows],
                    "name_pinyin": ["zhang san"] * n,
                    "phone_norm": [PII[r[4]][2] for r in rows],
                    "id_pseudonym": [_pseudo(r[4]) for r in rows],
                    "id_masked": ["110105********000X"] * n,
                    "id_status": ["valid"] * n,
                    "id_valid": [True] * n,
                    "sampled_at": pa.array([r[5] for r in rows], TS),
                    "tested_at": pa.array([r[6] for r in rows], TS),
                    "result": [r[7] for r in rows],
                    "site_in_district": [r[8] for r in rows],
                    "site_division_code": [C1] * n,
                    "sample_date": pa.array(
                        [r[5].astimezone(SH).date() for r in rows], pa.date32()
                    ),
                    **_lineage(n, day, "nucleic_acid"),
                }
            ),
            run,
        )
        vacs = [v for v in VACCINATIONS if v[5] == day]
        lake.publish_table(
            "clean",
            "vaccination",
            day,
            pa.table(
                {
                    "source_system": [v[0] for v in vacs],
                    "record_id": [v[1] for v in vacs],
                    "id_type": ["resident_id"] * len(vacs),
                    "id_number": [PII[v[2]][0] for v in vacs],
                    "name": [PII[v[2]][1] for v in vacs],
                    "phone": [PII[v[2]][2] for v in vacs],
                    "id_pseudonym": [_pseudo(v[2]) for v in vacs],
                    "dose_number": pa.array([v[3] for v in vacs], pa.int64()),
                    "vaccinated_at": pa.array([v[4] for v in vacs], TS),
                    **_lineage(len(vacs), day, "vaccination"),
                }
            ),
            run,
        )
        apps = [a for a in APPEALS if a[5] == day]
        if apps:
            m = len(apps)
            lake.publish_table(
                "clean",
                "appeals",
                day,
                pa.table(
                    {
                        "appeal_id": [a[0] for a in apps],
                        "id_type": ["resident_id"] * m,
                        "id_number": [PII[a[1]][0] for a in apps],
                        "name": [PII[a[1]][1] for a in apps],
                        "id_pseudonym": [_pseudo(a[1]) for a in apps],
                        "reason": ["medical"] * m,
                        "submitted_at": pa.array([a[2] for a in apps], TS),
                        "decision": [a[3] for a in apps],
                        "decided_at": pa.array([a[4] for a in apps], TS),
                        **_lineage(m, day, "appeals"),
                    }
                ),
                run,
            )
        lake.publish_table(
            "ledger",
            "deliveries_nucleic_acid",  # ingestion ledgers each feed in its own dataset
            day,
            pa.table(
                {
                    "delivery_id": [f"nucleic_acid-{day}"],
                    "feed": ["nucleic_acid"],
                    "source": ["city"],
                    "business_date": pa.array([day], pa.date32()),
                    "status": ["loaded"],
                    "rows_in": pa.array([n + 2], pa.int64()),
                    "rows_loaded": pa.array([n], pa.int64()),
                    "rows_quarantined": pa.array([1], pa.int64()),
                    "rows_duplicate": pa.array([1], pa.int64()),
                    "ingested_at": pa.array([at(day, 22)], TS),
                }
            ),
            run,
        )
    lake.publish_table(
        "clean",
        "testing_rounds",
        D1,
        pa.table(
            {
                "round_id": [ROUND[0]],
                "name": [ROUND[1]],
                "starts_at": pa.array([ROUND[2]], TS),
                "ends_at": pa.array([ROUND[3]], TS),
                "scope": [ROUND[4]],
                **_lineage(1, D1, "testing_rounds"),
            }
        ),
        run,
    )
    lake.publish_table(
        "clean",
        "grids",
        D1,
        pa.table(
            {
                "grid_id": ["G1", "G2"],
                "community_code": [C1, C2],
                "grid_name": ["一网格", "二网格"],
                "grid_worker_id": ["W1", "W2"],
                **_lineage(2, D1, "grids"),
            }
        ),
        run,
    )


def _settings(root, warehouse: str | None = None) -> Settings:
    return Settings(
        lake=str(root / "lake"),
        warehouse=warehouse or str(root / "warehouse" / "zt.duckdb"),
        state_dir=str(root / "state"),
        _pseudonym_key=PSEUDONYM_KEY,
    )


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory):
    """The three days loaded and the marts built once on DuckDB for 2026-11-03."""
    root = tmp_path_factory.mktemp("marts-duckdb")
    settings = _settings(root)
    build_lake(settings)
    earlier = build_days(settings, [D1, D2, D2])  # D2 twice: a re-run replaces its own day
    counts = load_warehouse(settings, D3, "run-1")
    report = build_marts(settings, D3, "run-1")
    return settings, counts, report, earlier


def build_days(settings: Settings, days: list[dt.date]) -> list:
    """Load and build each day in turn, as the daily pipeline does; return the reports."""
    reports = []
    for day in days:
        load_warehouse(settings, day, f"run-{day}")
        reports.append(build_marts(settings, day, f"run-{day}"))
    return reports


def rows(settings: Settings, sql: str) -> list[dict[str, Any]]:
    return read_mart(settings, sql)


def local(ts: dt.datetime) -> str:
    return ts.astimezone(SH).strftime("%m-%d %H:%M")


def test_build_passes_every_model_data_test_and_unit_test(duck):
    _, counts, report, _ = duck
    assert counts["lake.nucleic_acid_tests"] == len(TESTS)
    assert counts["master.persons"] == len(PEOPLE)
    assert counts["lake.code_rules"] > 0
    assert report.success, report.errors
    assert report.tests_failed == []
    assert report.tests_passed >= 30
    assert report.mart_rows["person_codes"] == 9


def test_person_codes_follow_the_default_rules(duck):
    settings = duck[0]
    got = {
        r["person_key"]: (r["code"], r["rule_id"], r["rule_version"])
        for r in rows(settings, "select * from marts.person_codes")
    }
    assert got == {
        "KP01": ("green", "R1_CLEAR", "1"),
        "KP02": ("green", "Y_CLEAR_TEST", "1"),
        "KP03": ("green", None, None),
        "KP04": ("green", "Y_CLEAR_APPEAL", "1"),
        "KP05": ("yellow", "Y3", "1"),
        "KP06": ("green", None, None),
        "KP09": ("yellow", "Y1", "1"),
        "KP10": ("yellow", "Y1", "1"),  # a possible match links nobody: not tested
        "KP11": ("green", None, None),  # its positive was corrected before the round's deadline
    }


def test_code_events_carry_rule_time_and_evidence(duck):
    settings = duck[0]
    got = [
        (
            r["person_key"],
            local(r["event_at"]),
            r["from_code"],
            r["to_code"],
            r["rule_id"],
            r["evidence_sample_ids"],
            r["evidence_round_id"],
            r["evidence_appeal_id"],
        )
        for r in rows(settings, "select * from marts.code_events order by person_key, event_at")
    ]
    assert got == [
        ("KP01", "11-01 12:00", "green", "red", "R1", "S01a", None, None),
        ("KP01", "11-03 13:00", "red", "green", "R1_CLEAR", "S01b,S01c", None, None),
        ("KP02", "11-01 20:00", "green", "yellow", "Y1", None, "R2026-01", None),
        ("KP02", "11-02 15:00", "yellow", "green", "Y_CLEAR_TEST", "S02", "R2026-01", None),
        ("KP04", "11-02 14:00", "green", "yellow", "Y2", "S04b", None, None),
        ("KP04", "11-03 10:00", "yellow", "green", "Y_CLEAR_APPEAL", None, None, "A04"),
        ("KP05", "11-02 16:00", "green", "yellow", "Y3", "S05b", None, None),
        ("KP09", "11-01 20:00", "green", "yellow", "Y1", None, "R2026-01", None),
        ("KP10", "11-01 20:00", "green", "yellow", "Y1", None, "R2026-01", None),
    ]


def test_testing_coverage_counts_each_person_once(duck):
    settings = duck[0]
    got = {
        r["community_code"]: (r["grid_id"], r["residents_in_scope"], r["tested"], r["not_tested"])
        for r in rows(settings, "select * from marts.testing_coverage")
    }
    # C1: P01 P02 P05 P11 (P06 is away, P08 removed); C2: P03 (both platforms) P04 P09 P10
    assert got == {C1: ("G1", 4, 3, 1), C2: ("G2", 4, 2, 2)}
    missing = rows(settings, "select * from marts.round_missing_persons order by person_key")
    assert [(r["round_id"], r["person_key"], r["grid_id"]) for r in missing] == [
        ("R2026-01", "KP02", "G1"),
        ("R2026-01", "KP09", "G2"),
        ("R2026-01", "KP10", "G2"),
    ]


def test_vaccination_coverage_by_dose_age_band_and_community(duck):
    settings = duck[0]
    got = {
        (r["dose_number"], r["age_band"], r["community_code"]): (
            r["residents"],
            r["vaccinated"],
            r["coverage_rate"],
        )
        for r in rows(settings, "select * from marts.vaccination_coverage")
        if r["vaccinated"]
    }
    # C1 residents aged 18-59: P01 P02 P06 P11 (P08 is removed); P07 is not a resident
    assert got == {
        (1, "18-59", C1): (4, 2, Decimal("0.5000")),
        (2, "18-59", C1): (4, 1, Decimal("0.2500")),
        (1, "3-11", C1): (1, 1, Decimal("1.0000")),
    }


def test_daily_summary_reconciles(duck):
    settings = duck[0]
    got = [
        (
            r["business_date"],
            r["comparisons"],
            r["assigned_red"],
            r["assigned_yellow"],
            r["cleared"],
            r["coded"],
            r["persons_in_library"],
        )
        for r in rows(settings, "select * from marts.daily_summary order by business_date")
    ]
    assert got == [
        (D1, 7, 1, 3, 0, 4, 9),
        (D2, 6, 0, 2, 1, 5, 9),
        (D3, 1, 0, 0, 2, 3, 9),
    ]


def test_verification_tasks_are_routed_with_reason_and_dates(duck):
    settings = duck[0]
    got = sorted(
        (
            r["task_kind"],
            r["person_key"],
            r["grid_id"],
            r["round_id"],
            r["opened_date"],
            r["closed_date"],
            r["is_open"],
            r["close_reason"],
        )
        for r in rows(settings, "select * from marts.verification_tasks")
    )
    assert got == [
        # the duplicate master record was merged on D3: both conflict tasks close that day
        ("identity_conflict", "KP03", "G2", None, D1, D3, False, "no_longer_detected"),
        ("identity_conflict", "KP03B", "G2", None, D1, D3, False, "no_longer_detected"),
        ("missed_round", "KP02", "G1", "R2026-01", D1, D2, False, "resolved"),
        ("missed_round", "KP09", "G2", "R2026-01", D1, None, True, None),
        ("missed_round", "KP10", "G2", "R2026-01", D1, None, True, None),
        ("not_in_library", "KP07", "G1", None, D1, None, True, None),
        # S10 arrived on D2 as a possible match: opened then, still open
        ("possible_match", "KP10", "G2", None, D2, None, True, None),
    ]


def test_task_days_keep_what_each_built_day_detected(duck):
    settings = duck[0]
    got: dict[dt.date, list[tuple]] = {}
    for r in rows(
        settings,
        "select * from marts.verification_task_days order by as_of_date, task_kind, person_key",
    ):
        got.setdefault(r["as_of_date"], []).append(
            (r["task_kind"], r["person_key"], r["closed_date"])
        )
    conflicts = [("identity_conflict", "KP03", None), ("identity_conflict", "KP03B", None)]
    assert got == {
        D1: [
            *conflicts,
            ("missed_round", "KP02", None),
            ("missed_round", "KP09", None),
            ("missed_round", "KP10", None),
            ("not_in_library", "KP07", None),
        ],
        # D2 was built twice: its rows are there once
        D2: [
            *conflicts,
            ("missed_round", "KP02", D2),
            ("missed_round", "KP09", None),
            ("missed_round", "KP10", None),
            ("not_in_library", "KP07", None),
            ("possible_match", "KP10", None),
        ],
        D3: [
            ("missed_round", "KP02", D2),
            ("missed_round", "KP09", None),
            ("missed_round", "KP10", None),
            ("not_in_library", "KP07", None),
            ("possible_match", "KP10", None),
        ],
    }
    assert all(r.success for r in duck[3]), [r.errors for r in duck[3]]


def test_daily_summary_counts_tasks_opened_and_closed_from_the_history(duck):
    settings = duck[0]
    got = [
        (r["business_date"], r["tasks_opened"], r["tasks_closed"])
        for r in rows(settings, "select * from marts.daily_summary order by business_date")
    ]
    assert got == [(D1, 6, 0), (D2, 1, 1), (D3, 0, 2)]


def test_quality_scorecard_from_ledger_and_crosswalk(duck):
    settings = duck[0]
    got = {
        r["business_date"]: (
            r["rows_in"],
            r["quarantine_rate"],
            r["duplication_rate"],
            r["completeness_rate"],
        )
        for r in rows(
            settings,
            "select * from marts.quality_scorecard where feed = 'nucleic_acid' "
            "and source_system = 'city'",
        )
    }
    # each day: the delivered rows + 1 quarantined + 1 duplicate (D1: 8 rows incl. both platforms)
    assert got == {
        D1: (10, Decimal("0.1000"), Decimal("0.1000"), Decimal("1.0000")),
        D2: (8, Decimal("0.1250"), Decimal("0.1250"), Decimal("1.0000")),
        D3: (3, Decimal("0.3333"), Decimal("0.3333"), Decimal("1.0000")),
    }


def test_master_schema_holds_the_published_libraries(duck):
    settings = duck[0]
    addresses = rows(settings, "select * from master.addresses order by address_key")
    assert [(r["address_key"], r["address_id"], r["records"]) for r in addresses] == [
        ("A1", "ADDR1", 2),
        ("A2", None, 1),
    ]
    assert not {"building", "unit", "room", "address_norm"} & set(addresses[0])
    roles = rows(
        settings,
        "select address_role, count(*) as n from master.address_crosswalk "
        "group by address_role order by address_role",
    )
    assert [(r["address_role"], r["n"]) for r in roles] == [
        ("registered", 1),
        ("residence", 1),
        ("standard", 1),
    ]
    (entity,) = rows(settings, "select * from master.entities")
    assert (entity["entity_key"], entity["registered_address_key"], entity["records"]) == (
        "E1",
        "A2",
        2,
    )
    linked = rows(
        settings,
        "select c.source_record_id, c.grade, a.community_code "
        "from staging.stg_master__entity_crosswalk as c "
        "join staging.stg_master__entities as e using (entity_key) "
        "join staging.stg_master__addresses as a on a.address_key = e.registered_address_key "
        "order by c.source_record_id",
    )
    assert [tuple(r.values()) for r in linked] == [("M1", "certain", C2), ("T1", "possible", C2)]
    gone = rows(
        settings,
        "select table_name from information_schema.tables where table_schema = 'lake' "
        "and table_name in ('persons', 'person_crosswalk')",
    )
    assert gone == []


def test_no_personal_data_reaches_the_warehouse(duck):
    settings = duck[0]
    secrets = {v for triple in PII.values() for v in triple} | {ADDRESS_TEXT, REPRESENTATIVE}
    tables = rows(
        settings,
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('lake', 'master', 'staging', 'intermediate', 'marts')",
    )
    assert len(tables) > 20
    for t in tables:
        for r in rows(settings, f'select * from {t["table_schema"]}."{t["table_name"]}"'):
            leaked = {v for v in r.values() if isinstance(v, str) and v in secrets}
            assert not leaked, f"{t['table_schema']}.{t['table_name']} holds raw PII"
            assert not any(isinstance(v, str) and "张P" in v for v in r.values())


def test_reload_is_idempotent(duck):
    settings, counts = duck[0], duck[1]
    assert load_warehouse(settings, D3, "run-1") == counts
    assert load_warehouse(settings, D1, "run-1")["lake.nucleic_acid_tests"] == 8
    load_warehouse(settings, D3, "run-1")


@pytest.fixture(scope="module")
def pg_settings(duck, postgres_dsn, tmp_path_factory):
    """The same lake built on a dedicated Postgres database, dropped afterwards."""
    import psycopg2

    name = f"zt_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(postgres_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    dsn = postgres_dsn.rsplit("/", 1)[0] + "/" + name
    duck_settings = duck[0]
    root = tmp_path_factory.mktemp("marts-postgres")
    settings = Settings(
        lake=duck_settings.lake,
        warehouse=dsn,
        state_dir=str(root / "state"),
        _pseudonym_key=PSEUDONYM_KEY,
    )
    try:
        build_days(settings, [D1, D2])
        load_warehouse(settings, D3, "run-1")
        report = build_marts(settings, D3, "run-1")
        yield settings, report
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists {name} with (force)")
        admin.close()


def _normal(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).isoformat()
    if isinstance(v, (Decimal, float)):
        return f"{float(v):.4f}"
    return v


@pytest.mark.parametrize(
    "mart",
    [
        "testing_coverage",
        "round_missing_persons",
        "vaccination_coverage",
        "person_codes",
        "code_events",
        "verification_task_days",
        "verification_tasks",
        "daily_summary",
        "quality_scorecard",
    ],
)
def test_postgres_marts_equal_duckdb_row_by_row(duck, pg_settings, mart):
    pg, report = pg_settings
    assert report.success, report.errors
    duck_rows = rows(duck[0], f"select * from marts.{mart}")
    pg_rows = rows(pg, f"select * from marts.{mart}")
    assert duck_rows, f"marts.{mart} is empty: the comparison would prove nothing"

    def canon(rs: list[dict[str, Any]]) -> list[tuple]:
        return sorted((tuple((k, _normal(v)) for k, v in sorted(r.items())) for r in rs), key=repr)

    assert canon(pg_rows) == canon(duck_rows)


@pytest.mark.parametrize(
    "table",
    [
        "persons",
        "person_crosswalk",
        "entities",
        "entity_crosswalk",
        "addresses",
        "address_crosswalk",
    ],
)
def test_postgres_master_tables_equal_duckdb_row_by_row(duck, pg_settings, table):
    pg, _ = pg_settings
    duck_rows = rows(duck[0], f"select * from master.{table}")
    pg_rows = rows(pg, f"select * from master.{table}")
    assert duck_rows, f"master.{table} is empty: the comparison would prove nothing"

    def canon(rs: list[dict[str, Any]]) -> list[tuple]:
        return sorted((tuple((k, _normal(v)) for k, v in r.items()) for r in rs), key=repr)

    assert canon(pg_rows) == canon(duck_rows)  # column order included


def test_postgres_analyst_role_reads_master_not_lake(pg_settings, monkeypatch):
    import psycopg2

    from zhongtai.warehouse import load as load_module

    pg, _ = pg_settings
    role = f"zt_test_analyst_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(pg.warehouse)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"create role {role} nologin")
        monkeypatch.setattr(load_module, "MASTER_READ_ROLES", (role,))
        load_warehouse(pg, D3, "run-1")
        with conn.cursor() as cur:
            cur.execute(
                "select table_schema, table_name, has_table_privilege(%s, "
                "quote_ident(table_schema) || '.' || quote_ident(table_name), 'select') "
                "from information_schema.tables where table_schema in ('master', 'lake')",
                (role,),
            )
            readable = {(s, t): ok for s, t, ok in cur.fetchall()}
            cur.execute("select has_schema_privilege(%s, 'master', 'usage')", (role,))
            (usage,) = cur.fetchone()
    finally:
        with conn.cursor() as cur:
            cur.execute(f"drop owned by {role}")
            cur.execute(f"drop role if exists {role}")
        conn.close()
    assert usage is True
    assert {t for (s, t), ok in readable.items() if s == "master" and ok} == {
        "persons",
        "person_crosswalk",
        "entities",
        "entity_crosswalk",
        "addresses",
        "address_crosswalk",
    }
    assert not any(ok for (s, _), ok in readable.items() if s == "lake")
    assert ("lake", "persons") not in readable


def _plain(v: Any) -> Any:
    """A dataclass tree with engine-specific values made comparable."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return _normal(v)


def test_explain_reads_the_same_on_postgres(duck, pg_settings):
    from dataclasses import asdict

    from zhongtai.warehouse.explain import explain_person

    pg, _ = pg_settings
    for who in ("KP01", "KP02", "KP04", "KP07", "KP09", _pseudo("P05"), PII["P11"][0]):
        on_duck = asdict(explain_person(duck[0], who))
        assert _plain(asdict(explain_person(pg, who))) == _plain(on_duck), who
    assert len(explain_person(pg, "KP01").events[1].sources) == 2
