"""Read one delivery file into Arrow tables, whatever its format, encoding or packing.

A delivery is opened as a list of *members*: the file itself, the decompressed
stream of a ``.gz``, or each file of a ``.zip``. Each member is read by its
format (CSV/TSV, JSON Lines, Parquet, XLSX) into Arrow tables with the
delivered header names, the 1-based data row number of each row, and the lines
that could not be read (undecodable bytes, over-long lines, wrong field
counts, malformed JSON), which ingestion quarantines.

Members are *streamed*: :func:`stream_member` yields :class:`Chunk` s of at most
``IngestLimits.chunk_rows`` rows, so memory does not grow with the file size.
Bad lines travel with the chunk whose row numbers pass them, so the line
numbers of rows and bad lines taken together ascend through the stream.

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
import queue
import threading
import zipfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    seekable: bool = False  # open() gives a seekable file (Parquet is then read in place)


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
    if size == 0 and (fmt is not None or packing is not None):
        # a zero-byte delivery holds no rows whatever its packing: ledgered as empty
        return "plain", []
    if packing == "zip":
        return "zip", _zip_members(opener, file_name, size, limits)
    if fmt is None:
        raise DeliveryRejected(
            "unsupported_format",
            f"{file_name!r} is not a supported format; deliver .csv, .tsv, .jsonl, .parquet "
            "or .xlsx, optionally .gz or .zip",
        )
    if packing == "gzip":

        def gz_open() -> _Capped:
            raw = opener()
            if raw.read(2) != b"\x1f\x8b":
                raise DeliveryRejected("corrupt_archive", f"{file_name!r} is not gzip data")
            raw.seek(0)
            inner = cast(IO[bytes], gzip.GzipFile(fileobj=raw))
            return _Capped(inner, size, limits, repr(file_name))

        return "gzip", [_Member(None, fmt, gz_open, lambda: gz_open().read())]
    if fmt == "xlsx":
        _check_zip_container(opener, file_name, size, limits)
    return "plain", [_Member(None, fmt, opener, lambda: opener().read(), seekable=True)]


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
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DeliveryRejected("corrupt_archive", f"{file_name!r} is not a valid xlsx") from None


def _zip_members(opener: Any, file_name: str, size: int, limits: IngestLimits) -> list[_Member]:
    try:
        zf = zipfile.ZipFile(opener())
    except (zipfile.BadZipFile, OSError, ValueError):
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

        def m_open(info: zipfile.ZipInfo = i) -> _Capped:
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
        reason, original = self.bad.pop(key)
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


# -- streams --------------------------------------------------------------------------------------
@dataclass
class Chunk:
    """Up to ``IngestLimits.chunk_rows`` rows of one member, and the bad lines that go with them.

    Attributes:
        table: the rows, with the delivered header names as columns.
        line_numbers: the 1-based data row number of each row.
        bad_lines: lines that could not be read, all numbered below the next chunk's rows.
    """

    table: pa.Table
    line_numbers: np.ndarray
    bad_lines: list[BadLine] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        """Rows read plus lines that could not be read."""
        return self.table.num_rows + len(self.bad_lines)


class MemberStream:
    """One member of a delivery, opened and read chunk by chunk.

    Attributes:
        name: the zip member name, or None for the file itself.
        format: ``csv``, ``jsonl``, ``parquet`` or ``xlsx``.
        headers: the delivered header names. Known on opening for CSV, Parquet
            and XLSX; for JSON Lines the keys seen so far, complete once
            :meth:`chunks` is exhausted.
        header_known: True when ``headers`` is complete before reading rows.
    """

    header_known = True

    def __init__(self, name: str | None, fmt: str, limits: IngestLimits):
        self.name = name
        self.format = fmt
        self.limits = limits
        self.headers: list[str] = []

    @property
    def encoding(self) -> str | None:
        """The text encoding for the ledger (None for binary formats)."""
        return None

    def chunks(self) -> Iterator[Chunk]:
        """The member's rows, chunk by chunk."""
        raise NotImplementedError


class _Numberer:
    """Numbers good rows 1, 2, ... around the line numbers of bad lines reported so far."""

    def __init__(self) -> None:
        self.next = 1
        self.pending: list[BadLine] = []

    def take(self, k: int) -> tuple[np.ndarray, list[BadLine]]:
        """Numbers for the next ``k`` good rows, and the bad lines they pass."""
        known = sorted({b.line_number for b in self.pending if b.line_number >= self.next})
        cand = np.arange(self.next, self.next + k + len(known), dtype=np.int64)
        nums = np.setdiff1d(cand, np.array(known, dtype=np.int64), assume_unique=True)[:k]
        if k:
            self.next = int(nums[-1]) + 1
        out = [b for b in self.pending if b.line_number < self.next]
        self.pending = [b for b in self.pending if b.line_number >= self.next]
        return nums, out

    def rest(self) -> list[BadLine]:
        """Bad lines after the last good row."""
        out, self.pending = sorted(self.pending, key=lambda b: b.line_number), []
        return out


def stream_member(member: _Member, limits: IngestLimits) -> MemberStream:
    """Open one member for reading in chunks.

    Raises:
        DeliveryRejected: the member cannot be read at all (bad header, broken file).
    """
    if member.format == "csv":
        return _CsvStream(member, limits)
    if member.format == "jsonl":
        return _JsonlStream(member, limits)
    if member.format == "parquet":
        return _ParquetStream(member, limits)
    return _XlsxStream(member, limits)


def prefetched(chunks: Iterator[Chunk], depth: int = 1) -> Generator[Chunk, None, None]:
    """``chunks``, read ahead on a background thread while the caller works on the last one.

    Parsing and decompression release the GIL, so reading overlaps typing.
    At most ``depth`` chunks wait; the order is unchanged; an error of the
    reader is raised in the caller.
    """
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for c in chunks:
                if not put(("chunk", c)):
                    return
            put(("end", None))
        except BaseException as e:  # handed to the caller
            put(("error", e))

    t = threading.Thread(target=run, name="ingest-read", daemon=True)
    t.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "chunk":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        stop.set()
        t.join()


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


def _rows_only(n: int) -> pa.Table:
    """A table of ``n`` rows and no columns."""
    return pa.table({"_": pa.nulls(n)}).drop_columns(["_"])


class _CsvStream(MemberStream):
    def __init__(self, member: _Member, limits: IngestLimits):
        import pyarrow.csv as pacsv

        super().__init__(member.name, "csv", limits)
        self.dec = _Decoder(member.open(), limits)
        self.num = _Numberer()
        self._reader: Any = None
        blocks = self.dec.utf8_blocks()
        head = b""
        for block in blocks:
            head += block
            if head.strip(b"\r\n\t ,"):
                break
        first_nl = head.find(b"\n")
        header_line = (head if first_nl < 0 else head[:first_nl]).decode("utf-8").rstrip("\r")
        if header_line.startswith(_SENTINEL):
            raise DeliveryRejected(
                "undecodable",
                "the header line cannot be decoded as UTF-8 or GB18030 (or is too long)",
            )
        if not header_line.strip():
            return
        delimiter = "\t" if header_line.count("\t") > header_line.count(",") else ","
        self.headers = _header_names(next(csv.reader([header_line], delimiter=delimiter)))
        self.schema = pa.schema([(n, pa.string()) for n in self.headers])

        def on_invalid(row: Any) -> str:
            number = int(row.number) - 1 if row.number is not None and row.number > 0 else -1
            found = self.dec.bad_line(row.text or "", number)
            if found is None:
                found = BadLine(number, "wrong_field_count", (row.text or "")[:2000])
            self.num.pending.append(found)
            return "skip"

        try:
            self._reader = pacsv.open_csv(
                _BlockStream(blocks, head),
                read_options=pacsv.ReadOptions(
                    column_names=self.headers,
                    skip_rows=1,
                    use_threads=False,
                    block_size=max(8 << 20, 2 * limits.max_line_bytes + 64),
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in self.headers},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    null_values=[],
                ),
            )
        except pa.ArrowInvalid as e:
            if "Empty CSV" not in str(e):
                raise DeliveryRejected(
                    "unparseable_csv", f"CSV cannot be parsed: {str(e)[:200]}"
                ) from None

    @property
    def encoding(self) -> str | None:
        return self.dec.label

    def _chunk(self, table: pa.Table) -> Chunk:
        numbers, bad = self.num.take(table.num_rows)
        # a one-column file parses sentinel lines as rows; take them out
        if len(self.headers) == 1 and self.dec.bad and table.num_rows:
            col = table.column(0)
            hit = np.asarray(
                pc.fill_null(pc.starts_with(col, _SENTINEL), False).to_numpy(zero_copy_only=False),
                dtype=bool,
            )
            if hit.any():
                for i in np.flatnonzero(hit):
                    found = self.dec.bad_line(col[int(i)].as_py(), int(numbers[i]))
                    if found is not None:
                        bad.append(found)
                table = table.filter(pa.array(~hit))
                numbers = numbers[~hit]
                bad.sort(key=lambda b: b.line_number)
        return Chunk(table, numbers, bad)

    def chunks(self) -> Iterator[Chunk]:
        size = self.limits.chunk_rows
        acc: list[pa.RecordBatch] = []
        n = 0
        while self._reader is not None:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as e:
                raise DeliveryRejected(
                    "unparseable_csv", f"CSV cannot be parsed: {str(e)[:200]}"
                ) from None
            acc.append(batch)
            n += batch.num_rows
            if n >= size:
                table = pa.Table.from_batches(acc, schema=self.schema)
                start = 0
                while n - start >= size:
                    yield self._chunk(table.slice(start, size))
                    start += size
                acc = [b for b in table.slice(start).to_batches() if b.num_rows]
                n -= start
        if acc:
            yield self._chunk(pa.Table.from_batches(acc, schema=self.schema))
        rest = self.num.rest()
        if rest:
            schema = getattr(self, "schema", pa.schema([]))
            yield Chunk(schema.empty_table(), np.zeros(0, np.int64), rest)


def _json_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, ensure_ascii=False)


class _JsonlStream(MemberStream):
    header_known = False

    def __init__(self, member: _Member, limits: IngestLimits):
        super().__init__(member.name, "jsonl", limits)
        self.dec = _Decoder(member.open(), limits)
        self.keys: list[str] = []

    @property
    def encoding(self) -> str | None:
        return self.dec.label

    def _chunk(
        self, columns: dict[str, list[str | None]], n: int, numbers: list[int], bad: list[BadLine]
    ) -> Chunk:
        self.headers = _header_names(self.keys)
        if self.keys:
            table = pa.table(
                {
                    name: pa.array(columns.get(k) or [None] * n, pa.string())
                    for name, k in zip(self.headers, self.keys, strict=True)
                }
            )
        else:
            table = _rows_only(n)
        return Chunk(table, np.array(numbers, dtype=np.int64), bad)

    def chunks(self) -> Iterator[Chunk]:
        columns: dict[str, list[str | None]] = {}
        numbers: list[int] = []
        bad: list[BadLine] = []
        n = 0
        line_no = 0
        for block in self.dec.utf8_blocks():
            for raw in block.decode("utf-8").splitlines():
                if not raw.strip():
                    continue  # blank lines are not records
                line_no += 1
                found = self.dec.bad_line(raw, line_no)
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
                        if k not in self.keys:
                            self.keys.append(k)
                        columns[k] = [None] * n
                    columns[k].append(_json_text(v))
                n += 1
                for col in columns.values():
                    if len(col) < n:
                        col.append(None)
                numbers.append(line_no)
                if n >= self.limits.chunk_rows:
                    yield self._chunk(columns, n, numbers, bad)
                    columns, numbers, bad, n = {}, [], [], 0
        if n or bad:
            yield self._chunk(columns, n, numbers, bad)
        self.headers = _header_names(self.keys)


class _ParquetStream(MemberStream):
    def __init__(self, member: _Member, limits: IngestLimits):
        import pyarrow.parquet as pq

        super().__init__(member.name, "parquet", limits)
        try:
            src = member.open() if member.seekable else io.BytesIO(member.seekable_bytes())
            self.file = pq.ParquetFile(src)
        except (pa.ArrowInvalid, OSError) as e:
            raise DeliveryRejected(
                "unreadable_parquet", f"Parquet cannot be read: {str(e)[:200]}"
            ) from None
        self.headers = _header_names(self.file.schema_arrow.names)

    def chunks(self) -> Iterator[Chunk]:
        start = 1
        try:
            for batch in self.file.iter_batches(batch_size=self.limits.chunk_rows):
                n = batch.num_rows
                table = pa.Table.from_batches([batch]).rename_columns(self.headers)
                yield Chunk(table, np.arange(start, start + n, dtype=np.int64))
                start += n
        except (pa.ArrowInvalid, OSError) as e:
            raise DeliveryRejected(
                "unreadable_parquet", f"Parquet cannot be read: {str(e)[:200]}"
            ) from None


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


class _XlsxStream(MemberStream):
    def __init__(self, member: _Member, limits: IngestLimits):
        import openpyxl

        super().__init__(member.name, "xlsx", limits)
        try:
            self.wb = openpyxl.load_workbook(
                io.BytesIO(member.seekable_bytes()), read_only=True, data_only=True
            )
            self.rows = enumerate(self.wb.worksheets[0].iter_rows(values_only=True), start=1)
            self.header_row = 0
            for r, row in self.rows:
                cells = [_cell_text(v) for v in row]
                if any(c is not None and c.strip() for c in cells):
                    self.headers = _header_names([c or "" for c in cells])
                    self.header_row = r
                    break
        except DeliveryRejected:
            raise
        except Exception as e:  # openpyxl raises many types for broken files
            raise DeliveryRejected(
                "unreadable_xlsx", f"XLSX cannot be opened ({type(e).__name__})"
            ) from None

    def _chunk(self, cols: list[list[str | None]], numbers: list[int]) -> Chunk:
        table = pa.table(
            {h: pa.array(c, pa.string()) for h, c in zip(self.headers, cols, strict=True)}
        )
        return Chunk(table, np.array(numbers, dtype=np.int64))

    def chunks(self) -> Iterator[Chunk]:
        if not self.headers:
            self.wb.close()
            return
        cols: list[list[str | None]] = [[] for _ in self.headers]
        numbers: list[int] = []
        try:
            for r, row in self.rows:
                cells = [_cell_text(v) for v in row]
                if all(c is None or not c.strip() for c in cells):
                    continue
                for i, col in enumerate(cols):
                    col.append(cells[i] if i < len(cells) else None)
                numbers.append(r - self.header_row)
                if len(numbers) >= self.limits.chunk_rows:
                    yield self._chunk(cols, numbers)
                    cols, numbers = [[] for _ in self.headers], []
        except DeliveryRejected:
            raise
        except Exception as e:  # a sheet broken past its header
            raise DeliveryRejected(
                "unreadable_xlsx", f"XLSX cannot be read ({type(e).__name__})"
            ) from None
        finally:
            self.wb.close()
        if numbers:
            yield self._chunk(cols, numbers)
