"""``zt``: the command line of zhongtai. Each verb lives in ``command_<verb>.py``.

Heavy engines are imported inside the commands, so ``zt --help`` stays fast.
A user's mistake raises ZhongtaiError: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from zhongtai.errors import ZhongtaiError

COMMANDS = {
    "generate": "Generate synthetic feeds with known truth into the landing zone.",
    "run": "Run business day(s) through every stage via the Airflow DAG.",
    "status": "Show what each zone holds per business date.",
    "explain": "Explain a person's code history: rules, evidence and source records (no raw PII).",
    "explain-link": "Explain why a source record is linked to its person: fields compared, "
    "similarities, weights, total.",
    "eval-match": "Person-linking quality against the generator's truth: pairwise "
    "precision/recall/F1 and B-cubed.",
    "serve-exports": "Serve the daily diff exports over a read-only HTTP API (token auth).",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="zt",
        description="zhongtai (中台): feeds → master libraries → comparison marts → daily diffs.",
        epilog="Settings come from ZT_* environment variables (see README).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"zhongtai.cli.command_{name.replace('-', '_')}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zt`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    debug = args.debug or os.environ.get("ZT_DEBUG") == "1"
    try:
        return int(args._module.run(args) or 0)
    except ZhongtaiError as e:
        if debug:
            raise
        print(f"zt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zt {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an unexpected failure: still one line, details on request
        if debug:
            raise
        print(
            f"zt {args.command}: unexpected {type(e).__name__}: {str(e)[:300]} "
            "(re-run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
