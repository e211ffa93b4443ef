"""The search table as plain text when stdout is not a terminal: rich's characters without importing rich's console.

Output to a pipe, a file or a CI log has no colours and no links, so the
table ``render.search_table`` describes comes down to column widths and one
truncated column. Laid out here the way rich lays out that table (no box, no
padding at the edges, expanded to the console's width, no wrapping, the last
column taking what the others leave, columns shrunk evenly when they do not
fit), it prints the same characters without rich's console and table
modules, a large part of the start-up of a piped search.

Only the common case is laid out here; ``search_text`` returns None for the
rest and rich prints it as before: a terminal (or FORCE_COLOR, TTY_COMPATIBLE,
a notebook, Windows), a console narrower than the count line (rich would
wrap it), and cells rich would treat specially (markup or :emoji: codes in
the text it reads as markup; line breaks, tabs and other characters that are
not printable). ``tests/test_plain_table.py`` compares both on every catalog
entry and on odd cases, at many widths.
"""

from __future__ import annotations

import os
import re
import sys

from .cells import search_footer, search_header, search_row

# Two colons that may hold an emoji code (rich._emoji_replace).
_COLONS = re.compile(r":\S*:")


def is_terminal(stream) -> bool:
    """Would rich treat ``stream`` as a terminal (rich.console.Console.is_terminal)?"""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console_width() -> int:
    """The width rich gives a console that is not a terminal (rich.console.Console.size, outside Windows)."""
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    width = None
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
        except (AttributeError, ValueError, OSError):
            continue
        break
    return width or 80


def _has_emoji(text: str) -> bool:
    """Does rich turn a :name: code in ``text`` into an emoji? (Asked only of text with two colons.)"""
    from rich._emoji_replace import _emoji_replace

    return _emoji_replace(text) != text


def _plain(cell) -> str | None:
    """The text of a cell, or None when rich would not show it as it is."""
    if isinstance(cell, str):
        # rich shows escape(cell) read as markup: the text itself, unless it has a [ or ends with a backslash
        markup = "[" in cell or cell.endswith("\\")
        text = None if markup or (_COLONS.search(cell) and _has_emoji(cell)) else cell
    else:
        text = "".join(run for run, _ in cell[1])
    return text if text is not None and text.isprintable() else None


def _column_width(texts: list[str], width: int, pad: int, min_width: int | None = None) -> int:
    """The width rich measures for a column of ``texts`` given at most ``width`` cells (Table._measure_column)."""
    from rich.cells import cell_len

    if width < 1:
        return 0
    measured = max(min(min(cell_len(text), width) + pad, width) for text in texts)
    return measured if min_width is None else max(measured, min_width + pad)


def _reduce(excess: int, widths: list[int]) -> list[int]:
    """Take ``excess`` cells from the columns evenly, none below zero (rich._ratio.ratio_reduce, equal ratios)."""
    ratios = [1 if width else 0 for width in widths]
    left, total = sum(ratios), excess
    out = []
    for ratio, width in zip(ratios, widths):
        if ratio and left > 0:
            taken = min(width, round(total / left))
            out.append(width - taken)
            total -= taken
            left -= 1
        else:
            out.append(width)
    return out


def _cell(text: str, width: int, left: int, right: int) -> str:
    """One cell, ``width`` cells wide: padding, then the text cut with an ellipsis or filled with spaces."""
    from rich.cells import cell_len, set_cell_size

    inner = width - left - right
    if inner < 1:
        return " " * max(width, 0)
    if cell_len(text) > inner:
        text = set_cell_size(text, inner - 1) + "…"
    return " " * left + set_cell_size(text, inner) + " " * right


def search_text(hits: list[dict], chinese: bool, stream=None) -> str | None:
    """What rich prints for ``search_table(hits, chinese)`` and the count line, or None where this cannot say."""
    stream = stream or sys.stdout
    if os.name == "nt" or "IPython" in sys.modules or is_terminal(stream):
        return None
    rows = [search_header(chinese)]
    for hit in hits:
        row = [_plain(cell) for cell in search_row(hit, chinese)]
        if None in row:
            return None
        rows.append(row)
    from rich.cells import cell_len, set_cell_size

    width = console_width()
    footer = search_footer(len(hits))
    if cell_len(footer) > width:
        return None  # rich would wrap it
    columns = [[row[i] for row in rows] for i in range(len(rows[0]))]
    # One space of padding each side of a cell, none at the left and right edges of the table.
    pads = [(0, 1)] + [(1, 1)] * (len(columns) - 2) + [(1, 0)]
    # Every column as wide as its widest cell, the last one (the summary) taking the rest, at least 2 cells.
    widths = [_column_width(texts, width, sum(pad)) for texts, pad in zip(columns[:-1], pads)]
    widths.append(max(2, width - sum(widths)))
    if sum(widths) > width:  # too wide: every column gives up an equal share, then is measured again within it
        widths = _reduce(sum(widths) - width, widths)
        widths = [_column_width(texts, w, sum(pad), 20 if i == len(columns) - 1 else None)
                  for i, (texts, w, pad) in enumerate(zip(columns, widths, pads))]
    lines = []
    for row in rows:
        line = "".join(_cell(text, w, *pad) for text, w, pad in zip(row, widths, pads))
        lines.append((set_cell_size(line, width) if cell_len(line) > width else line) + "\n")
    return "".join(lines) + footer + "\n"
