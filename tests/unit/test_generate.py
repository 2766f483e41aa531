"""The synthetic feed generator: layout, formats, truth, dirt rates, check digits, determinism."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from zhongtai.contracts.model import all_contracts, normalise_header
from zhongtai.errors import ZhongtaiError
from zhongtai.generate import DirtConfig, GenerateConfig, generate
from zhongtai.ids.resident_id import is_valid_check
from zhongtai.settings import Settings

DAY1 = dt.date(2026, 11, 1)
DAY2 = dt.date(2026, 11, 2)
PERSON_FEEDS = ("population", "nucleic_acid", "vaccination", "appeals")


def _settings(root: Path) -> Settings:
    return Settings(
        lake=str(root / "lake"),
        warehouse=str(root / "wh.duckdb"),
        state_dir=str(root / "state"),
        truth_dir=str(root / "truth"),
        _pseudonym_key="test-key-not-secret",
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """Two days, 2,000 residents, dirt five times the default so rates are measurable."""
    root = tmp_path_factory.mktemp("gen")
    settings = _settings(root)
    dirt = DirtConfig().scaled(5.0)
    cfg = GenerateConfig(start=DAY1, end=DAY2, persons=2000, seed=7, dirt=dirt)
    report = generate(settings, cfg)
    truth = Path(settings.truth_dir)
    records = pq.read_table(truth / "records").to_pandas()
    deliveries = pq.read_table(truth / "deliveries.parquet").to_pandas()
    persons = pq.read_table(truth / "persons.parquet").to_pandas()
    return settings, cfg, report, records, deliveries, persons


def read_delivery(path: Path, encoding: str | None) -> pd.DataFrame:
    """Decode a landing file the way its extension and declared encoding say (test reader)."""
    data = path.read_bytes()
    name = path.name
    if name.endswith(".gz"):
        data = gzip.decompress(data)
        name = name[:-3]
    elif name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = z.read(z.namelist()[0])
        name = name[:-4]
    if name.endswith(".parquet"):
        return pq.read_table(io.BytesIO(data)).to_pandas().fillna("")
    if name.endswith(".xlsx"):
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = [
            ["" if v is None else str(v) for v in r] for r in wb.active.iter_rows(values_only=True)
        ]
        return pd.DataFrame(rows[1:], columns=rows[0])
    text = data.decode(encoding or "utf-8")
    if name.endswith(".jsonl"):
        if not text.strip():
            return pd.DataFrame()
        return pd.read_json(io.StringIO(text), lines=True, dtype=str).fillna("")
    sep = "\t" if name.endswith(".tsv") else ","
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)


def test_every_file_in_landing_layout_decodes_and_maps_to_the_contract(world):
    settings, cfg, report, records, deliveries, _ = world
    lake = Path(settings.lake)
    contracts = all_contracts()
    files = sorted(p for p in (lake / "landing").rglob("*") if p.is_file())
    assert files and len(files) == len(set(report.files))
    assert not list(Path(settings.truth_dir).glob("landing*")), "truth must stay outside landing"
    by_file = deliveries.set_index("file")
    rows_by_file = records.groupby("file").size()
    for f in files:
        rel = f.relative_to(lake).as_posix()
        _, feed, source, day, _name = rel.split("/")
        contract = contracts[feed]
        assert source in contract.sources
        dt.date.fromisoformat(day)
        d = by_file.loc[rel]
        codes = list(d["file_dirt"])
        if d["status"] == "empty":
            assert f.stat().st_size == 0
            continue
        if "file:truncated_gzip" in codes:
            with pytest.raises((EOFError, OSError)):
                gzip.decompress(f.read_bytes())
            continue
        if "file:gbk_in_utf8" in codes:
            with pytest.raises(UnicodeDecodeError):
                read_delivery(f, d["encoding"])
            continue
        df = read_delivery(f, d["encoding"])
        hmap = contract.header_map()
        mapped = {h: hmap.get(normalise_header(h)) for h in df.columns}
        unknown = sorted(h for h, c in mapped.items() if c is None)
        expected_unknown = sorted(
            c.split(":")[2] for c in codes if c.startswith("file:extra_column")
        ) + sorted("renamed" for c in codes if c.startswith("file:renamed_column"))
        assert len(unknown) == len(expected_unknown), (rel, unknown, codes)
        got = {c for c in mapped.values() if c}
        missing = {c.split(":")[2] for c in codes if c.startswith("file:missing_column")}
        renamed = {c.split(":")[2] for c in codes if c.startswith("file:renamed_column")}
        assert got == set(contract.column_names) - missing - renamed, rel
        assert len(df) == rows_by_file.get(rel, 0), rel
        # a source column, where present, agrees with the folder
        if contract.source_column and contract.source_column in got:
            col = next(h for h, c in mapped.items() if c == contract.source_column)
            values = {
                contract.column(contract.source_column).value_synonyms[v.lower()] for v in df[col]
            }
            assert values == {source}


def test_truth_is_complete_and_outside_the_lake(world):
    settings, cfg, report, records, deliveries, persons = world
    truth = Path(settings.truth_dir)
    assert not str(truth.resolve()).startswith(str(Path(settings.lake).resolve()))
    assert json.loads((truth / "dirt_config.json").read_text())["id_typo"] == cfg.dirt.id_typo
    person_rows = records[records.feed.isin(PERSON_FEEDS)]
    assert person_rows.true_person_id.notna().all()
    assert set(person_rows.true_person_id) <= set(persons.person_id)
    assert (
        records.groupby("file")
        .line_number.apply(lambda s: list(s) == list(range(1, len(s) + 1)))
        .all()
    )
    # irreparable dirt and beyond_repair agree
    irreparable = set(json.loads((truth / "dirt_codes.json").read_text())["irreparable"])
    expect = records.dirt.apply(lambda d: any(c in irreparable for c in d))
    assert (records.beyond_repair == expect).all()
    assert records.beyond_repair.any() and not records.beyond_repair.all()
    # duplicates and late facts are recorded
    assert (deliveries.status == "duplicate").any()
    assert records.is_duplicate.any() and records.is_resend.any()
    assert set(report.rows) == set(all_contracts())


def _rate(mask: pd.Series, eligible: pd.Series) -> float:
    return float(mask[eligible].mean())


def test_dirt_rates_within_tolerance_of_the_configuration(world):
    _, cfg, _, records, _, persons = world
    r = records[records.feed.isin(PERSON_FEEDS) & ~records.is_duplicate & ~records.is_resend]
    r = r.merge(persons, left_on="true_person_id", right_on="person_id", how="left")
    codes = r.dirt.apply(set)

    def has(code: str) -> pd.Series:
        return codes.apply(lambda s: code in s)

    resident_id = (r.id_type == "resident_id") & ~has("id_number:parent_for_child")
    d = cfg.dirt
    checks = {
        "id_number:lowercase_x": (d.id_lowercase_x, resident_id & r.id_number.str.endswith("X")),
        "id_number:typo": (d.id_typo, resident_id),
        "id_number:spaces": (d.id_spaces, resident_id),
        "id_number:apostrophe": (d.id_apostrophe, resident_id),
        "id_number:legacy15": (d.id_legacy15, resident_id & r.id_number.str[6:8].eq("19")),
        "name:traditional": (None, r.name.notna()),
        "phone:missing": (d.phone_missing, r.phone.notna()),
        "phone:plus86": (d.phone_plus86, ~r.phone_is_landline.astype(bool)),
    }
    n_checked = 0
    for code, (rate, eligible) in checks.items():
        if rate is None:
            continue
        got = _rate(has(code), eligible)
        n = int(eligible.sum())
        tol = 4 * np.sqrt(rate * (1 - rate) / n) + 0.002
        assert abs(got - rate) <= tol, (code, got, rate, n)
        n_checked += 1
    assert n_checked >= 6
    # timestamps: utc_z among nucleic-acid sampled_at
    na = records[(records.feed == "nucleic_acid") & ~records.is_duplicate]
    got = na.dirt.apply(lambda s: "sampled_at:utc_z" in s).mean()
    assert abs(got - d.time_utc_z) <= 4 * np.sqrt(d.time_utc_z / len(na)) + 0.002


def _normalise_id(v: str) -> str:
    v = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in v)
    return v.replace(" ", "").replace("-", "").lstrip("'").upper()


def test_check_digits_valid_exactly_where_truth_says(world):
    settings, _, _, records, deliveries, persons = world
    lake = Path(settings.lake)
    true_id = persons.set_index("person_id").id_number
    broken = {"typo", "transpose", "excel_sci", "excel_000", "legacy15", "missing"}
    checked = 0
    for feed in PERSON_FEEDS:
        contract = all_contracts()[feed]
        hmap = contract.header_map()
        files = deliveries[(deliveries.feed == feed) & (deliveries.status == "delivered")]
        for _, d in files.iterrows():
            if any(c.startswith(("file:truncated", "file:gbk")) for c in d.file_dirt):
                continue
            df = read_delivery(lake / d.file, d.encoding)
            cols = {hmap.get(normalise_header(h)): h for h in df.columns}
            t = records[records.file == d.file].sort_values("line_number")
            ids = df[cols["id_number"]].tolist()
            synonyms = contract.column("id_type").value_synonyms
            types = [synonyms[v.lower()] for v in df[cols["id_type"]]]
            for value, typ, dirt_codes, pid in zip(
                ids, types, t.dirt, t.true_person_id, strict=True
            ):
                if typ != "resident_id":
                    continue
                kinds = {c.split(":")[1] for c in dirt_codes if c.startswith("id_number:")}
                norm = _normalise_id(value)
                should = not (kinds & broken)
                assert is_valid_check(norm) == should, (d.file, value, kinds)
                if should and not kinds & {"parent_for_child", "other_person"}:
                    assert norm == true_id[pid]
                checked += 1
    assert checked > 3000


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path):
    def digest(root: Path, seed: int) -> dict[str, str]:
        s = _settings(root)
        generate(s, GenerateConfig(start=DAY1, end=DAY1, persons=400, seed=seed))
        lake = Path(s.lake)
        return {
            p.relative_to(lake).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(lake.rglob("*"))
            if p.is_file()
        }

    a = digest(tmp_path / "a", 11)
    b = digest(tmp_path / "b", 11)
    c = digest(tmp_path / "c", 12)
    assert a == b
    assert a != c


def test_first_day_has_the_cases_the_demo_needs(world):
    settings, _, _, records, _, persons = world
    truth = Path(settings.truth_dir)
    rounds = pq.read_table(truth / "rounds.parquet").to_pandas()
    first = rounds[rounds.ends_at_local.dt.date == DAY1]
    assert len(first) >= 1
    scope = first.iloc[0].scope.split(";")
    communities = persons.community_code.dropna().unique()
    covered = [
        c
        for c in communities
        if any(c.startswith(s[:9] if s.endswith("000") else s) for s in scope)
    ]
    assert 0 < len(covered) < len(communities)
    na = records[
        (records.feed == "nucleic_acid") & (records.business_date == pd.Timestamp(DAY1).date())
    ]
    results = set(na.true_value)
    assert {"negative", "positive", "suspect", "pending"} <= results
    ap = records[(records.feed == "appeals") & (records.business_date == pd.Timestamp(DAY1).date())]
    assert "approved" in set(ap.true_value)
    tested = persons.set_index("person_id").loc[na.true_person_id.unique()]
    assert (~tested.is_resident).any(), "non-residents tested in the district"
    assert (tested.residence_status == "away").any(), "residents tested outside"


def test_configuration_errors_say_what_to_do(settings):
    with pytest.raises(ZhongtaiError, match="county code"):
        generate(settings, GenerateConfig(start=DAY1, end=DAY1, persons=200, county_code="999999"))
    with pytest.raises(ZhongtaiError, match="between 0 and 1"):
        GenerateConfig(start=DAY1, end=DAY1, dirt=DirtConfig(id_typo=2.0)).validate()
    with pytest.raises(ZhongtaiError, match="before start"):
        GenerateConfig(start=DAY2, end=DAY1).validate()
