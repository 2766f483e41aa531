"""Warehouse: load the lake into schema ``lake``, build the dbt marts, read them."""

from zhongtai.warehouse.dbt import MartsReport, build_marts, read_mart
from zhongtai.warehouse.load import load_warehouse

__all__ = ["MartsReport", "build_marts", "load_warehouse", "read_mart"]
