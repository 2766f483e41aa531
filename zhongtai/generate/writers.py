"""Turn a delivery (canonical columns of text) into the bytes a department would send.

Formats: CSV (UTF-8, UTF-8 with BOM, GBK, GB18030; comma or tab), JSON Lines,
Parquet, XLSX (a minimal writer of inline strings, so large sheets stay fast),
each optionally gzip-compressed or zipped. Every output is byte-for-byte
deterministic: gzip without a timestamp, zip entries with a fixed date.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Style:
    """How one source delivers: file format, encoding, compression, header language."""

    fmt: str = "csv"  # csv | tsv | jsonl | parquet | xlsx
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gbk | gb18030 (text formats)
    compress: str | None = None  # None | gz | zip
    chinese: bool = False  # Chinese headers and Chinese enum labels

    @property
    def extension(self) -> str:
        """File name extension, compression included."""
        ext = {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl", "parquet": "parquet", "xlsx": "xlsx"}[
            self.fmt
        ]
        return f"{ext}.{self.compress}" if self.compress else ext


def to_arrow(columns: dict[str, np.ndarray | pa.Array]) -> pa.Table:
    """Columns of text as an Arrow table; empty strings become nulls."""
    import pyarrow.compute as pc

    from zhongtai.generate.text import to_pa

    arrays = []
    for v in columns.values():
        a = to_pa(v)
        arrays.append(pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a))
    return pa.Table.from_arrays(arrays, names=list(columns))


def _csv(table: pa.Table, delimiter: str) -> bytes:
    import pyarrow.csv as pcsv

    sink = io.BytesIO()
    pcsv.write_csv(
        table,
        sink,
        pcsv.WriteOptions(include_header=True, delimiter=delimiter, quoting_style="needed"),
    )
    return sink.getvalue()


def _jsonl(table: pa.Table) -> bytes:
    """JSON Lines built column-wise in Arrow: one object per row, nulls as ``null``."""
    import json

    import pyarrow.compute as pc

    if table.num_rows == 0:
        return b""
    parts: list[pa.Array | str] = []
    for i, (name, col) in enumerate(zip(table.column_names, table.columns, strict=True)):
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        text = col.cast(pa.string())
        needs_escape = pc.any(pc.match_substring_regex(text, r'["\\\x00-\x1f]')).as_py()
        for old, new in (
            ()
            if not needs_escape
            else (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
        ):
            text = pc.replace_substring(text, old, new)
        quoted = pc.binary_join_element_wise('"', text, '"', "")
        value = pc.if_else(pc.is_null(col), "null", quoted)
        key = ("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        parts.extend([key, value])
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    # the rows, each ending in a newline, are already contiguous in the values buffer
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def _parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _xml_escape(a: np.ndarray) -> np.ndarray:
    if len(a) == 0:
        return a
    s = np.strings
    return s.replace(s.replace(s.replace(a, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")


def _xlsx(table: pa.Table) -> bytes:
    s = np.strings
    head = "".join(
        f'<c t="inlineStr"><is><t>{_xml_escape(np.array([c]))[0]}</t></is></c>'
        for c in table.column_names
    )
    rows = np.full(table.num_rows, "<row>", dtype="U5")
    for col in table.columns:
        v = np.asarray(col.fill_null("").to_numpy(zero_copy_only=False)).astype(str)
        cell = s.add(s.add('<c t="inlineStr"><is><t>', _xml_escape(v)), "</t></is></c>")
        rows = s.add(rows, cell)
    body = "\n".join(s.add(rows, "</row>").tolist())
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f"<row>{head}</row>\n{body}"
        "</sheetData></worksheet>"
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'  # noqa: E501
            '<Default Extension="xml" ContentType="application/xml"/>'  # noqa: E501
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'  # noqa: E501
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'  # noqa: E501
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'  # noqa: E501
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'  # noqa: E501
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    return _zip(parts)


def _zip(parts: dict[str, str | bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return sink.getvalue()


def encode_text(data: bytes, encoding: str) -> bytes:
    """Re-encode UTF-8 text bytes to the delivery's encoding."""
    if encoding == "utf-8":
        return data
    text = data.decode("utf-8")
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    if encoding == "gbk":
        text = text.replace("•", "．")  # not in GBK
    return text.encode(encoding)


def serialize(
    table: pa.Table, style: Style, inner_name: str, gbk_rows: np.ndarray | None = None
) -> bytes:
    """The file's bytes.

    Args:
        table: the delivery, headers already as the source writes them.
        style: format, encoding, compression.
        inner_name: the file name inside a zip archive.
        gbk_rows: data-row indices to write in GBK although the file is UTF-8
            (text formats only): a department pasted rows from another system.
    """
    if style.fmt in ("csv", "tsv"):
        data = _csv(table, "\t" if style.fmt == "tsv" else ",")
        if gbk_rows is not None and len(gbk_rows) and style.encoding.startswith("utf-8"):
            lines = data.split(b"\n")
            for r in gbk_rows:
                lines[r + 1] = lines[r + 1].decode("utf-8").replace("•", "．").encode("gbk")
            data = b"\n".join(lines)
            if style.encoding == "utf-8-sig":
                data = b"\xef\xbb\xbf" + data
        else:
            data = encode_text(data, style.encoding)
    elif style.fmt == "jsonl":
        data = encode_text(_jsonl(table), style.encoding)
    elif style.fmt == "parquet":
        data = _parquet(table)
    elif style.fmt == "xlsx":
        data = _xlsx(table)
    else:
        raise ValueError(style.fmt)
    return data


def compress(data: bytes, style: Style, inner_name: str) -> bytes:
    """Apply the delivery's compression (gzip without a timestamp, or a one-file zip)."""
    if style.compress == "gz":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if style.compress == "zip":
        return _zip({inner_name: data})
    return data
