"""The Splink side of bench/bench_vs_splink.py: a standard Splink 4 model on the same records.

Runs in the separate benchmark environment (``.venv-bench``, see
bench/requirements-splink.txt), never in the project's ``.venv``: splink is not a
dependency of zhongtai, and this file imports nothing from it.

    .venv-bench/bin/python bench/splink_side.py --records R.parquet --out-dir DIR

Input: one row per source record (``rec_ref`` and the clean, normalised fields a Splink
user would give it). The model is the one Splink's documentation builds for people:

- comparisons: name (exact hanzi with term frequencies, exact pinyin, Jaro-Winkler on
  pinyin, one hanzi edit), birth date (Splink's ``DateOfBirthComparison``), ID number
  (exact, Damerau-Levenshtein <= 1 for a typo or a swap, <= 3 for Excel's ``000``),
  gender, phone (exact, with term frequencies: households share one), address (same
  resolved address, same community);
- prediction blocking: ID, pinyin + birth date, phone, address id + surname,
  name + community, pinyin + birth year;
- training: the match prior from deterministic rules, u by random sampling, m by EM over
  two training blocking rules (ID; pinyin + birth date), each leaving its own fields out;
- prediction at match probability >= the lowest threshold, then connected components at
  each threshold.

Output in ``--out-dir``: ``clusters_<threshold>.parquet`` (``rec_ref``, ``cluster_id``) per
threshold and ``splink.json`` (timings, sizes, versions, the trained model). The clock
starts after the imports (interpreter start is excluded) and stops when the clusters are
written; it includes reading the records, training, prediction and clustering. CPU seconds
(user + system, DuckDB's threads included) are reported beside the wall seconds.
Exit code 2 with a one-line message on stderr on bad input.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

REQUIRED = (
    "rec_ref",
    "name_norm",
    "name_pinyin",
    "birth_date",
    "gender",
    "id_number",
    "phone_norm",
    "address_norm",
    "address_id",
    "community",
)
DEFAULT_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99)


class InputError(Exception):
    """The records or the arguments cannot be used; the message says why."""


def _name_comparison(cl: Any, cll: Any) -> Any:
    """Hanzi exact (with term frequencies), pinyin exact, Jaro-Winkler on pinyin, one edit."""
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.And(cll.NullLevel("name_norm"), cll.NullLevel("name_pinyin")),
            cll.ExactMatchLevel("name_norm", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_pinyin"),
            cll.JaroWinklerLevel("name_pinyin", 0.92),
            cll.LevenshteinLevel("name_norm", 1),
            cll.JaroWinklerLevel("name_pinyin", 0.80),
            cll.ElseLevel(),
        ],
    )


def _address_comparison(cl: Any, cll: Any) -> Any:
    """Same resolved address, same community, else.

    The resolved address id is the normalised address: a fuzzy level on the text adds
    nothing but cost (a string distance on 30-character addresses for every pair), and
    Jaro-Winkler would put any two addresses of one community together (shared prefix).
    """
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.And(cll.NullLevel("address_id"), cll.NullLevel("community")),
            cll.ExactMatchLevel("address_id"),
            cll.ExactMatchLevel("community"),
            cll.ElseLevel(),
        ],
    )


def build_settings(splink: Any) -> Any:
    """The Splink settings: comparisons and prediction blocking rules."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    block_on = splink.block_on
    return splink.SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rec_ref",
        comparisons=[
            _name_comparison(cl, cll),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.DamerauLevenshteinAtThresholds("id_number", [1, 3]),
            cl.ExactMatch("gender"),
            # a one-edit level is never observed, in random pairs nor in EM blocks
            cl.ExactMatch("phone_norm").configure(term_frequency_adjustments=True),
            _address_comparison(cl, cll),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("name_pinyin", "birth_date"),
            block_on("phone_norm"),
            block_on("address_id", "surname"),
            block_on("name_norm", "community"),
            block_on("name_pinyin", "birth_year"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def _read_records(con: Any, path: Path) -> int:
    """Load the records into DuckDB with the derived blocking columns; the row count."""
    if not path.is_file():
        raise InputError(f"no records file at {path}; run bench/bench_vs_splink.py")
    cols = {r[0] for r in con.execute(f"describe select * from read_parquet('{path}')").fetchall()}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputError(f"{path} lacks the columns {missing}")
    # Surname and birth year are derived columns for blocking, as a Splink user would add.
    con.execute(
        f"""
        create table records as
        select {", ".join(REQUIRED)},
               left(name_norm, 1) as surname,
               year(birth_date) as birth_year
        from read_parquet('{path}')
        """
    ).fetchall()
    n, distinct = con.execute("select count(*), count(distinct rec_ref) from records").fetchall()[0]
    if n == 0:
        raise InputError(f"{path} holds no records")
    if n != distinct:
        raise InputError(f"{path}: rec_ref is not unique ({n} rows, {distinct} distinct)")
    return int(n)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process (DuckDB's threads included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, predict and cluster; write the clusters and return the figures."""
    import duckdb
    import splink
    from splink import DuckDBAPI, Linker, block_on

    thresholds = sorted(args.thresholds)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    laps: dict[str, float] = {}
    t0 = time.perf_counter()
    cpu0 = _cpu_seconds()

    con = duckdb.connect(":memory:")
    con.execute(f"set threads to {int(args.threads)}").fetchall()
    records = _read_records(con, Path(args.records))
    laps["read"] = time.perf_counter() - t0

    t = time.perf_counter()
    linker = Linker("records", build_settings(splink), db_api=DuckDBAPI(connection=con))
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("id_number", "name_norm"),
            block_on("name_norm", "birth_date", "phone_norm"),
        ],
        recall=args.prior_recall,
    )
    laps["train_prior"] = time.perf_counter() - t
    lap = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_max_pairs, seed=args.seed)
    laps["train_u"] = time.perf_counter() - lap
    lap = time.perf_counter()
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_number"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_pinyin", "birth_date")
    )
    laps["train_em"] = time.perf_counter() - lap
    laps["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=thresholds[0])
    pairs = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[0][0]
    laps["predict"] = time.perf_counter() - t
    cpu_to_predict = _cpu_seconds() - cpu0

    cluster_seconds: dict[str, float] = {}
    clusters: dict[str, int] = {}
    cluster_cpu: dict[str, float] = {}
    for th in thresholds:
        t = time.perf_counter()
        cpu = _cpu_seconds()
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=th
        )
        path = out_dir / f"clusters_{th}.parquet"
        con.execute(
            f"copy (select rec_ref, cluster_id from {clustered.physical_name}) "
            f"to '{path}' (format parquet)"
        ).fetchall()
        clusters[str(th)] = con.execute(
            f"select count(distinct cluster_id) from {clustered.physical_name}"
        ).fetchall()[0][0]
        cluster_seconds[str(th)] = time.perf_counter() - t
        cluster_cpu[str(th)] = _cpu_seconds() - cpu
    model = linker.misc.save_model_to_json(str(out_dir / "splink_model.json"), overwrite=True)
    return {
        "records": records,
        "pairs_predicted": int(pairs),
        "thresholds": thresholds,
        "clusters": clusters,
        "seconds": {
            "read": laps["read"],
            "train": laps["train"],
            "train_parts": {k: laps[k] for k in ("train_prior", "train_u", "train_em")},
            "predict": laps["predict"],
            "cluster": cluster_seconds,
        },
        "cpu_seconds": {"to_predict": cpu_to_predict, "cluster": cluster_cpu},
        "threads": int(args.threads),
        "u_max_pairs": args.u_max_pairs,
        "prior_recall": args.prior_recall,
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
        "splink_version": splink.__version__,
        "duckdb_version": duckdb.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", required=True, help="Parquet of the records to link")
    p.add_argument("--out-dir", required=True, help="where clusters and figures are written")
    p.add_argument("--threads", type=int, default=2, help="DuckDB threads (= cores)")
    p.add_argument(
        "--thresholds",
        type=lambda s: [float(x) for x in s.split(",")],
        default=list(DEFAULT_THRESHOLDS),
        help="match-probability thresholds to cluster at, comma-separated",
    )
    p.add_argument("--u-max-pairs", type=float, default=1e7)
    p.add_argument("--prior-recall", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=20221101)
    args = p.parse_args(argv)
    try:
        if not all(0.0 < th < 1.0 for th in args.thresholds):
            raise InputError(f"thresholds must lie in (0, 1), got {args.thresholds}")
        figures = run(args)
    except InputError as e:
        print(f"splink_side: {e}", file=sys.stderr)
        return 2
    (Path(args.out_dir) / "splink.json").write_text(json.dumps(figures, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
