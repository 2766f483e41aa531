"""``zt serve-exports``: the read-only HTTP API over the daily diff exports."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options."""
    p.add_argument("--host", default="127.0.0.1", help="bind address (default %(default)s)")
    p.add_argument("--port", type=int, default=8088, help="port (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; tokens come from ZT_EXPORT_API_TOKENS."""
    from zhongtai.export.api import serve
    from zhongtai.settings import Settings

    serve(Settings.from_env(), host=args.host, port=args.port)
    return 0
