"""Write one batch of records as a delivery, with the file-level dirt, and note its truth."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from zhongtai.contracts.model import Contract, load_contract
from zhongtai.generate.config import DirtConfig, GenerateReport
from zhongtai.generate.dirt import DirtLog
from zhongtai.generate.text import constant, map_values, to_pa
from zhongtai.generate.truth import TruthWriter
from zhongtai.generate.writers import Style, compress, serialize, to_arrow
from zhongtai.lake.store import Lake

# headers departments use that no contract alias knows (a renamed column)
RENAMES = {
    "phone": "联系方式",
    "id_number": "证件号",
    "name": "人员姓名",
    "lab_name": "实验室",
    "sampling_site": "采样地点",
    "address": "家庭住址",
    "tested_at": "出结果时间",
    "batch_no": "批次",
    "registered_address": "注册地",
    "decided_by": "审批人",
}
EXTRA = ("备注", "录入人", "remark", "数据来源说明")


@dataclass
class Batch:
    """Records for one delivery file, canonical columns holding text as the source writes it."""

    feed: str
    source: str
    day: dt.date  # business date of the records
    stem: str  # file name without extension
    cols: dict[str, np.ndarray | pa.Array]
    record_id: np.ndarray | pa.Array
    log: DirtLog
    person_id: np.ndarray | pa.Array | None = None
    entity_id: np.ndarray | None = None
    address_id: np.ndarray | None = None
    true_value: np.ndarray | None = None
    resend: np.ndarray | None = None
    protected: tuple[str, ...] = field(default_factory=tuple)  # columns file dirt must keep

    def __len__(self) -> int:
        return len(self.record_id)


def enum_labels(contract: Contract) -> dict[str, dict[str, str]]:
    """Per enum column, canonical value -> the Chinese label of the contract."""
    out: dict[str, dict[str, str]] = {}
    for p in contract.document["schema"][0]["properties"]:
        if p.get("enum"):
            out[p["name"]] = {str(e["value"]): str(e.get("label", e["value"])) for e in p["enum"]}
    return out


class Deliverer:
    """Writes batches into the landing zone and their truth beside the lake."""

    def __init__(
        self,
        lake: Lake,
        truth: TruthWriter,
        report: GenerateReport,
        dirt: DirtConfig,
        last_day: dt.date,
    ) -> None:
        self.lake = lake
        self.truth = truth
        self.report = report
        self.dirt = dirt
        self.last_day = last_day
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zt-generate-writer")
        self._pending: Future[None] | None = None

    def deliver(
        self,
        batch: Batch,
        style: Style,
        rng: np.random.Generator,
        *,
        landing_day: dt.date | None = None,
        file_dirt: bool = True,
    ) -> str:
        """Write the batch as one file; return its lake-relative path.

        The batch is used up: its columns are taken out of ``batch.cols`` as they are
        converted, so that a part's text is never held twice.
        """
        contract = load_contract(batch.feed)
        landing_day = landing_day or batch.day
        d = self.dirt if file_dirt else DirtConfig.clean()
        n = len(batch)
        # duplicated rows sit right after their original
        dup = rng.random(n) < d.duplicate_row
        order = np.repeat(np.arange(n), 1 + dup.astype(np.int64))
        is_dup = np.zeros(len(order), dtype=bool)
        is_dup[1:] = order[1:] == order[:-1]
        log = batch.log.take(order)
        log.add("record:duplicate_row", is_dup)
        labels = enum_labels(contract) if style.chinese else {}
        taker = pa.array(order)
        cols: dict[str, pa.Array] = {}
        for c in contract.columns:
            # taken out of the batch: each column's source text is freed once it is in Arrow
            v = batch.cols.pop(c.name, None)
            v = constant("", len(order)) if v is None else to_pa(v).take(taker)
            if c.name in labels:
                v = map_values(v, labels[c.name])
            cols[c.name] = v
        file_codes: list[str] = []
        optional = [
            c.name
            for c in contract.columns
            if not c.required and c.name not in batch.protected and c.name != contract.source_column
        ]
        headers = {
            c.name: (c.aliases[0] if style.chinese and c.aliases else c.name)
            for c in contract.columns
        }
        if optional and rng.random() < d.missing_column:
            gone = optional[int(rng.integers(0, len(optional)))]
            del cols[gone]
            file_codes.append(f"file:missing_column:{gone}")
        renamable = [c for c in optional if c in cols and c in RENAMES]
        if renamable and rng.random() < d.renamed_column:
            col = renamable[int(rng.integers(0, len(renamable)))]
            headers[col] = RENAMES[col]
            file_codes.append(f"file:renamed_column:{col}")
        if rng.random() < d.extra_column:
            name = EXTRA[int(rng.integers(0, len(EXTRA)))]
            cols[name] = to_pa(np.where(rng.random(len(order)) < 0.1, "已核实", ""))
            headers[name] = name
            file_codes.append(f"file:extra_column:{name}")
        table = to_arrow(cols).rename_columns([headers[k] for k in cols])
        del cols
        gbk_rows = None
        if (
            style.fmt in ("csv", "tsv")
            and style.encoding.startswith("utf-8")
            and len(order) > 20
            and rng.random() < d.gbk_in_utf8
        ):
            k = max(1, len(order) // 50)
            start = int(rng.integers(0, len(order) - k))
            gbk_rows = np.arange(start, start + k)
            log.add("file:gbk_in_utf8", gbk_rows)
            file_codes.append("file:gbk_in_utf8")
        # departments put the business date in the name; a late or re-sent file keeps it
        stem = f"{batch.stem}_{batch.day:%Y%m%d}"
        name = f"{stem}.{style.extension}"
        inner = f"{stem}.{style.extension.split('.')[0]}"
        data = serialize(table, style, inner, gbk_rows)
        truncate = style.compress == "gz" and len(order) > 20 and rng.random() < d.truncated_gzip
        if truncate:
            log.add("file:truncated_gzip", np.arange(len(order)))
            file_codes.append("file:truncated_gzip")
        folder = f"landing/{batch.feed}/{batch.source}/{landing_day.isoformat()}"
        path = f"{folder}/{name}"
        paths = [path]
        self.report.add(batch.feed, batch.source, path, len(order))
        late = landing_day != batch.day
        self._note(batch, style, path, landing_day, "delivered", None, late, len(order), file_codes)
        self._truth(batch, order, log, path, landing_day, is_dup, late)
        # the same file again: another name in the same folder, or the same name a day later
        if rng.random() < d.duplicate_delivery:
            nxt = landing_day + dt.timedelta(days=1)
            if rng.random() < 0.5 and nxt <= self.last_day:
                again = f"landing/{batch.feed}/{batch.source}/{nxt.isoformat()}/{name}"
            else:
                again = f"{folder}/{stem}(1).{style.extension}"
            paths.append(again)
            self.report.add(batch.feed, batch.source, again, len(order))
            day2 = dt.date.fromisoformat(again.split("/")[3])
            self._note(batch, style, again, day2, "duplicate", path, late, len(order), file_codes)
            self._truth(batch, order, log, again, day2, np.ones(len(order), dtype=bool), late)
        self._submit(data, style, inner, paths, truncate)
        for status, rate in (("header_only", d.header_only_file), ("empty", d.empty_file)):
            if rng.random() < rate:
                suffix = "补充" if status == "empty" else "supplement"
                extra = f"{folder}/{stem}-{suffix}.{style.extension}"
                body = (
                    b""
                    if status == "empty"
                    else compress(serialize(table.slice(0, 0), style, name), style, name)
                )
                if status == "empty" and style.compress == "gz":
                    body = b""
                self.lake.write_bytes(extra, body)
                self.report.add(batch.feed, batch.source, extra, 0)
                self._note(
                    batch, style, extra, landing_day, status, None, False, 0, [f"file:{status}"]
                )
        return path

    def _submit(
        self, data: bytes, style: Style, inner: str, paths: list[str], truncate: bool
    ) -> None:
        """Compress and write in a second thread (zlib releases the GIL), one file in flight."""
        self.flush()

        def job() -> None:
            out = compress(data, style, inner)
            if truncate:
                out = out[: max(20, int(len(out) * 0.6))]
            for p in paths:
                self.lake.write_bytes(p, out)

        self._pending = self._pool.submit(job)

    def flush(self) -> None:
        """Wait for the file being written (raises its error, if any)."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def close(self) -> None:
        """Finish writing and stop the writer thread."""
        self.flush()
        self._pool.shutdown()

    def _note(
        self,
        batch: Batch,
        style: Style,
        path: str,
        landing: dt.date,
        status: str,
        dup_of: str | None,
        late: bool,
        rows: int,
        codes: list[str],
    ) -> None:
        self.truth.delivery(
            feed=batch.feed,
            source=batch.source,
            business_date=batch.day,
            landing_date=landing,
            file=path,
            status=status,
            duplicate_of=dup_of,
            is_late=late,
            rows=rows,
            format=style.extension,
            encoding=style.encoding if style.fmt in ("csv", "tsv", "jsonl") else None,
            file_dirt=codes,
        )

    def _truth(
        self,
        batch: Batch,
        order: np.ndarray,
        log: DirtLog,
        path: str,
        landing: dt.date,
        is_dup: np.ndarray,
        late: bool,
    ) -> None:
        m = len(order)

        taker = pa.array(order)

        def take(a: np.ndarray | pa.Array | None) -> pa.Array:
            return pa.nulls(m, pa.string()) if a is None else to_pa(a).take(taker)

        table = pa.table(
            {
                "feed": constant(batch.feed, m),
                "source_system": constant(batch.source, m),
                "source_record_id": take(batch.record_id),
                "file": constant(path, m),
                "line_number": pa.array(np.arange(1, m + 1, dtype=np.int64)),
                "business_date": pa.array(np.full(m, np.datetime64(batch.day, "D"))),
                "landing_date": pa.array(np.full(m, np.datetime64(landing, "D"))),
                "true_person_id": take(batch.person_id),
                "true_entity_id": take(batch.entity_id),
                "true_address_id": take(batch.address_id),
                "true_value": take(batch.true_value),
                "dirt": log.codes(),
                "beyond_repair": pa.array(log.irreparable()),
                "is_duplicate": pa.array(is_dup),
                "is_late": pa.array(np.full(m, late)),
                "is_resend": pa.array(
                    np.zeros(m, dtype=bool)
                    if batch.resend is None
                    else np.asarray(batch.resend)[order]
                ),
            }
        )
        self.truth.records(batch.feed, landing.isoformat(), table)

    def missing(self, feed: str, source: str, day: dt.date) -> None:
        """Note a delivery that never arrived."""
        self.truth.delivery(
            feed=feed,
            source=source,
            business_date=day,
            landing_date=None,
            file=None,
            status="missing",
            duplicate_of=None,
            is_late=False,
            rows=0,
            format=None,
            encoding=None,
            file_dirt=[],
        )
