"""The lake: zones of Parquet under one root, a local folder or an S3 bucket."""

from zhongtai.lake.store import ZONES, DatasetVersion, Lake

__all__ = ["ZONES", "DatasetVersion", "Lake"]
