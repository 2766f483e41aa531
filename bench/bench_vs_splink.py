"""Side by side with Splink: the person linker and a standard Splink model on the same records.

Prepares a scratch lake as bench/bench_match.py does (or takes it with ``--reuse``), then in
one run:

1. times ``build_person_master`` and scores its crosswalk against the generator's truth;
2. exports the very records it linked (every latest version of every clean person-bearing
   record up to the date, the crosswalk's record set) with the clean, normalised fields a
   Splink user would give Splink, to ``<workdir>/splink/records.parquet``;
3. runs bench/splink_side.py in the separate environment ``.venv-bench`` (Splink 4, DuckDB
   backend with as many threads as cores: EM-trained, predicted, clustered at several
   match-probability thresholds);
4. scores Splink's clusters with the same evaluator;
5. prints the two side by side and writes them as JSON to ``--out``.

    .venv/bin/python bench/bench_vs_splink.py --persons 20000 --workdir /work/bench/splink-20k
    .venv/bin/python bench/bench_vs_splink.py --workdir /work/bench/splink-100k --reuse \
        --out /work/bench/splink-100k/figures.json

Records per second = records linked / linking seconds, for each tool; data preparation
(generate, ingest, clean, the export) is excluded for both, and so is starting the engine
(the Spark session here, the interpreter and imports there). Our seconds include reading the
clean zone and publishing the master; Splink's include reading its Parquet, training,
prediction and one clustering (at the threshold reported).

Splink's threshold is chosen as generously as a careful user with labelled data could: the
best pairwise F1 over the thresholds tried (0.5, 0.8, 0.9, 0.95, 0.99 by default); its
figures at 0.9 are reported too. u is estimated on 1e7 random pairs (``--u-max-pairs``; the
API's default is 1e6, its docstring calls 1e7 "often adequate" and advises 1e8 to 1e9 for
the final model): the setting that decides most of Splink's time at this size.

The machine may be shared: CPU seconds (ours: the Spark JVM and its Python workers; Splink's:
its process with DuckDB's threads) are reported beside wall seconds, and the load average at
start and end. This is a benchmark, not a test: nothing asserts; the figures are for the
README. Set up ``.venv-bench`` first (bench/requirements-splink.txt).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

import bench_match  # noqa: E402  (bench/ is not a package)

from zhongtai.errors import ZhongtaiError  # noqa: E402

DAY = dt.date(2026, 11, 1)
SPLINK_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
SPLINK_SIDE = ROOT / "bench" / "splink_side.py"
REPORT_THRESHOLD = 0.9


# ---------------------------------------------------------------- preparation
bench_settings = bench_match.bench_settings
prepare = bench_match.prepare


# ---------------------------------------------------------------- our side
def _stat_fields(path: Path) -> list[str]:
    """The fields of a /proc ``stat`` file after the command (state, ppid, ...; utime is [11])."""
    return (path / "stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system, reaped children included) of ``root`` and its descendants.

    Our linker's work runs in the Spark JVM and its Python workers, children of this
    process; on a machine shared with others, CPU seconds say more than wall seconds.
    """
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = _stat_fields(d)
        except OSError:  # the process ended while we looked
            continue
        # after the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15)
        stats[int(d.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(children.get(pid, []))
    return total


# the Spark JVM's threads by what they do (Linux thread names, cut to 15 characters)
THREAD_KINDS = (
    ("Executor task", "tasks"),
    ("C1 CompilerThre", "jit"),
    ("C2 CompilerThre", "jit"),
    ("G1 ", "gc"),
    ("GC Thread", "gc"),
    ("VM Thread", "gc"),
)


def jvm_thread_cpu(root: int) -> dict[str, float]:
    """CPU seconds of the threads of the JVMs below ``root``, by kind (tasks, jit, gc, other).

    On two cores the JVM's own work competes with the tasks: the just-in-time compiler
    and the garbage collector run on the same cores. Threads alive when read; empty where
    /proc is not.
    """
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for d in Path("/proc").iterdir():
        try:
            if not d.name.isdigit() or (d / "comm").read_text().strip() != "java":
                continue
            ppid = int(_stat_fields(d)[1])
        except OSError:
            continue
        if ppid != root:
            continue
        for t in (d / "task").iterdir():
            try:
                name = (t / "comm").read_text().strip()
                fields = _stat_fields(t)
            except OSError:
                continue
            kind = next((k for prefix, k in THREAD_KINDS if name.startswith(prefix)), "other")
            out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def run_ours(settings: Any) -> dict[str, Any]:
    """Time build_person_master (Spark already started) and score its crosswalk."""
    from zhongtai.match import build_person_master
    from zhongtai.match.evaluate import evaluate_person_master
    from zhongtai.spark import get_spark, stop_spark

    get_spark(settings)  # engine start is outside the clock, as Splink's interpreter start is
    cpu = tree_cpu_seconds(os.getpid())
    threads = jvm_thread_cpu(os.getpid())
    t = time.perf_counter()
    report = build_person_master(settings, DAY, f"bench-splink-{int(time.time())}")
    seconds = time.perf_counter() - t
    cpu = tree_cpu_seconds(os.getpid()) - cpu
    after = jvm_thread_cpu(os.getpid())
    by_kind = {k: round(v - threads.get(k, 0.0), 1) for k, v in sorted(after.items())}
    stop_spark()  # the session and its JVM: free the cores and the memory for Splink
    if not report.records:
        raise ZhongtaiError("the linker published no records; is the clean zone empty?")
    q = evaluate_person_master(settings, DAY)
    return {
        "records": report.records,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jvm_cpu_seconds_by_thread": by_kind,
        "model": report.model_version,
        **_quality(q),
    }


def _quality(q: Any) -> dict[str, Any]:
    return {
        "clusters": None,
        "precision": q.precision,
        "recall": q.recall,
        "f1": q.f1,
        "bcubed_precision": q.bcubed_precision,
        "bcubed_recall": q.bcubed_recall,
        "bcubed_f1": q.bcubed_f1,
        "scored_records": q.records,
        "records_without_truth": q.unmatched_truth,
    }


# ---------------------------------------------------------------- the export
def _feed_select(con: Any, feed: str, files: list[str], job: Any) -> str:
    """SELECT of one feed's clean files in the export's shape (absent columns are null)."""
    src_col, rec_col = job.PERSON_FEEDS[feed]
    file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    scan = f"read_parquet({file_list}, union_by_name = true)"
    cols = {r[0] for r in con.execute(f"describe select * from {scan}").fetchall()}

    def c(name: str) -> str:
        return name if name in cols else "null"

    source = f"cast({src_col} as varchar)" if src_col else f"'{job.APPEALS_SOURCE}'"
    # an unrepairable ID keeps its normalised text (upper case, digits and X only), as a
    # Splink user would give it: damaged numbers still carry most of their digits
    id_text = (
        f"coalesce({c('id_number_norm')}, "
        f"nullif(regexp_replace(upper(cast({c('id_number')} as varchar)), '[^0-9X]', '', 'g'), ''))"
    )
    return f"""
        select concat_ws(':', '{feed}', {source}, cast({rec_col} as varchar)) as rec_ref,
               {c("name_norm")} as name_norm,
               {c("name_pinyin")} as name_pinyin,
               cast(coalesce({c("birth_date")}, {c("birth_date_from_id")}) as date) as birth_date,
               coalesce({c("gender")}, {c("gender_from_id")}) as gender,
               {id_text} as id_number,
               {c("phone_norm")} as phone_norm,
               {c("address_norm")} as address_norm,
               {c("address_id")} as address_id,
               coalesce({c("address_community_code")}, {c("community_code")}) as community,
               cast(business_date as date) as _business_date,
               cast({c("_ingested_at")} as timestamp) as _ingested_at,
               cast({c("_line_number")} as bigint) as _line_number
        from {scan}
    """


def export_records(settings: Any, dest: Path) -> int:
    """Write the crosswalk's records, latest version each, with Splink's fields; the count."""
    import duckdb

    from zhongtai.lake import Lake
    from zhongtai.spark.jobs import load_job

    job = load_job("match_persons")
    lake = Lake(settings)
    day = DAY.isoformat()
    xw = lake.read_table(
        "master", "person_crosswalk", DAY, columns=["feed", "source_system", "source_record_id"]
    )
    if xw is None:
        raise ZhongtaiError(f"no master/person_crosswalk for {day}; the linker did not publish")
    con = duckdb.connect(":memory:")
    con.register("xw", xw)
    selects = []
    for feed in job.PERSON_FEEDS:
        files = lake.stage_in("clean", feed, [d for d in lake.dates("clean", feed) if d <= day])
        if files:
            selects.append(_feed_select(con, feed, files, job))
    if not selects:
        raise ZhongtaiError(f"no clean person records up to {day} in {lake.uri()}")
    # the job's rule for the latest version of a source record (stage_records)
    con.execute(
        f"""
        create table latest as
        select * exclude (_rn, _business_date, _ingested_at, _line_number) from (
            select *, row_number() over (
                partition by rec_ref
                order by _business_date desc, _ingested_at desc nulls last,
                         _line_number desc nulls last) as _rn
            from ({" union all ".join(selects)})
        ) where _rn = 1
        """
    )
    con.execute(
        """
        create table records as
        select l.* from latest l
        join (select distinct concat_ws(':', feed, source_system, source_record_id) as rec_ref
              from xw) x using (rec_ref)
        order by rec_ref
        """
    )
    n = con.execute("select count(*) from records").fetchone()[0]
    if n != xw.num_rows:
        raise ZhongtaiError(
            f"the clean zone holds {n} of the crosswalk's {xw.num_rows} records; "
            "re-run the linker on this lake"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy records to '{dest}' (format parquet)")
    return int(n)


# ---------------------------------------------------------------- Splink's side
def run_splink(args: argparse.Namespace, records: Path, out_dir: Path) -> dict[str, Any]:
    """Run bench/splink_side.py in .venv-bench; its figures, or the error it ended with."""
    cmd = [
        str(args.splink_python),
        str(SPLINK_SIDE),
        "--records",
        str(records),
        "--out-dir",
        str(out_dir),
        "--threads",
        str(args.threads),
        "--thresholds",
        ",".join(str(t) for t in args.thresholds),
        "--u-max-pairs",
        str(args.u_max_pairs),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "splink_side.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads((out_dir / "splink.json").read_text("utf-8"))


def score_splink(settings: Any, out_dir: Path, figures: dict[str, Any]) -> dict[str, Any]:
    """Score each threshold's clusters; the chosen (best-F1) threshold and all of them."""
    import pyarrow.parquet as pq

    from zhongtai.match.evaluate import evaluate_links, load_truth

    truth = load_truth(settings.truth_dir, DAY)
    by_threshold: dict[str, dict[str, Any]] = {}
    for th in figures["thresholds"]:
        t = pq.read_table(out_dir / f"clusters_{th}.parquet", columns=["rec_ref", "cluster_id"])
        refs, cids = (t.column(c).to_pylist() for c in ("rec_ref", "cluster_id"))
        if len(set(refs)) != figures["records"]:
            raise ZhongtaiError(
                f"Splink clustered {len(set(refs))} of its {figures['records']} records at {th}"
            )
        links = ((r, str(c), "") for r, c in zip(refs, cids, strict=True))
        q = _quality(evaluate_links(links, truth))
        q["clusters"] = figures["clusters"][str(th)]
        base = figures["seconds"]["read"] + figures["seconds"]["train"]
        q["seconds"] = base + figures["seconds"]["predict"] + figures["seconds"]["cluster"][str(th)]
        cpu = figures["cpu_seconds"]
        q["cpu_seconds"] = cpu["to_predict"] + cpu["cluster"][str(th)]
        by_threshold[str(th)] = q
    best = max(by_threshold, key=lambda k: by_threshold[k]["f1"])
    return {"chosen_threshold": float(best), "by_threshold": by_threshold}


# ---------------------------------------------------------------- report
def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model and load of this machine."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "ram_gib": round(ram, 1), "cpu": cpu}


def linker_version() -> dict[str, Any]:
    """The commit, and whether the linker's files differ from it (others may be editing)."""
    paths = ["spark_jobs/match_persons.py", "config/matching.yaml", "zhongtai/match"]

    def git(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False)

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None}
    dirty = git("diff", "--quiet", "HEAD", "--", *paths).returncode != 0
    return {"commit": head.stdout.strip(), "linker_files_modified": dirty}


def _side(records: int, q: dict[str, Any]) -> dict[str, Any]:
    seconds, cpu = q["seconds"], q["cpu_seconds"]
    timing = ("seconds", "cpu_seconds")
    return {
        "records": records,
        "seconds": round(seconds, 1),
        "records_per_second": round(records / seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "records_per_cpu_second": round(records / cpu, 1) if cpu else None,
        **{k: round(v, 6) if isinstance(v, float) else v for k, v in q.items() if k not in timing},
    }


def print_table(ours: dict[str, Any], splink: dict[str, Any], label: str) -> None:
    """The two tools side by side."""
    rows = (
        "records",
        "seconds",
        "records_per_second",
        "cpu_seconds",
        "records_per_cpu_second",
        "precision",
        "recall",
        "f1",
        "bcubed_precision",
        "bcubed_recall",
        "bcubed_f1",
        "clusters",
    )
    print(f"{'':>20}  {'zhongtai':>12}  {label:>14}")
    for r in rows:
        print(f"{r:>20}  {ours.get(r)!s:>12}  {splink.get(r)!s:>14}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--tests-per-day", type=int, default=None)
    p.add_argument("--seed", type=int, default=20221101)
    p.add_argument("--workdir", required=True, help="scratch folder (big: not in the repo)")
    p.add_argument("--reuse", action="store_true", help="skip generate/ingest/clean if present")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    p.add_argument("--prepare-only", action="store_true", help="stop after generate/clean")
    p.add_argument("--splink-python", default=str(SPLINK_PYTHON))
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="DuckDB threads")
    p.add_argument(
        "--thresholds",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[0.5, 0.8, 0.9, 0.95, 0.99],
    )
    p.add_argument("--u-max-pairs", type=float, default=1e7)
    p.add_argument(
        "--driver-memory", default=None, help="Spark driver memory (default: the settings' 4g)"
    )
    args = p.parse_args(argv)
    if REPORT_THRESHOLD not in args.thresholds:
        args.thresholds.append(REPORT_THRESHOLD)
    try:
        return _run(args)
    except ZhongtaiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    work = Path(args.workdir).resolve()
    if ROOT in (work, *work.parents):
        raise ZhongtaiError(f"--workdir {work} is inside the repository; put it elsewhere")
    python = Path(args.splink_python)
    if not (args.prepare_only or python.exists()):
        raise ZhongtaiError(
            f"no Splink environment at {python}; create it as bench/requirements-splink.txt says"
        )
    settings = bench_settings(work, args.driver_memory)
    figures: dict[str, Any] = {
        "persons": args.persons,
        "workdir": str(work),
        "machine": machine(),
        "code": linker_version(),
        "load_average_start": os.getloadavg(),
    }
    prep = prepare(settings, DAY, args.persons, args.seed, args.tests_per_day, args.reuse)
    if prep is not None:
        figures["prepare_seconds"] = round(prep, 1)
        print(f"prepared {work} in {prep:.1f} s")
    if args.prepare_only:
        return 0
    ours = run_ours(settings)
    out_dir = work / "splink"
    records_file = out_dir / "records.parquet"
    n = export_records(settings, records_file)
    sp = run_splink(args, records_file, out_dir)
    figures["zhongtai"] = _side(ours["records"], ours)
    figures["zhongtai"]["model"] = ours["model"]
    if "error" in sp:
        figures["splink"] = {"records": n, "error": sp["error"]}
        print(f"Splink failed at {n} records: {sp['error']}", file=sys.stderr)
    else:
        scored = score_splink(settings, out_dir, sp)
        chosen = scored["chosen_threshold"]
        figures["splink"] = _side(n, scored["by_threshold"][str(chosen)]) | {
            "threshold": chosen,
            "threshold_rule": "best pairwise F1 over the thresholds tried",
            "at_threshold": {k: _side(n, v) for k, v in scored["by_threshold"].items()},
            "pairs_predicted": sp["pairs_predicted"],
            "seconds_parts": sp["seconds"],
            "duckdb_threads": sp["threads"],
            "u_max_pairs": sp["u_max_pairs"],
            "probability_two_random_records_match": sp["probability_two_random_records_match"],
            "splink_version": sp["splink_version"],
            "duckdb_version": sp["duckdb_version"],
        }
        figures["records_per_second_ratio"] = round(
            figures["zhongtai"]["records_per_second"] / figures["splink"]["records_per_second"], 2
        )
        figures["records_per_cpu_second_ratio"] = round(
            figures["zhongtai"]["records_per_cpu_second"]
            / figures["splink"]["records_per_cpu_second"],
            2,
        )
        figures["f1_difference"] = round(figures["zhongtai"]["f1"] - figures["splink"]["f1"], 6)
        figures["same_records"] = n == ours["records"]
        print_table(figures["zhongtai"], figures["splink"], f"splink@{chosen}")
        at90 = figures["splink"]["at_threshold"][str(REPORT_THRESHOLD)]
        print(
            f"splink@{REPORT_THRESHOLD}: F1 {at90['f1']}, B-cubed F1 {at90['bcubed_f1']}, "
            f"{at90['records_per_second']} records/s"
        )
        print(
            f"Splink {sp['splink_version']}, DuckDB {sp['duckdb_version']} with {sp['threads']} "
            f"threads, u from {sp['u_max_pairs']:.0e} random pairs, "
            f"{sp['pairs_predicted']} pairs predicted"
        )
        print(f"zhongtai's JVM CPU seconds by thread: {ours['jvm_cpu_seconds_by_thread']}")
        print(
            f"records/s ratio (zhongtai / splink): {figures['records_per_second_ratio']} wall, "
            f"{figures['records_per_cpu_second_ratio']} CPU"
        )
    figures["load_average_end"] = os.getloadavg()
    m = figures["machine"]
    print(
        f"machine: {m['cores']} cores, {m['ram_gib']} GiB, {m['cpu']}; "
        f"load average {figures['load_average_start']} -> {figures['load_average_end']}"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0 if "error" not in figures["splink"] else 3


if __name__ == "__main__":
    raise SystemExit(main())
