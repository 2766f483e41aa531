"""``zt eval-match``: linking quality of a master library against the generator's truth."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    p.add_argument("--date", required=True, help="business date YYYY-MM-DD of the crosswalk")
    p.add_argument(
        "--library",
        choices=("persons", "entities", "addresses"),
        default="persons",
        help="which master library to evaluate (default: persons)",
    )


def run(args: argparse.Namespace) -> int:
    """Print pairwise precision, recall, F1 and B-cubed."""
    from zhongtai.cli.dates import parse_date
    from zhongtai.settings import Settings

    if args.library == "entities":
        from zhongtai.match.entities import evaluate_entity_master as evaluate
    elif args.library == "addresses":
        from zhongtai.match.addresses import evaluate_address_master as evaluate
    else:
        from zhongtai.match.evaluate import evaluate_person_master as evaluate

    q = evaluate(Settings.from_env(), parse_date(args.date))
    print(f"library             {args.library}")
    print(f"records evaluated   {q.records:,} (not in truth: {q.unmatched_truth:,})")
    print(
        f"pairs  true {q.true_pairs:,}  predicted {q.predicted_pairs:,}  "
        f"correct {q.correct_pairs:,}"
    )
    print(f"pairwise   precision {q.precision:.5f}  recall {q.recall:.5f}  F1 {q.f1:.5f}")
    print(
        f"B-cubed    precision {q.bcubed_precision:.5f}  recall {q.bcubed_recall:.5f}  "
        f"F1 {q.bcubed_f1:.5f}"
    )
    return 0
