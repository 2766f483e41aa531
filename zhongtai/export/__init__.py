"""Daily diff exports that downstream apps pull."""

from zhongtai.export.diff import EXPORT_DATASETS, ExportReport, export_day

__all__ = ["EXPORT_DATASETS", "ExportReport", "export_day"]
