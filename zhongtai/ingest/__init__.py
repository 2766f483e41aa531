"""Ingestion: landing → raw / quarantine / ledger, driven by the data contracts."""

from zhongtai.ingest.ingest import IngestReport, ingest_feed, raw_schema
from zhongtai.ingest.limits import IngestLimits

__all__ = ["IngestLimits", "IngestReport", "ingest_feed", "raw_schema"]
