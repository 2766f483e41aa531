"""Warehouse: load the lake into schemas ``lake`` and ``master``; build, read, explain marts."""

from zhongtai.warehouse.dbt import MartsReport, build_marts, read_mart
from zhongtai.warehouse.dbt_sources import write_dbt_sources
from zhongtai.warehouse.explain import PersonExplanation, explain_person
from zhongtai.warehouse.load import load_warehouse

__all__ = [
    "MartsReport",
    "PersonExplanation",
    "build_marts",
    "explain_person",
    "load_warehouse",
    "read_mart",
    "write_dbt_sources",
]
