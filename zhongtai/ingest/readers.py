"""Read one delivery file into Arrow tables, whatever its format, encoding or packing.

A delivery is opened as a list of *members*: the file itself, the decompressed
stream of a ``.gz``, or each file of a ``.zip``. Each member is read by its
format (CSV/TSV, JSON Lines, Parquet, XLSX) into a :class:`MemberData`: an
Arrow table with the delivered header names, the 1-based data row number of
each row, and the lines that could not be read (undecodable bytes, over-long
lines, wrong field counts, malformed JSON), which ingestion quarantines.

Text is decoded strictly: UTF-8 (with or without BOM) first, then GB18030 (a
superset of GBK). A byte sequence that does not decode is never replaced by
U+FFFD; its line is set aside with reason ``undecodable``. Big CSV files are
streamed block by block through ``pyarrow.csv``; no Python object per row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

import numpy as np
import pyarrow as pa

from zhongtai.ingest.limits import IngestLimits

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
_SENTINEL = "\x00ZT_BAD:"
_JSONL_BATCH = 50_000


class DeliveryRejected(Exception):
    """The delivery as a whole cannot be read; ``code`` is the ledger reason code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read as a row."""

    line_number: int
    reason: str
    text: str


@dataclass
class MemberData:
    """What one member of a delivery holds."""

    name: str | None
    format: str
    encoding: str | None
    table: pa.Table
    line_numbers: np.ndarray
    bad_lines: list[BadLine] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        """Rows read plus lines that could not be read."""
        return self.table.num_rows + len(self.bad_lines)


def split_format(name: str) -> tuple[str | None, str | None]:
    """``(format, packing)`` from a file name: packing is ``gzip``, ``zip`` or None.

    The format is None when the extension is not one we read.
    """
    lower = name.lower()
    packing = None
    if lower.endswith(".gz"):
        packing, lower = "gzip", lower[:-3]
    elif lower.endswith(".zip"):
        return None, "zip"
    return FORMATS.get(PurePosixPath(lower).suffix), packing


# -- capped byte streams --------------------------------------------------------------------------
class _Capped(io.RawIOBase):
    """A read-only stream that rejects the delivery once it expands past the limits."""

    def __init__(self, inner: IO[bytes], compressed_size: int, limits: IngestLimits, what: str):
        self.inner = inner
        self.compressed_size = max(compressed_size, 1)
        self.limits = limits
        self.what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        try:
            data = self.inner.read(size)
        except EOFError:
            raise DeliveryRejected(
                "truncated_gzip",
                f"{self.what} ends before the end of its gzip stream (truncated upload?); "
                "deliver the complete file again",
            ) from None
        except (gzip.BadGzipFile, zlib.error, zipfile.BadZipFile, OSError) as e:
            raise DeliveryRejected(
                "corrupt_archive", f"{self.what} cannot be decompressed ({type(e).__name__})"
            ) from None
        self.count += len(data)
        lim = self.limits
        if self.count > lim.max_uncompressed_bytes:
            raise DeliveryRejected(
                "too_large",
                f"{self.what} expands beyond {lim.max_uncompressed_bytes} bytes; "
                "split the delivery or raise the limit",
            )
        if self.count > lim.ratio_floor_bytes and self.count / self.compressed_size > lim.max_ratio:
            raise DeliveryRejected(
                "zip_bomb",
                f"{self.what} expands more than {lim.max_ratio:g} times; refused as a "
                "decompression bomb",
            )
        return data


@dataclass
class _Member:
    name: str | None
    format: str
    open: Any  # () -> binary stream
    seekable_bytes: Any  # () -> bytes (for Parquet/XLSX)


def open_members(
    opener: Any, file_name: str, size: int, limits: IngestLimits
) -> tuple[str, list[_Member]]:
    """The members of a delivery and its packing (``plain``, ``gzip`` or ``zip``).

    Args:
        opener: a callable returning a fresh seekable binary stream of the file.
        file_name: the delivered file name (its extensions decide the format).
        size: the file size in bytes.
        limits: the safety limits.

    Raises:
        DeliveryRejected: unknown format, unsafe zip member names, bombs.
    """
    fmt, packing = split_format(file_name)
    if packing == "zip":
        return "zip", _zip_members(opener, file_name, size, limits)
    if fmt is None:
        raise DeliveryRejected(
            "unsupported_format",
            f"{file_name!r} is not a supported format; deliver .csv, .tsv, .jsonl, .parquet "
            "or .xlsx, optionally .gz or .zip",
        )
    if packing == "gzip":

        def gz_open() -> IO[bytes]:
            raw = opener()
            if raw.read(2) != b"\x1f\x8b":
                raise DeliveryRejected("corrupt_archive", f"{file_name!r} is not gzip data")
            raw.seek(0)
            return _Capped(gzip.GzipFile(fileobj=raw), size, limits, repr(file_name))

        return "gzip", [_Member(None, fmt, gz_open, lambda: gz_open().read())]
    if fmt == "xlsx":
        _check_zip_container(opener, file_name, size, limits)
    return "plain", [_Member(None, fmt, opener, lambda: opener().read())]


def _unsafe_member(name: str) -> bool:
    p = name.replace("\\", "/")
    return (
        p.startswith("/")
        or (len(p) > 1 and p[1] == ":")
        or ".." in PurePosixPath(p).parts
        or any(ord(ch) < 32 for ch in p)
    )


def _check_infos(infos: list[zipfile.ZipInfo], what: str, limits: IngestLimits) -> None:
    total = sum(i.file_size for i in infos)
    packed = sum(max(i.compress_size, 1) for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise DeliveryRejected(
            "too_large", f"{what} declares {total} uncompressed bytes, over the limit"
        )
    if total > limits.ratio_floor_bytes and total / packed > limits.max_ratio:
        raise DeliveryRejected(
            "zip_bomb", f"{what} expands more than {limits.max_ratio:g} times; refused"
        )


def _check_zip_container(opener: Any, file_name: str, size: int, limits: IngestLimits) -> None:
    try:
        with zipfile.ZipFile(opener()) as zf:
            _check_infos(zf.infolist(), repr(file_name), limits)
    except zipfile.BadZipFile:
        raise DeliveryRejected("corrupt_archive", f"{file_name!r} is not a valid xlsx") from None


def _zip_members(opener: Any, file_name: str, size: int, limits: IngestLimits) -> list[_Member]:
    try:
        zf = zipfile.ZipFile(opener())
    except zipfile.BadZipFile:
        raise DeliveryRejected("corrupt_archive", f"{file_name!r} is not a valid zip") from None
    infos = [i for i in zf.infolist() if not i.is_dir()]
    for i in infos:
        if _unsafe_member(i.filename):
            raise DeliveryRejected(
                "unsafe_path",
                f"zip {file_name!r} has a member with an absolute or '..' path (zip-slip); refused",
            )
    if len(infos) > limits.max_zip_members:
        raise DeliveryRejected("too_many_members", f"zip {file_name!r} has {len(infos)} members")
    _check_infos(infos, f"zip {file_name!r}", limits)
    members = []
    for i in sorted(infos, key=lambda i: i.filename):
        fmt, packing = split_format(i.filename)
        if fmt is None or packing is not None:
            raise DeliveryRejected(
                "unsupported_format",
                f"zip {file_name!r} member {i.filename!r} is not a plain .csv/.tsv/.jsonl/"
                ".parquet/.xlsx file",
            )

        def m_open(info: zipfile.ZipInfo = i) -> IO[bytes]:
            return _Capped(zf.open(info), info.compress_size, limits, f"member {info.filename!r}")

        members.append(_Member(i.filename, fmt, m_open, lambda o=m_open: o().read()))
    return members


# -- strict text decoding -------------------------------------------------------------------------
class _Decoder:
    """Decode a byte stream block by block into UTF-8 without ever substituting characters.

    Lines that do not decode, or exceed the line cap, are replaced by a sentinel line
    that the CSV/JSONL readers turn into a :class:`BadLine`.
    """

    def __init__(self, stream: IO[bytes], limits: IngestLimits):
        self.stream = stream
        self.limits = limits
        self.encoding: str | None = None  # None while only ASCII has been seen
        self.bom = False
        self.bad: dict[int, tuple[str, str]] = {}
        self._first = True

    def _blocks(self) -> Iterator[bytes]:
        rest = b""
        while True:
            data = self.stream.read(self.limits.block_bytes)
            if not data:
                if rest:
                    yield rest
                return
            data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                if len(rest) > self.limits.max_line_bytes + 4:
                    # one endless line: hand over what we have, it will be set aside
                    yield rest
                    rest = b""
                continue
            yield data[: cut + 1]
            rest = data[cut + 1 :]

    def _decide(self, block: bytes) -> None:
        try:
            block.decode("utf-8")
            self.encoding = "utf-8"
            return
        except UnicodeDecodeError:
            pass
        good = bad = 0
        for line in block.split(b"\n"):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                good += 1
            except UnicodeDecodeError:
                bad += 1
        self.encoding = "utf-8" if good > bad else "gb18030"

    def _sentinel(self, reason: str, line: bytes) -> bytes:
        key = len(self.bad)
        text = line[:2000].decode(self.encoding or "utf-8", errors="backslashreplace")
        self.bad[key] = (reason, text.rstrip("\r\n"))
        return f"{_SENTINEL}{key}\x00\n".encode()

    def _too_long(self, block: bytes) -> bool:
        if len(block) <= self.limits.max_line_bytes:
            return False
        nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        edges = np.concatenate(([-1], nl, [len(block)]))
        return bool(np.max(np.diff(edges)) - 1 > self.limits.max_line_bytes)

    def utf8_blocks(self) -> Iterator[bytes]:
        """The stream as UTF-8 blocks, each ending at a line end."""
        for block in self._blocks():
            if self._first:
                self._first = False
                if block.startswith(b"\xef\xbb\xbf"):
                    block = block[3:]
                    self.bom = True
                    self.encoding = "utf-8"
            if self.encoding is None and not block.isascii():
                self._decide(block)
            enc = self.encoding or "utf-8"
            if not self._too_long(block):
                try:
                    text = block.decode(enc)
                    yield block if enc == "utf-8" else text.encode("utf-8")
                    continue
                except UnicodeDecodeError:
                    pass
            out = []
            for line in block.splitlines(keepends=True):
                if len(line.rstrip(b"\r\n")) > self.limits.max_line_bytes:
                    out.append(self._sentinel("line_too_long", line))
                    continue
                try:
                    out.append(line.decode(enc).encode("utf-8"))
                except UnicodeDecodeError:
                    out.append(self._sentinel("undecodable", line))
            yield b"".join(out)

    @property
    def label(self) -> str:
        """The encoding for the ledger."""
        if self.bom:
            return "utf-8-sig"
        return self.encoding or "utf-8"

    def bad_line(self, text: str, line_number: int) -> BadLine | None:
        """The BadLine a sentinel text stands for, or None if ``text`` is no sentinel."""
        if not text.startswith(_SENTINEL):
            return None
        key = int(text[len(_SENTINEL) :].split("\x00", 1)[0])
        reason, original = self.bad[key]
        return BadLine(line_number, reason, original)


class _BlockStream(io.RawIOBase):
    def __init__(self, blocks: Iterator[bytes], head: bytes):
        self.blocks = blocks
        self.buf = head

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self.buf) < size) and self.blocks is not None:
            nxt = next(self.blocks, None)
            if nxt is None:
                self.blocks = None  # type: ignore[assignment]
                break
            self.buf += nxt
        if size < 0:
            out, self.buf = self.buf, b""
        else:
            out, self.buf = self.buf[:size], self.buf[size:]
        return out

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


# -- formats --------------------------------------------------------------------------------------
def read_member(member: _Member, limits: IngestLimits) -> MemberData:
    """Read one member into a :class:`MemberData`."""
    if member.format == "csv":
        return _read_csv(member, limits)
    if member.format == "jsonl":
        return _read_jsonl(member, limits)
    if member.format == "parquet":
        return _read_parquet(member)
    return _read_xlsx(member)


def _number_good_rows(n_good: int, bad_numbers: list[int]) -> np.ndarray:
    if not bad_numbers:
        return np.arange(1, n_good + 1, dtype=np.int64)
    candidates = np.arange(1, n_good + len(bad_numbers) + 1, dtype=np.int64)
    return np.setdiff1d(candidates, np.array(bad_numbers, dtype=np.int64))[:n_good]


def _header_names(raw: list[str]) -> list[str]:
    names, seen = [], set()
    for i, h in enumerate(raw):
        h = h.replace("\ufeff", "").strip() or f"_column_{i + 1}"
        base, k = h, 2
        while h in seen:
            h, k = f"{base}__{k}", k + 1
        seen.add(h)
        names.append(h)
    return names


def _read_csv(member: _Member, limits: IngestLimits) -> MemberData:
    import pyarrow.csv as pacsv

    dec = _Decoder(member.open(), limits)
    blocks = dec.utf8_blocks()
    head = b""
    for block in blocks:
        head += block
        if head.strip(b"\r\n\t ,"):
            break
    first_nl = head.find(b"\n")
    header_line = (head if first_nl < 0 else head[:first_nl]).decode("utf-8").rstrip("\r")
    if header_line.startswith(_SENTINEL):
        raise DeliveryRejected(
            "undecodable", "the header line cannot be decoded as UTF-8 or GB18030 (or is too long)"
        )
    if not header_line.strip():
        return MemberData(member.name, "csv", dec.label, pa.table({}), np.zeros(0, np.int64))
    delimiter = "\t" if header_line.count("\t") > header_line.count(",") else ","
    names = _header_names(next(csv.reader([header_line], delimiter=delimiter)))
    bad: list[BadLine] = []

    def on_invalid(row: Any) -> str:
        number = int(row.number) - 1 if row.number is not None and row.number > 0 else -1
        found = dec.bad_line(row.text or "", number)
        if found is None:
            found = BadLine(
                number,
                "wrong_field_count",
                (row.text or "")[:2000],
            )
        bad.append(found)
        return "skip"

    stream = _BlockStream(blocks, head)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1,
                use_threads=False,
                block_size=max(4 << 20, 2 * limits.max_line_bytes + 64),
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
        batches = list(reader)
    except pa.ArrowInvalid as e:
        if "Empty CSV" in str(e):
            batches = []
        else:
            raise DeliveryRejected(
                "unparseable_csv", f"CSV cannot be parsed: {str(e)[:200]}"
            ) from None
    schema = pa.schema([(n, pa.string()) for n in names])
    table = pa.Table.from_batches(batches, schema=schema)
    # a one-column file parses sentinel lines as rows; take them out
    if len(names) == 1 and dec.bad and table.num_rows:
        col = table.column(0).to_pylist()
        keep = []
        for i, v in enumerate(col):
            found = dec.bad_line(v or "", -1)
            if found is None:
                keep.append(i)
            else:
                bad.append(found)
        table = table.take(keep)
    numbers = _number_good_rows(table.num_rows, [b.line_number for b in bad])
    return MemberData(member.name, "csv", dec.label, table, numbers, bad)


def _json_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, ensure_ascii=False)


def _read_jsonl(member: _Member, limits: IngestLimits) -> MemberData:
    dec = _Decoder(member.open(), limits)
    bad: list[BadLine] = []
    columns: dict[str, list[str | None]] = {}
    numbers: list[int] = []
    n = 0
    line_no = 0
    for block in dec.utf8_blocks():
        for raw in block.decode("utf-8").splitlines():
            line_no += 1
            if not raw.strip():
                line_no -= 1  # blank lines are not records
                continue
            found = dec.bad_line(raw, line_no)
            if found is not None:
                bad.append(found)
                continue
            try:
                obj = json.loads(raw, parse_float=str, parse_int=str)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                bad.append(BadLine(line_no, "malformed_json", raw[:2000]))
                continue
            for k, v in obj.items():
                if k not in columns:
                    columns[k] = [None] * n
                columns[k].append(_json_text(v))
            n += 1
            for col in columns.values():
                if len(col) < n:
                    col.append(None)
            numbers.append(line_no)
    names = _header_names(list(columns))
    table = pa.table(
        {name: pa.array(columns[k], pa.string()) for name, k in zip(names, columns, strict=True)}
    )
    if not columns:
        table = pa.table({})
    return MemberData(
        member.name, "jsonl", dec.label, table, np.array(numbers, dtype=np.int64), bad
    )


def _read_parquet(member: _Member) -> MemberData:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(member.seekable_bytes()))
    except (pa.ArrowInvalid, OSError) as e:
        if isinstance(e, DeliveryRejected):
            raise
        raise DeliveryRejected(
            "unreadable_parquet", f"Parquet cannot be read: {str(e)[:200]}"
        ) from None
    table = table.rename_columns(_header_names(table.column_names))
    return MemberData(
        member.name, "parquet", None, table, np.arange(1, table.num_rows + 1, dtype=np.int64)
    )


def _cell_text(v: Any) -> str | None:
    import datetime as dt

    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 2**63:
            return str(int(v))
        return repr(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    return str(v)


def _read_xlsx(member: _Member) -> MemberData:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(
            io.BytesIO(member.seekable_bytes()), read_only=True, data_only=True
        )
    except DeliveryRejected:
        raise
    except Exception as e:  # openpyxl raises many types for broken files
        raise DeliveryRejected(
            "unreadable_xlsx", f"XLSX cannot be opened ({type(e).__name__})"
        ) from None
    try:
        ws = wb.worksheets[0]
        header: list[str] | None = None
        header_row = 0
        cols: list[list[str | None]] = []
        numbers: list[int] = []
        for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in row]
            if all(c is None or not c.strip() for c in cells):
                continue
            if header is None:
                header = _header_names([c or "" for c in cells])
                header_row = r
                cols = [[] for _ in header]
                continue
            for i, col in enumerate(cols):
                col.append(cells[i] if i < len(cells) else None)
            numbers.append(r - header_row)
    finally:
        wb.close()
    if header is None:
        return MemberData(member.name, "xlsx", None, pa.table({}), np.zeros(0, np.int64))
    table = pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, cols, strict=True)})
    return MemberData(member.name, "xlsx", None, table, np.array(numbers, dtype=np.int64))
