"""One split's conversion state: the writer, the counts, the reject policy, and the row converter around a twin.

Every record read is accounted for: it either produced rows (written) or went
to the rejects file with its position and reason (rejected). A columnar twin's
result is placed in file order with the rows it left to the row converter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ..errors import LlmdataError
from .converters import Converter, Reject
from .readers import BadRecord
from .writer import SplitWriter


class StrictConversionError(LlmdataError, ValueError):
    """--strict: the first record that cannot be converted stops the run."""

    exit_code = 2


@dataclass
class SplitCounts:
    read: int = 0
    written: int = 0
    rejected: int = 0
    rows: int = 0
    shards: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    reject_reasons: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)  # kept rows worth knowing about: {"answer withheld": 12}


@dataclass(frozen=True)
class FormatSpec:
    """What the catalog's ``format`` says: how to read and which converter to run."""

    reader: str
    converter: str
    options: dict = field(default_factory=dict)
    encoding: str = "utf-8"

    @classmethod
    def from_entry(cls, fmt: dict) -> FormatSpec:
        return cls(fmt["reader"], fmt["converter"], dict(fmt.get("options") or {}), fmt.get("encoding", "utf-8"))


def _reason_key(reason: str) -> str:
    return reason.split(":")[0][:80]


BATCH = 20_000


class _SplitRun:
    """State of one split's conversion: the writer, the counts and the reject policy."""

    def __init__(self, conv: Converter, spec: FormatSpec, source: str, split: str, directory: Path,
                 strict: bool) -> None:
        self.conv, self.spec, self.source, self.strict = conv, spec, source, strict
        self.writer = SplitWriter(directory, conv.produces, split)
        self.counts = SplitCounts()

    def reject(self, position, reason: str, raw: object) -> None:
        if self.strict:
            raise StrictConversionError(f"{position}: {reason}",
                                        hint="drop --strict to send such records to the rejects file")
        self.writer.reject(str(position), reason, raw)
        self.counts.rejected += 1
        key = _reason_key(reason)
        self.counts.reject_reasons[key] = self.counts.reject_reasons.get(key, 0) + 1

    def convert(self, position, record: object) -> list[dict] | None:
        """The row converter on one record: its rows, complete; None when it is rejected (and recorded as such)."""
        if isinstance(record, BadRecord):
            return self.reject(position, record.reason, record.raw)
        if not isinstance(record, dict):
            return self.reject(position, f"record is a {type(record).__name__}, not an object", record)
        try:
            rows = list(self.conv.fn(record, self.spec.options))
        except Reject as exc:
            return self.reject(position, str(exc), record)
        if not rows:
            return self.reject(position, "the converter produced no rows", record)
        self.counts.written += 1
        base = rows[0].native_id or f"{position.file}:{position.number}"
        out = []
        for k, row in enumerate(rows):
            for flag in row.flags:
                self.counts.flagged[flag] = self.counts.flagged.get(flag, 0) + 1
            meta = {key: value for key, value in record.items() if key not in row.consumed}
            meta.update(row.fields.pop("_meta", None) or {})
            row.fields["id"] = base if len(rows) == 1 else f"{base}#{k}"
            row.fields["source"] = self.source
            row.fields["meta"] = orjson.dumps(meta, default=str).decode()
            out.append(row.fields)
        return out

    def rows(self, position, record: object) -> None:
        for fields in self.convert(position, record) or ():
            self.writer.add(fields)

    def place(self, n: int, result, columns: dict, left) -> None:
        """A twin's result for ``n`` records, written in their order: the rows of the records it converted
        (``columns``: all of the format's columns for them, ``id`` and ``meta`` one per record) and those it left
        to the row converter (``left(i)`` -> position, record)."""
        import numpy as np

        columns = per_row(columns, result.rows)
        reasons = result.reasons or {}
        produced = [(i, rows) for i in result.leave if (rows := self._left(left(i), reasons.get(i)))]
        kept = n - len(result.leave)
        self.counts.written += kept
        if not produced:
            return self.writer.add_columns(columns)
        kept_index = np.setdiff1d(np.arange(n), np.asarray(result.leave, dtype=np.int64))
        bounds = np.arange(kept + 1) if result.rows is None else np.concatenate([[0], np.cumsum(result.rows)])
        start = 0
        for i, rows in produced:  # rows the row converter kept go between the twin's, where they were read
            cut = int(bounds[np.searchsorted(kept_index, i)])
            if cut > start:
                self.writer.add_columns(_slice(columns, start, cut))
            for fields in rows:
                self.writer.add(fields)
            start = cut
        if start < bounds[-1]:
            self.writer.add_columns(_slice(columns, start, int(bounds[-1])))
        return None

    def _left(self, item, reason: str | None) -> list[dict] | None:
        """A record a twin left: rejected for ``reason`` when the twin gave one, else through the row converter."""
        position, record = item
        if reason is None or not isinstance(record, dict):
            return self.convert(position, record)
        return self.reject(position, reason, record)

    def batch(self, items: list) -> None:
        """A batch through the columnar twin when there is one; row by row otherwise."""
        where = [i for i, (_, rec) in enumerate(items) if isinstance(rec, dict)]
        result = self.conv.batch([items[i][1] for i in where], self.spec.options) if self.conv.batch and where else None
        if result is None:
            for position, record in items:
                self.rows(position, record)
            return
        # the twin saw only the objects: its indices are into ``where``; anything else goes to the row converter
        leave = set(range(len(items))).difference(where).union(where[i] for i in result.leave)
        result = dataclasses.replace(result, leave=sorted(leave),
                                     reasons={where[i]: why for i, why in (result.reasons or {}).items()})
        kept = [rec for i, (_, rec) in enumerate(items) if i not in leave]
        positions = [pos for i, (pos, _) in enumerate(items) if i not in leave]
        consumed = result.consumed
        dumps = orjson.dumps
        metas = ["{}" if rec.keys() <= consumed else
                 dumps({k: v for k, v in rec.items() if k not in consumed}, default=str).decode() for rec in kept]
        natives = result.native_ids.to_pylist() if result.native_ids is not None else [None] * len(kept)
        ids = [native if native is not None else f"{pos.file}:{pos.number}" for native, pos in zip(natives, positions)]
        self.place(len(items), result, {"id": ids, "source": [self.source] * len(kept), "meta": metas,
                                        **result.columns}, lambda i: items[i])

    def consume(self, items, progress=None) -> None:
        """Every (position, record) of ``items``, in batches of ``BATCH``: counted as read, then converted.

        ``progress`` (optional) is told the records read so far after each batch.
        """
        pending: list = []
        for item in items:
            pending.append(item)
            if len(pending) >= BATCH:
                self._take(pending, progress)
                pending = []
        self._take(pending, progress)

    def _take(self, pending: list, progress) -> None:
        self.counts.read += len(pending)
        self.batch(pending)
        if progress is not None:
            progress(self.counts.read)

    def finish(self, split: str) -> SplitCounts:
        """Close the writer and complete the counts with what it wrote."""
        self.writer.close()
        counts = self.counts
        counts.rows, counts.shards = self.writer.rows, self.writer.shards
        counts.rejects_file = f"{split}.rejects.jsonl" if self.writer.rejects else None
        return counts


def per_row(columns: dict, rows) -> dict:
    """``id``, ``source`` and ``meta`` (one per record) repeated for each row of a record that made ``rows`` of
    them; the ids of a record with several rows get ``#0``, ``#1`` ... as the row converter gives them."""
    if rows is None:
        return columns
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = np.asarray(rows, dtype=np.int64)
    parent = pa.array(np.repeat(np.arange(len(rows)), rows))
    starts = np.cumsum(rows) - rows
    number = pa.array(np.arange(int(rows.sum())) - np.repeat(starts, rows)).cast(pa.string())
    out = dict(columns)
    for name in ("id", "source", "meta"):
        values = columns[name]
        out[name] = (pa.array(values, pa.string()) if isinstance(values, list) else values).take(parent)
    several = pa.array(np.repeat(rows > 1, rows))
    out["id"] = pc.if_else(several, pc.binary_join_element_wise(out["id"], number, "#"), out["id"])
    return out


def _slice(columns: dict, start: int, stop: int) -> dict:
    return {name: values[start:stop] if isinstance(values, list) else values.slice(start, stop - start)
            for name, values in columns.items()}
