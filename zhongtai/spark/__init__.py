"""Spark session creation and configuration, in one place."""

from zhongtai.spark.session import get_spark, stop_spark

__all__ = ["get_spark", "stop_spark"]
