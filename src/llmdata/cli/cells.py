"""What a search row and a card show, as strings: one definition for rich (render.py) and plain text (plain.py).

No rich here: a search whose output is not a terminal is printed without
importing rich's console (``plain.py``), from the same cells rich gets.
"""

from __future__ import annotations

# A cell of the search table is either a ``str``, data that rich reads as markup once escaped (and in which it
# turns :emoji: codes into emoji, as it always has), or a ``(style, runs)`` pair: a rich ``Text`` of
# ``(text, style)`` runs over a base style, shown as it is.
Runs = tuple[tuple[str, str], ...]

COMMERCIAL_MARKS = {True: ("✓", "green", "commercial use allowed"), False: ("✗", "red", "non-commercial")}
UNCLEAR_MARK = ("?", "yellow", "commercial use unclear")


def wants_chinese(query: str) -> bool:
    from ..index.tokens import segments

    return any(is_cjk for _, is_cjk in segments(query))


def human_count(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}".replace(".0", "")
    return str(n)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def commercial_mark(entry: dict) -> tuple[str, str, str]:
    """(mark, style, words) of the licence's commercial-use verdict: ✓ allowed, ✗ forbidden, ? unknown."""
    return COMMERCIAL_MARKS.get(entry.get("commercial"), UNCLEAR_MARK)


def size_text(entry: dict) -> str:
    size = entry.get("size") or {}
    parts = []
    if "records" in size:
        parts.append(f"{human_count(size['records'])} rows")
    if "bytes" in size:
        parts.append(human_bytes(size["bytes"]))
    if "tokens" in size:
        parts.append(f"{human_count(size['tokens'])} tok")
    return " / ".join(parts) or "?"


def loads_as(entry: dict) -> tuple[str, Runs]:
    """The normalized format `llmdata.load` gives, or 'raw' when the entry has no converter yet."""
    from ..catalog.model import loads

    if not loads(entry):
        return "dim", (("raw", ""),)
    return "green", ((entry["format"]["produces"], ""),)


def license_cell(entry: dict, *, long: bool = False) -> tuple[str, Runs]:
    """Licence id (a link to its evidence) with the commercial-use mark, and in ``long`` form its words."""
    from ..catalog.model import evidence_url

    mark, style, words = commercial_mark(entry)
    source = entry.get("license_source")
    return (f"link {evidence_url(source)}" if source else "",
            ((entry["license"], ""), (" ", ""), (f"{mark} {words}" if long else mark, style)))


def search_header(chinese: bool) -> list[str]:
    return ["id", "category", "lang", "license", "size", "loads as", "简介" if chinese else "summary"]


def search_footer(count: int) -> str:
    return f"{count} result(s). `llmdata info ID` shows the full card."


def search_row(hit: dict, chinese: bool) -> list:
    """The cells of one hit's row (see ``Runs`` above), in the order of ``search_header``."""
    ident: Runs = ((hit["id"], ""),)
    if hit["access"] != "public":
        ident += ((f" ({hit['access']})", "magenta"),)
    return [("", ident), hit["category"], ",".join(hit["languages"]), license_cell(hit), size_text(hit),
            loads_as(hit), hit["summary"]["zh" if chinese else "en"]]
