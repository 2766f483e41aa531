"""Cleaning and standardisation, raw → clean.

The rules are plain Python functions, one module per kind of value
(``resident_ids``, ``credit_codes``, ``phones``, ``names``, ``addresses``,
``vocab``); :mod:`zhongtai.clean.batch` applies them to Arrow batches and
``spark_jobs/clean.py`` runs that inside Spark. :func:`clean_feed` is the step
the DAGs, the CLI and the tests call.
"""

from zhongtai.clean.job import CleanReport, clean_feed

__all__ = ["CleanReport", "clean_feed"]
