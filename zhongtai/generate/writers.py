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
from collections.abc import Iterator
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
    # the rows, each ending in a newline, are already contiguous in the values buffer
    return _values_bytes(pc.binary_join_element_wise(*parts, ""))


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


XLSX_PIECE_ROWS = 50_000  # rows turned into sheet XML at a time (bounds memory)
_CELL, _CELL_END = '<c t="inlineStr"><is><t>', "</t></is></c>"
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"
_XLSX_PARTS = {
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
}


def _values_bytes(lines: pa.Array) -> bytes:
    """The text of a string array's rows, back to back (they are contiguous in its buffer)."""
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    start, stop = int(offsets[0]), int(offsets[-1])
    return lines.buffers()[2].slice(start, stop - start).to_pybytes()


def _sheet_rows(table: pa.Table) -> Iterator[bytes]:
    """The sheet's data rows as XML, a piece of rows at a time, joined by newlines."""
    import pyarrow.compute as pc

    for a in range(0, table.num_rows, XLSX_PIECE_ROWS):
        piece = table.slice(a, XLSX_PIECE_ROWS)
        parts: list[pa.Array | str] = ["<row>"]
        for col in piece.columns:
            text = col.combine_chunks().cast(pa.string()).fill_null("")
            for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
                text = pc.replace_substring(text, old, new)
            parts.extend([_CELL, text, _CELL_END])
        parts.append("</row>\n")
        data = _values_bytes(pc.binary_join_element_wise(*parts, ""))
        yield (b"\n" if a else b"") + data[:-1]


def _xlsx(table: pa.Table) -> bytes:
    """A one-sheet workbook of inline strings; the sheet XML is built and deflated in pieces."""
    head = "".join(f"{_CELL}{_xml_escape(np.array([c]))[0]}{_CELL_END}" for c in table.column_names)
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _XLSX_PARTS.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        # zlib's output does not depend on how its input is split into calls, so the bytes
        # equal those of one ``writestr`` of the whole sheet
        with z.open(info, "w") as out:
            out.write(f"{_SHEET_HEAD}<row>{head}</row>\n".encode())
            for rows in _sheet_rows(table):
                out.write(rows)
            out.write(_SHEET_TAIL.encode())
    return sink.getvalue()


def _zip(parts: dict[str, str | bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return sink.getvalue()


TEXT_PIECE_BYTES = 1 << 24  # re-encode text this many bytes (whole lines) at a time


def _line_pieces(data: bytes, size: int = TEXT_PIECE_BYTES) -> Iterator[tuple[int, int]]:
    """(start, stop) of pieces of ``data`` of about ``size`` bytes, each ending at a newline."""
    start = 0
    while start < len(data):
        cut = data.find(b"\n", start + size)
        stop = len(data) if cut < 0 else cut + 1
        yield start, stop
        start = stop


def _to_gbk_family(data: bytes | memoryview, encoding: str) -> bytes:
    text = bytes(data).decode("utf-8")
    if encoding == "gbk":
        text = text.replace("•", "．")  # not in GBK
    return text.encode(encoding)


def encode_text(data: bytes, encoding: str) -> bytes:
    """Re-encode UTF-8 text bytes to the delivery's encoding (a piece of lines at a time)."""
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        data.decode("utf-8")  # the bytes must be UTF-8 text
        return b"\xef\xbb\xbf" + data
    view = memoryview(data)
    return b"".join(_to_gbk_family(view[a:b], encoding) for a, b in _line_pieces(data))


def _rows_in_gbk(data: bytes, rows: np.ndarray) -> bytes:
    """UTF-8 CSV text with the data rows ``rows`` (consecutive) re-encoded in GBK."""
    nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    first, last = int(rows.min()) + 1, int(rows.max()) + 1  # line numbers; line 0 is the header
    if first > len(nl):
        return data
    start = int(nl[first - 1]) + 1
    stop = int(nl[last]) if last < len(nl) else len(data)
    view = memoryview(data)
    return b"".join([view[:start], _to_gbk_family(view[start:stop], "gbk"), view[stop:]])


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
            # the rows a department pasted from another system: one consecutive block
            assert np.array_equal(gbk_rows, np.arange(gbk_rows[0], gbk_rows[0] + len(gbk_rows)))
            data = _rows_in_gbk(data, gbk_rows)
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
