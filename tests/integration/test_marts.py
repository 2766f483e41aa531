"""The marts on a small known day: codes, coverage, tasks and reconciliation, on DuckDB and Postgres.

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

from zhongtai.lake.store import Lake
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
# raw identity of each person: must never reach the warehouse
PII = {k: (f"11010519{60 + i:02d}0101{i:03d}X", f"张{k}三", f"1380000{i:04d}") for i, k in
       enumerate(PEOPLE)}


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


def _pseudo(person: str) -> str:
    return f"ps-{person.lower()}"


def _lineage(n: int, day: dt.date, feed: str) -> dict[str, Any]:
    return {
        "_delivery_id": [f"{feed}-{day}"] * n,
        "_source": ["city"] * n,
        "_ingested_at": pa.array([at(day, 22)] * n, TS),
        "business_date": pa.array([day] * n, pa.date32()),
    }


def build_lake(settings: Settings) -> None:
    """Publish the three days into the lake (clean feeds carry raw PII, as in production)."""
    lake = Lake(settings)
    run = "test-run"
    persons = [k for k in PEOPLE]
    lake.publish_table("master", "persons", D3, pa.table({
        "person_key": [f"K{p}" for p in persons],
        "id_type": ["resident_id"] * len(persons),
        "id_pseudonym": [_pseudo(p) for p in persons],
        "id_masked": [PII[p][0][:6] + "********" + PII[p][0][-4:] for p in persons],
        "name_masked": ["张*"] * len(persons),
        "gender": ["M"] * len(persons),
        "birth_year": [PEOPLE[p][5] for p in persons],
        "phone_pseudonym": [f"ph-{p}" for p in persons],
        "phone_masked": ["138****0000"] * len(persons),
        "residence_status": [PEOPLE[p][0] for p in persons],
        "record_status": [PEOPLE[p][1] for p in persons],
        "has_population_record": [PEOPLE[p][2] for p in persons],
        "is_resident": [PEOPLE[p][2] and PEOPLE[p][1] == "active" for p in persons],
        "community_code": [PEOPLE[p][3] for p in persons],
        "grid_id": [PEOPLE[p][4] for p in persons],
        "address_id": [None] * len(persons),
        "source_systems": [["hukou"]] * len(persons),
        "first_seen_date": pa.array([D1] * len(persons), pa.date32()),
        "last_seen_date": pa.array([D3] * len(persons), pa.date32()),
        "pseudonym_key_version": ["v1"] * len(persons),
        # matching internals that must not be loaded even if a stage leaves them here
        "id_number_norm": [PII[p][0] for p in persons],
        "name_norm": [PII[p][1] for p in persons],
    }), run)
    xw_rows = [
        ("nucleic_acid", t[0], t[1], f"K{t[4]}", "possible" if t[4] == "P10" else
         ("new" if t[4] == "P07" else "certain"))
        for t in TESTS
    ] + [("appeals", "appeals", "A04", "KP04", "certain")]
    xw_rows = list(dict.fromkeys(xw_rows))
    lake.publish_table("master", "person_crosswalk", D3, pa.table({
        "feed": [r[0] for r in xw_rows],
        "source_system": [r[1] for r in xw_rows],
        "source_record_id": [r[2] for r in xw_rows],
        "person_key": [r[3] for r in xw_rows],
        "grade": [r[4] for r in xw_rows],
        "score": [0.99] * len(xw_rows),
        "evidence": ['{"id": "exact"}'] * len(xw_rows),
        "business_date": pa.array([D3] * len(xw_rows), pa.date32()),
    }), run)
    for day in (D1, D2, D3):
        rows = [t for t in TESTS if t[9] == day]
        n = len(rows)
        lake.publish_table("clean", "nucleic_acid", day, pa.table({
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
            "sample_date": pa.array([r[5].astimezone(SH).date() for r in rows], pa.date32()),
            **_lineage(n, day, "nucleic_acid"),
        }), run)
        apps = [a for a in APPEALS if a[5] == day]
        if apps:
            m = len(apps)
            lake.publish_table("clean", "appeals", day, pa.table({
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
            }), run)
        lake.publish_table("ledger", "deliveries", day, pa.table({
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
        }), run)
    lake.publish_table("clean", "testing_rounds", D1, pa.table({
        "round_id": [ROUND[0]], "name": [ROUND[1]],
        "starts_at": pa.array([ROUND[2]], TS), "ends_at": pa.array([ROUND[3]], TS),
        "scope": [ROUND[4]], **_lineage(1, D1, "testing_rounds"),
    }), run)
    lake.publish_table("clean", "grids", D1, pa.table({
        "grid_id": ["G1", "G2"], "community_code": [C1, C2], "grid_name": ["一网格", "二网格"],
        "grid_worker_id": ["W1", "W2"], **_lineage(2, D1, "grids"),
    }), run)
