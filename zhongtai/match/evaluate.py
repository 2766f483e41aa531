"""Linkage quality against the generator's truth: pairwise precision, recall, F1 and B-cubed.

The crosswalk says which person each source record was linked to; the truth says which
person it really describes. Pairwise metrics count record pairs placed together
(predicted) and really together (truth); B-cubed averages, per record, the precision and
recall of its predicted cluster. Counting works on cluster sizes, never on the list of
pairs, so a million records evaluate in seconds.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zhongtai.errors import ZhongtaiError
from zhongtai.settings import Settings

PERSON_FEEDS = ("population", "nucleic_acid", "vaccination", "appeals")


@dataclass(frozen=True)
class MatchQuality:
    """Pairwise and B-cubed quality of one linkage."""

    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    unmatched_truth: int


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate_links(links: Iterable[tuple[str, str, str]], truth: dict[str, str]) -> MatchQuality:
    """Score predicted links against the truth.

    Args:
        links: ``(record_ref, predicted_person, true_person_or_ignored)`` — only the first
            two are used; records absent from ``truth`` are left out and counted.
        truth: record reference → true person id.

    Returns:
        The pairwise and B-cubed metrics.
    """
    pred_size: Counter[str] = Counter()
    true_size: Counter[str] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    unmatched = 0
    for ref, pred, _ in links:
        t = truth.get(ref)
        if t is None:
            unmatched += 1
            continue
        pred_size[pred] += 1
        true_size[t] += 1
        both[(pred, t)] += 1
    n = sum(pred_size.values())
    tp = sum(_pairs(c) for c in both.values())
    pp = sum(_pairs(c) for c in pred_size.values())
    tt = sum(_pairs(c) for c in true_size.values())
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    bp = sum(c * c / pred_size[p] for (p, _), c in both.items()) / n if n else 1.0
    br = sum(c * c / true_size[t] for (_, t), c in both.items()) / n if n else 1.0
    return MatchQuality(
        records=n,
        true_pairs=tt,
        predicted_pairs=pp,
        correct_pairs=tp,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=_f1(bp, br),
        unmatched_truth=unmatched,
    )


def load_truth(
    truth_dir: str | Path,
    upto: dt.date,
    feeds: tuple[str, ...] = PERSON_FEEDS,
    true_column: str = "true_person_id",
) -> dict[str, str]:
    """Record reference (``feed:source_system:source_record_id``) → the true person (or
    entity, with ``true_column="true_entity_id"``), for the records of ``feeds`` up to a date."""
    import pyarrow.parquet as pq

    root = Path(truth_dir) / "records"
    if not root.exists():
        raise ZhongtaiError(f"no generator truth under {root}; run `zt generate` with ZT_TRUTH set")
    out: dict[str, str] = {}
    for feed in feeds:
        for f in sorted((root / feed).glob("*.parquet")):
            if f.stem > upto.isoformat():
                continue
            t = pq.read_table(f, columns=["feed", "source_system", "source_record_id", true_column])
            for fe, ss, sr, tp in zip(
                *[t.column(c).to_pylist() for c in t.column_names], strict=True
            ):
                if tp is not None:
                    out[f"{fe}:{ss}:{sr}"] = tp
    return out


def evaluate_crosswalk(
    settings: Settings,
    business_date: dt.date,
    dataset: str,
    key_column: str,
    truth: dict[str, str],
) -> MatchQuality:
    """Quality of a published crosswalk (``master/<dataset>``) against ``truth``."""
    from zhongtai.lake import Lake

    cols = ["feed", "source_system", "source_record_id", key_column]
    xw = Lake(settings).read_table("master", dataset, business_date, columns=cols)
    if xw is None:
        raise ZhongtaiError(
            f"no master/{dataset} for {business_date}; run matching for that day first"
        )
    values = [xw.column(c).to_pylist() for c in cols]
    links = ((f"{f}:{s}:{r}", k, "") for f, s, r, k in zip(*values, strict=True))
    return evaluate_links(links, truth)


def evaluate_person_master(settings: Settings, business_date: dt.date) -> MatchQuality:
    """Quality of the published person crosswalk of ``business_date`` against the truth."""
    truth = load_truth(settings.truth_dir, business_date)
    return evaluate_crosswalk(settings, business_date, "person_crosswalk", "person_key", truth)
