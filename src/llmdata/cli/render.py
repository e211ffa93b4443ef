"""Rich renderings of catalog entries: the search table and the full card."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..catalog.model import Source, evidence_url
from ..index.tokens import segments


def wants_chinese(query: str) -> bool:
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


def license_text(entry: dict, *, long: bool = False) -> Text:
    """Licence id with a commercial-use mark: ✓ allowed, ✗ forbidden, ? unknown."""
    commercial = entry.get("commercial")
    mark, style, word = {True: ("✓", "green", "commercial use allowed"),
                         False: ("✗", "red", "non-commercial")}.get(commercial, ("?", "yellow", "commercial use unclear"))
    source = entry.get("license_source")
    text = Text(entry["license"], style=f"link {evidence_url(source)}" if source else "")
    text.append(" ")
    text.append(f"{mark} {word}" if long else mark, style=style)
    return text


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


def loads_as(entry: dict) -> Text:
    """The normalized format `llmdata.load` gives, or 'raw' when the entry has no converter yet."""
    from ..catalog.model import loads

    if not loads(entry):
        return Text("raw", style="dim")
    return Text(entry["format"]["produces"], style="green")


def search_table(hits: list[dict], chinese: bool) -> Table:
    table = Table(header_style="bold", expand=True, box=None, pad_edge=False)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("lang", no_wrap=True)
    table.add_column("license", no_wrap=True)
    table.add_column("size", no_wrap=True)
    table.add_column("loads as", no_wrap=True)
    table.add_column("summary" if not chinese else "简介", no_wrap=True, overflow="ellipsis", ratio=1, min_width=20)
    for hit in hits:
        summary = hit["summary"]["zh" if chinese else "en"]
        ident = Text(hit["id"])
        if hit["access"] != "public":
            ident.append(f" ({hit['access']})", style="magenta")
        table.add_row(
            ident, hit["category"], ",".join(hit["languages"]), license_text(hit), size_text(hit),
            loads_as(hit), escape(summary),
        )
    return table


def source_lines(entry: dict) -> list[str]:
    lines = []
    for i, s in enumerate(entry["sources"]):
        role = "primary" if i == 0 else "mirror"
        where = s.get("repo") or s.get("url") or f"{len(s.get('files') or [])} files"
        rev = s.get("revision") or s.get("ref")
        pin = "pinned" if Source.from_dict(s).pinned else "unpinned"
        line = f"[{s['kind']}] {where}" + (f" @ {rev}" if rev else "") + f"  ({role}, {pin})"
        for f in s.get("files") or []:
            meta = ", ".join(x for x in (human_bytes(f["size"]) if "size" in f else "", f"sha256 {f['sha256'][:12]}…" if "sha256" in f else "") if x)
            name = f.get("path") or f.get("url")
            line += f"\n    {name}" + (f"  ({meta})" if meta else "") + (f"\n      {f['url']}" if f.get("url") else "")
        if s.get("note"):
            line += f"\n    note: {s['note']}"
        lines.append(line)
    return lines


def card_table(entry: dict) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")

    def row(label: str, value) -> None:
        if value not in (None, "", [], {}):
            table.add_row(label, value if isinstance(value, Text) else escape(str(value)))

    row("id", entry["id"])
    row("name", entry["name"])
    row("summary", entry["summary"]["en"])
    row("简介", entry["summary"]["zh"])
    row("category", ", ".join([entry["category"], *entry.get("also", [])]))
    row("domains", ", ".join(entry.get("domains", [])))
    row("languages", ", ".join(entry["languages"]))
    row("tags", ", ".join(entry.get("tags", [])))
    row("license", license_text(entry, long=True))
    row("license note", entry.get("license_note"))
    if entry.get("license_source"):
        row("license source", entry["license_source"] + (
            f"\n{evidence_url(entry['license_source'])}" if not entry["license_source"].startswith("http") else ""))
    row("generated by", entry.get("generated_by"))
    row("size", size_text(entry) + (f" — {entry['size']['note']}" if entry.get("size", {}).get("note") else ""))
    row("access", entry["access"])
    row("instructions", entry.get("instructions"))
    row("homepage", entry.get("homepage"))
    row("paper", entry.get("paper"))
    row("sources", "\n".join(source_lines(entry)))
    splits = entry.get("splits") or {}
    row("splits", "\n".join(f"{name}: {', '.join(paths)}" for name, paths in splits.items()))
    fmt = entry.get("format") or {}
    from ..catalog.model import loads

    if loads(entry):
        row("loads", Text(f"yes: {fmt['produces']} ({fmt['reader']} → {fmt['converter']}); checked by the conformance "
                          "suite against a replica of the upstream tree", style="green"))
    elif fmt:
        why = f" [{entry['unsupported_reason']}]" if entry.get("unsupported_reason") else ""
        row("loads", f"no (raw files only){why} — {fmt.get('reason') or 'no converter declared'}")
    if entry.get("unverified"):
        row("unverified", Text(", ".join(entry["unverified"]) + " (not checked against the source)", style="yellow"))
    row("notes", entry.get("notes"))
    return table
