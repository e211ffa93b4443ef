"""Filters and deterministic sampling: which rows of each input enter the mixture.

Filters run first (script-based language, length in characters, turns,
system prompt); then each input takes ``all``, ``n`` rows, a ``fraction`` of
what passed, or its ``weight``'s share of ``total`` (largest-remainder
rounding, so the shares add up exactly). The random generator is seeded by the
recipe seed and the input's id and split, so adding an input does not change
what another one draws.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .spec import Filters, Input, Recipe
from .text import row_parts, row_text, script_language, text_columns


@dataclass
class Drawn:
    """What sampling did for one input."""

    available: int
    passed: int
    wanted: int
    taken: int
    filtered_out: dict


def keep_mask(rows: list[dict], fmt: str, f: Filters) -> tuple[list[bool], dict]:
    """Which rows pass the filters, and how many each filter removed (first failing filter counts)."""
    reasons: dict[str, int] = {}
    mask = []
    for row in rows:
        reason = _failing(row, fmt, f)
        mask.append(reason is None)
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
    return mask, reasons


def candidates(shards: list[Path], fmt: str, f: Filters):
    """Rows of a split that pass the filters, read batch by batch: (row numbers as an int64 array, rows
    removed per filter, rows read)."""
    import numpy as np

    from .mixture import count_rows, read_batches

    if not f.active:
        total = count_rows(shards)
        return np.arange(total, dtype=np.int64), {}, total
    passed, reasons, total = [], {}, 0
    for lo, hi, batch in read_batches(shards, columns=text_columns(fmt)):
        mask, why = keep_mask(batch.to_pylist(), fmt, f)
        passed.append(lo + np.flatnonzero(mask))
        for reason, n in why.items():
            reasons[reason] = reasons.get(reason, 0) + n
        total = hi
    return (np.concatenate(passed) if passed else np.zeros(0, dtype=np.int64)), reasons, total


def _failing(row: dict, fmt: str, f: Filters) -> str | None:
    parts = row_parts(row, fmt)
    if f.has_system_prompt is not None:
        has = bool(parts) and parts[0][0] == "system"
        if has != f.has_system_prompt:
            return "has_system_prompt"
    turns = sum(1 for role, _ in parts if role != "system")
    if f.min_turns is not None and turns < f.min_turns:
        return "min_turns"
    if f.max_turns is not None and turns > f.max_turns:
        return "max_turns"
    if f.min_length is not None or f.max_length is not None or f.languages:
        text = row_text(row, fmt)
        if f.min_length is not None and len(text) < f.min_length:
            return "min_length"
        if f.max_length is not None and len(text) > f.max_length:
            return "max_length"
        if f.languages and script_language(text) not in f.languages:
            return "languages"
    return None


def allocate(recipe: Recipe, passed: dict[int, int]) -> dict[int, int]:
    """Rows wanted per input (by position in the recipe), given how many passed the filters."""
    wanted: dict[int, int] = {}
    for i, item in enumerate(recipe.inputs):
        if item.take == "all":
            wanted[i] = passed[i]
        elif item.take == "n":
            wanted[i] = int(item.amount)
        elif item.take == "fraction":
            wanted[i] = int(round(float(item.amount) * passed[i]))
    weighted = [i for i, item in enumerate(recipe.inputs) if item.take == "weight"]
    if weighted:
        budget = max(0, (recipe.total or 0) - sum(wanted.values()))
        weights = sum(float(recipe.inputs[i].amount) for i in weighted)
        exact = {i: budget * float(recipe.inputs[i].amount) / weights for i in weighted}
        floors = {i: int(v) for i, v in exact.items()}
        left = budget - sum(floors.values())
        for i in sorted(weighted, key=lambda i: (-(exact[i] - floors[i]), i))[:left]:
            floors[i] += 1
        wanted.update(floors)
    return wanted


def _rng(seed: int, item: Input):
    import numpy as np

    salt = int.from_bytes(hashlib.sha256(f"{item.id}:{item.split}".encode()).digest()[:8], "little")
    return np.random.default_rng([seed, salt])


def pick(seed: int, item: Input, candidates, wanted: int):
    """``wanted`` of ``candidates`` (an int64 array; all when fewer), chosen by a generator seeded per input;
    in input order."""
    import numpy as np

    if wanted >= len(candidates):
        return candidates
    return candidates[np.sort(_rng(seed, item).choice(len(candidates), size=wanted, replace=False))]


def draw(seed: int, item: Input, candidates: list[int], wanted: int) -> list[int]:
    """:func:`pick` for a list of row numbers."""
    import numpy as np

    return pick(seed, item, np.asarray(candidates, dtype=np.int64), wanted).tolist()
