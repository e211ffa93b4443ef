"""Generated catalog pages: CATALOG.md for the repository, catalog.html for a browser.

Both are rendered from catalog.yaml, deterministically (no dates), so a test
can rebuild them and fail when the checked-in copies are stale.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from .. import resources
from .model import Source, evidence_url, loads
from .validate import check_files

CATEGORY_ORDER = ("pretrain", "sft", "multiturn", "dialogue", "preference", "reward", "eval", "retrieval", "nlu",
                  "multimodal")


def _entries() -> list[dict]:
    entries, problems = check_files([resources.builtin_catalog()])
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        from ..errors import CatalogError

        raise CatalogError(errors)
    return [{k: v for k, v in e.items() if k != "_origin"} for e in entries]


def _status(entry: dict) -> str:
    fmt = entry.get("format") or {}
    if not loads(entry):
        return f"raw only ({entry['unsupported_reason']})" if entry.get("unsupported_reason") else "raw only"
    return f"loads: {fmt['produces']} ({fmt['converter']})"


def _hosts(entry: dict) -> str:
    return ", ".join(f"{s['kind']}:{s.get('repo') or s.get('url') or (s.get('files') or [{}])[0].get('url')}"
                     for s in entry["sources"])


def _size(entry: dict) -> str:
    size = entry.get("size") or {}
    parts = []
    if "records" in size:
        parts.append(f"{size['records']:,} rows")
    if "bytes" in size:
        parts.append(f"{size['bytes'] / 2**20:,.1f} MiB")
    return " / ".join(parts) or "see card"


def _raw_only(entry: dict) -> bool:
    return (entry.get("format") or {}).get("produces", "unsupported") == "unsupported"


def summary_counts(entries: list[dict]) -> dict:
    """The header of both pages: how much of the catalog is pinned, cited and convertible."""
    public = [e for e in entries if e["access"] == "public"]
    raw_only = [e for e in entries if _raw_only(e)]
    return {
        "entries": len(entries),
        "public": len(public),
        "pinned": f"{sum(any(Source.from_dict(s).pinned for s in e['sources']) for e in public)}/{len(public)} public",
        "host confirmed": sum("host" not in e.get("unverified", []) for e in entries),
        "licence known": sum(e["license"] != "unknown" for e in entries),
        "licence with source": sum(bool(e.get("license_source")) for e in entries if e["license"] != "unknown"),
        "unknown licences": sum(e["license"] == "unknown" for e in entries),
        "loads (conformance suite)": sum(loads(e) for e in entries),
        "raw-only": len(raw_only),
        "raw-only with reason": sum(bool(e.get("unsupported_reason")) for e in raw_only),
    }


def _licence_md(entry: dict, mark: str) -> str:
    source = entry.get("license_source")
    if not source:
        return f"{entry['license']} {mark}"
    return f"[{entry['license']}]({evidence_url(source)}) {mark}"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(entries: list[dict] | None = None) -> str:
    entries = entries if entries is not None else _entries()
    counts = summary_counts(entries)
    lines = [
        "# Catalog",
        "",
        "Generated from `catalog.yaml` by `llmdata pages`; do not edit by hand.",
        "`llmdata info ID` shows a full card. ✓ licence allows commercial use, ✗ it does not, ? unclear.",
        "",
        " · ".join(f"{k}: {v}" for k, v in counts.items()),
        "",
    ]
    for category in CATEGORY_ORDER:
        group = sorted((e for e in entries if e["category"] == category), key=lambda e: e["id"])
        if not group:
            continue
        lines += [f"## {category} ({len(group)})", "",
                  "| id | name | lang | licence | size | access | normalized | sources |",
                  "|---|---|---|---|---|---|---|---|"]
        for e in group:
            mark = {True: "✓", False: "✗"}.get(e.get("commercial"), "?")
            lines.append("| " + " | ".join(_md_cell(x) for x in (
                f"`{e['id']}`", e["name"], ",".join(e["languages"]), _licence_md(e, mark), _size(e), e["access"],
                _status(e), _hosts(e))) + " |")
        lines.append("")
    return "\n".join(lines)


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>llmdata catalog</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
input,select{font:inherit;padding:.3em;margin:0 .4em .6em 0}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35em;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}.zh{color:#555}.no{color:#b00}.yes{color:#070}.q{color:#a60}
code{background:#f4f4f4;padding:0 .2em}
</style></head><body>
<h1>llmdata catalog</h1>
<p>__COUNTS__</p>
<div>
<input id="q" type="search" placeholder="search 医疗, math, preference …" size="30" aria-label="search">
<select id="cat" aria-label="category"><option value="">all categories</option>__CATS__</select>
<select id="lang" aria-label="language"><option value="">all languages</option><option>zh</option><option>en</option><option>multi</option></select>
<select id="acc" aria-label="access"><option value="">any access</option><option>public</option><option>gated</option><option>manual</option></select>
<label><input id="com" type="checkbox"> commercial use allowed</label>
<span id="n"></span>
</div>
<table><thead><tr><th>id</th><th>summary</th><th>category</th><th>lang</th><th>licence</th><th>access</th><th>normalized</th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
const DATA = __DATA__;
const $ = (id) => document.getElementById(id);
function esc(s){return String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));}
function render(){
  const q=$("q").value.trim().toLowerCase().split(/\\s+/).filter(Boolean), cat=$("cat").value, lang=$("lang").value,
        acc=$("acc").value, com=$("com").checked;
  const rows=DATA.filter(e=>(!cat||e.categories.includes(cat))&&(!lang||e.languages.some(l=>l===lang||l.startsWith(lang+"-")))
    &&(!acc||e.access===acc)&&(!com||e.commercial===true)&&q.every(w=>e.text.includes(w)));
  $("n").textContent=rows.length+" of "+DATA.length;
  $("rows").innerHTML=rows.map(e=>"<tr><td><code>"+esc(e.id)+"</code><br>"+esc(e.name)+"</td><td>"+esc(e.en)+
    "<div class=zh>"+esc(e.zh)+"</div></td><td>"+esc(e.categories.join(", "))+"</td><td>"+esc(e.languages.join(", "))+
    "</td><td class="+(e.commercial===true?"yes":e.commercial===false?"no":"q")+">"+(e.evidence?"<a href=\""+esc(e.evidence)+"\">"+esc(e.license)+"</a>":esc(e.license))+"</td><td>"+esc(e.access)+
    "</td><td>"+esc(e.status)+"</td></tr>").join("");
}
for (const id of ["q","cat","lang","acc","com"]) $(id).addEventListener("input", render);
render();
</script></body></html>
"""


def render_html(entries: list[dict] | None = None) -> str:
    from ..vocabulary import labels_for

    entries = entries if entries is not None else _entries()
    data = []
    for e in sorted(entries, key=lambda e: (CATEGORY_ORDER.index(e["category"]), e["id"])):
        words = labels_for(e["category"], e.get("also", []), e.get("domains", []), e["languages"])
        text = " ".join([e["id"], e["name"], e["summary"]["en"], e["summary"]["zh"], *e.get("tags", []), *words,
                         *e.get("aliases", [])]).lower()
        data.append({"id": e["id"], "name": e["name"], "en": e["summary"]["en"], "zh": e["summary"]["zh"],
                     "categories": [e["category"], *e.get("also", [])], "languages": e["languages"],
                     "license": e["license"], "commercial": e.get("commercial"), "access": e["access"],
                     "evidence": evidence_url(e["license_source"]) if e.get("license_source") else None,
                     "status": _status(e), "text": text})
    counts = " · ".join(f"{k}: {v}" for k, v in summary_counts(entries).items())
    cats = "".join(f"<option>{c}</option>" for c in CATEGORY_ORDER)
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return _HTML.replace("__COUNTS__", html.escape(counts)).replace("__CATS__", cats).replace("__DATA__", payload)


PAGES = {"CATALOG.md": render_markdown, "docs/catalog.html": render_html}


def write_pages(root: Path, check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) the pages under ``root``; returns the stale or written paths."""
    entries = _entries()
    changed = []
    for relative, render in PAGES.items():
        path = root / relative
        text = render(entries)
        current = path.read_text("utf-8") if path.exists() else None
        if current != text:
            changed.append(relative)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return changed
