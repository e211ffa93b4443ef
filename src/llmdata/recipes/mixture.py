"""The sampled mixture as a stream: which rows of which input, read back from the Parquet shards in batches.

A build never holds its inputs in memory. Each input is its shards and the
sorted row numbers sampling picked (8 bytes a row); a row's place in the
mixture is its input's offset plus its rank among the picks (recipe order,
then row order). Every pass (filters, dedup and decontamination, the second
look at near-duplicate candidates, writing the output) reads the rows it needs
in batches of ``BATCH_ROWS``, only the columns it needs, and skips row groups
that hold none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BATCH_ROWS = 4096


def read_batches(shards: list[Path], wanted=None, columns: list[str] | None = None) -> Iterator[tuple[int, int, object]]:
    """Batches of rows of ``shards`` (read as one table, in order) as ``(lo, hi, RecordBatch)``.

    With ``wanted`` (ascending row numbers) the batch holds rows ``wanted[lo:hi]``;
    without, every row, and ``lo:hi`` are the batch's row numbers.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = done = 0
    for path in shards:
        pf = pq.ParquetFile(path)
        for g in range(pf.metadata.num_row_groups):
            size = pf.metadata.row_group(g).num_rows
            if wanted is not None and np.searchsorted(wanted, base) == np.searchsorted(wanted, base + size):
                base += size
                continue
            start = base
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[g], columns=columns):
                stop = start + batch.num_rows
                if wanted is None:
                    yield start, stop, batch
                else:
                    lo, hi = int(np.searchsorted(wanted, start)), int(np.searchsorted(wanted, stop))
                    if hi > lo:
                        done = hi
                        local = wanted[lo:hi] - start
                        yield lo, hi, batch if hi - lo == batch.num_rows else batch.take(pa.array(local))
                start = stop
            base += size
        if wanted is not None and done == len(wanted):
            return


def count_rows(shards: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in shards)


@dataclass
class Part:
    """One input of the mixture: its split's shards and the rows sampling took (ascending row numbers)."""

    source: str
    shards: list[Path]
    picks: object  # int64 array


class Mixture:
    """The inputs' picked rows one after another, addressed by mixture position."""

    def __init__(self, parts: list[Part]) -> None:
        import numpy as np

        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p.picks) for p in parts])

    @property
    def rows(self) -> int:
        return int(self.offsets[-1])

    def part_of(self, positions):
        """The part (index into ``parts``) each mixture position comes from."""
        import numpy as np

        return np.searchsorted(self.offsets, positions, side="right") - 1

    def schema(self):
        """The Arrow schema of the mixture: its first input's, as the whole split read as a table has it."""
        import pyarrow.parquet as pq

        return pq.read_schema(self.parts[0].shards[0])

    def batches(self, columns: list[str] | None = None, positions=None) -> Iterator[tuple[object, object]]:
        """``(positions, RecordBatch)`` in mixture order: every row, or only ``positions`` (ascending)."""
        import numpy as np

        for p, part in enumerate(self.parts):
            lo, hi = int(self.offsets[p]), int(self.offsets[p + 1])
            if positions is None:
                picks, mine = part.picks, None
            else:
                mine = positions[np.searchsorted(positions, lo): np.searchsorted(positions, hi)]
                picks = part.picks[mine - lo]
            if not len(picks):
                continue
            for a, b, batch in read_batches(part.shards, picks, columns):
                yield (np.arange(lo + a, lo + b) if mine is None else mine[a:b]), batch
