"""Conversations as columns of turns, for the twins that compare, cut and join them (hh-rlhf, message-list
preference layouts): where two sides share their start, which turns are blank, the message lists of given turns.

A :class:`Turns` holds one side of a batch (a transcript column, a message-list
column, a plain string column): per row the span of its turns, per turn the
role code and where its text is. Rows a twin cannot decide from Arrow alone
(an unknown role, a turn that is not an object, a null text) are not ``ok``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .columnar import _bool, blank, list_of_structs, messages, ranges, role_codes
from .columnar_text import offsets, pick


@dataclass
class Turns:
    """Per row ``starts``/``lengths`` into the turn arrays; turn ``t`` has role ``codes[t]`` and text
    ``text[at[t]]``; ``blank[t]``: that text is blank (``not s.strip()``). ``ok``: rows converted exactly."""

    ok: object
    starts: object
    lengths: object
    codes: object
    text: object
    at: object
    blank: object

    def take(self, turns):
        """The texts of the turns ``turns`` (indices into the turn arrays), as a new string array."""
        import pyarrow as pa

        return self.text.take(pa.array(self.at[turns]))

    def sizes(self, turns):
        """The byte sizes of the texts of the turns ``turns`` (-1 where that cannot be read off the array)."""
        import numpy as np
        import pyarrow as pa

        if not isinstance(self.text, pa.Array) or self.text.type not in (pa.string(), pa.large_string()):
            return np.full(len(turns), -1, dtype=np.int64)
        at = offsets(self.text)
        return at[self.at[turns] + 1] - at[self.at[turns]]

    def spread(self, turns):
        """(strings, step): the texts of the turns ``turns`` are ``strings[::step]``. Texts lying in the text
        array's buffer in that order come as every other value of an array over that buffer, the bytes between
        them in the others (step 2, no copy); others are taken (step 1)."""
        import numpy as np
        import pyarrow as pa

        if isinstance(self.text, pa.Array) and self.text.type == pa.string() and len(turns):
            at = offsets(self.text)
            bounds = np.stack([at[self.at[turns]], at[self.at[turns] + 1]], 1).ravel()
            if (bounds[1:] >= bounds[:-1]).all():
                values = pa.py_buffer(bounds.astype(np.int32))
                return pa.StringArray.from_buffers(len(bounds) - 1, values, self.text.buffers()[2]), 2
        return self.take(turns), 1

    def any_blank(self, rows, start, count):
        """Per row of the batch: one of the ``count`` turns from ``start`` (given for ``rows``) is blank."""
        import numpy as np

        n = len(self.ok)
        index, _ = ranges(start, count)
        return np.bincount(np.repeat(rows, count)[self.blank[index]], minlength=n) > 0


def text_turns(strings, code: int) -> Turns:
    """A string column as one turn per row with role ``code``; null rows have no turn and are not ok."""
    import numpy as np

    valid = _bool(strings.is_valid(), False)
    lengths = valid.astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    at = np.flatnonzero(valid)
    return Turns(valid, starts, lengths, np.full(len(at), code, dtype=np.int8), strings, at,
                 _bool(blank(strings), True)[at])


def message_turns(column, role_key: str, content_key: str, roles: dict) -> Turns | None:
    """A list<struct<role, content>> column; None when it is anything else. Rows holding a null list, a
    null message, a null text or a role ``roles`` does not know are not ok."""
    import numpy as np

    parts = list_of_structs(column, role_key, content_key)
    if parts is None:
        return None
    valid, starts, lengths, children, struct_null = parts
    content = children[content_key]
    codes = role_codes(children[role_key], roles)
    codes[struct_null | _bool(content.is_null(), True)] = -1
    n = len(valid)
    index, _ = ranges(starts, lengths)
    unsure = np.bincount(np.repeat(np.arange(n), lengths)[codes[index] < 0], minlength=n) > 0
    return Turns(valid & ~unsure, starts, lengths, codes, content, np.arange(len(content)),
                 _bool(blank(content), True))


def same_turns(a: Turns, ai, b: Turns, bi):
    """Turn ``ai[k]`` of ``a`` equals turn ``bi[k]`` of ``b`` (role and text), per k."""
    import numpy as np
    import pyarrow.compute as pc

    same = (a.codes[ai] == b.codes[bi]) & (a.sizes(ai) == b.sizes(bi))  # texts of other sizes differ: no copy
    maybe = np.flatnonzero(same)
    (x, step), (y, step_b) = a.spread(ai[maybe]), b.spread(bi[maybe])
    if step != step_b:
        x, y, step = a.take(ai[maybe]), b.take(bi[maybe]), 1
    same[maybe] = _bool(pc.equal(x, y), False)[::step]
    return same


def first_difference(a: Turns, a_start, b: Turns, b_start, count):
    """Per row: the index of the first of its ``count`` turns (from ``a_start`` in ``a``, ``b_start`` in ``b``)
    that differs between the two sides; ``count`` where they all agree."""
    import numpy as np

    ai, _ = ranges(a_start, count)
    bi, _ = ranges(b_start, count)
    parent = np.repeat(np.arange(len(count)), count)
    j = np.arange(len(ai)) - np.repeat(np.cumsum(count) - count, count)
    differ = ~same_turns(a, ai, b, bi)
    first = np.asarray(count).copy()
    rows, at = np.unique(parent[differ], return_index=True)
    first[rows] = j[differ][at]
    return first


def gather(sides: list[Turns], side, start, count):
    """Message lists: per output row, ``count`` turns from ``start`` of ``sides[side]``."""
    import numpy as np
    import pyarrow as pa

    index, offsets = ranges(start, count)
    owner = np.repeat(np.asarray(side), count)
    codes = np.zeros(len(index), dtype=np.int8)
    take = np.zeros(len(index), dtype=np.int64)
    base = 0
    for k, turns in enumerate(sides):
        mine = owner == k
        codes[mine] = turns.codes[index[mine]]
        take[mine] = turns.at[index[mine]] + base
        base += len(turns.text)
    pool = pa.concat_arrays([turns.text for turns in sides]) if len(sides) > 1 else sides[0].text
    return messages(codes, pick(pool, take), offsets)
