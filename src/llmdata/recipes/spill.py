"""Per-row numbers too many to keep in memory: appended batch by batch to files, read back one column at a time.

A build keeps a few tens of bytes per row in memory. The MinHash band keys (8
bytes per band and row) and the signatures of near-duplicate candidates (4
bytes per permutation) go to files under the build's staging directory, one
file per column, so one band (or one packed column of signatures) reads back
as one contiguous array, and nothing else of them is resident meanwhile.
"""

from __future__ import annotations

from pathlib import Path


class Columns:
    """A table of ``width`` columns of one numpy dtype, stored as one file per column."""

    def __init__(self, directory: Path, name: str, width: int, dtype) -> None:
        import numpy as np

        directory.mkdir(parents=True, exist_ok=True)
        self.dtype = np.dtype(dtype)
        self.paths = [directory / f"{name}.{j}" for j in range(width)]
        self.rows = 0
        for path in self.paths:
            path.write_bytes(b"")

    @property
    def width(self) -> int:
        return len(self.paths)

    def append(self, block) -> None:
        """Add rows: ``block`` has shape (rows, width)."""
        import numpy as np

        assert block.ndim == 2 and block.shape[1] == self.width, block.shape
        for j, path in enumerate(self.paths):
            with open(path, "ab") as f:
                f.write(np.ascontiguousarray(block[:, j], dtype=self.dtype).tobytes())
        self.rows += block.shape[0]

    def column(self, j: int):
        """Column ``j`` of every row, as one array."""
        import numpy as np

        return np.fromfile(self.paths[j], dtype=self.dtype)

    def remove(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)
