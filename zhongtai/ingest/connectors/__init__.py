"""Pull connectors: bring a source's data into ``landing/`` as delivery files."""

from zhongtai.ingest.connectors.config import ConnectorSpec, load_connectors, pull_source
from zhongtai.ingest.connectors.folder import land_files
from zhongtai.ingest.connectors.http_api import pull_http_api
from zhongtai.ingest.connectors.postgres_table import pull_postgres_table
from zhongtai.ingest.connectors.state import PullReport

__all__ = [
    "ConnectorSpec",
    "PullReport",
    "land_files",
    "load_connectors",
    "pull_http_api",
    "pull_postgres_table",
    "pull_source",
]
