"""The byte-range strip of columnar_text against str.strip(), on strings made to hit every branch: ASCII and
non-ASCII spaces at either end, runs longer than the numpy steps, blank strings, nulls, sliced arrays."""

from __future__ import annotations

import random

import pytest

pa = pytest.importorskip("pyarrow")

from llmdata.normalize.converters.columnar import blank  # noqa: E402
from llmdata.normalize.converters.columnar_text import SPACES, blank_mask, data, strip_bounds  # noqa: E402

PIECES = [chr(c) for c in SPACES] + [" " * 12, "\n" * 9, "x", "数据", "。", "“", "é", "\u2030", "\u3001", "\u200b",
                                     "\u1681", "\u00a1", "a b", "\u2000x\u3000"]


def _strings(seed: int, n: int = 3000):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(None)
        else:
            out.append("".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6))))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["string", "large_string"])
def test_strip_bounds_is_str_strip(seed, kind):
    strings = _strings(seed)
    array = pa.array(strings, type=getattr(pa, kind)())
    for arr, values in ((array, strings), (array.slice(7, 2000), strings[7:2007])):
        start, end = strip_bounds(arr)
        raw = data(arr).tobytes()
        got = [raw[s:e].decode() if v is not None else None for s, e, v in zip(start, end, values)]
        assert got == [v.strip() if v is not None else None for v in values]
        assert blank_mask(arr).tolist() == [v is None or not v.strip() for v in values]
        assert blank(arr).to_pylist() == [None if v is None else not v.strip() for v in values]


def test_strip_bounds_of_some_rows():
    import numpy as np

    strings = _strings(3)
    array = pa.array(strings)
    rows = np.array([i for i, v in enumerate(strings) if v is not None][::3])
    start, end = strip_bounds(array, rows)
    raw = data(array).tobytes()
    assert [raw[s:e].decode() for s, e in zip(start, end)] == [strings[i].strip() for i in rows]
