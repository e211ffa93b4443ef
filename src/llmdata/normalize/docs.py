"""Publish the converter declarations: ``registry/converters.json`` and the README's converter and reader tables.

Both are generated from the declared records (:mod:`.converters`) and the reader
declarations (:mod:`.readers`), so neither can drift: the test suite fails while
they are stale. ``llmdata validate`` reads the JSON file, so the catalog layer
learns converter names, formats and options without importing converter code.

Regenerate with ``python -m llmdata.normalize.docs`` (``--check`` exits 1 when stale).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REGISTRY_FILE = "registry/converters.json"
README_FILE = "README.md"
_BLOCKS = ("converters", "reader-options")


def _option(o) -> dict:
    out = {"schema": o.schema, "doc": o.doc}
    if o.default is not None:
        out["default"] = o.default
    return out


def _converter(c) -> dict:
    out = {"produces": c.produces, "version": c.version, "doc": c.doc,
           "options": {o.name: _option(o) for o in c.options}}
    if c.readers:
        out["readers"] = list(c.readers)
    if c.reader_options:
        out["reader_defaults"] = c.reader_options
    if c.tables:
        out["tables"] = {name: _converter(t) for name, t in c.tables.items()}
    return out


def declarations() -> dict:
    """Everything ``validate`` and other tools need to know about converters and readers, as plain data."""
    from .converters import REGISTRY
    from .readers import READER_OPTIONS, READERS

    return {
        "$comment": "generated from src/llmdata/normalize by `python -m llmdata.normalize.docs`; do not edit",
        "readers": READERS,
        "reader_options": {name: {"schema": schema, "readers": list(readers), "doc": doc,
                                  **({"default": default} if default is not None else {})}
                           for name, schema, readers, default, doc in READER_OPTIONS},
        "converters": {name: _converter(REGISTRY[name]) for name in sorted(REGISTRY)},
    }


def render_json() -> str:
    return json.dumps(declarations(), indent=1, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(doc: str) -> str:
    return _cell(doc.split("\n\n", 1)[0].replace("\n", " ").strip())


def render_converter_table() -> str:
    data = declarations()["converters"]
    lines = ["| converter | produces | raw layout | options |", "|---|---|---|---|"]
    for name, c in data.items():
        options = c["options"]
        if c.get("tables"):
            options = {f"{t}: {k}": v for t, tc in c["tables"].items() for k, v in tc["options"].items()}
        text = "; ".join(f"`{k}`" + (f" (`{json.dumps(v['default'], ensure_ascii=False)}`)" if "default" in v else "")
                         + f": {v['doc']}" for k, v in options.items())
        lines.append(f"| `{name}` | {c['produces']} | {_summary(c['doc'])} | {_cell(text) or '—'} |")
    return "\n".join(lines)


def render_reader_table() -> str:
    data = declarations()
    lines = ["| reader option | readers | default | meaning |", "|---|---|---|---|"]
    for name, o in data["reader_options"].items():
        readers = "all" if set(o["readers"]) == set(data["readers"]) else ", ".join(o["readers"])
        default = f"`{json.dumps(o['default'])}`" if "default" in o else "—"
        lines.append(f"| `{name}` | {readers} | {default} | {_cell(o['doc'])} |")
    return "\n".join(lines)


def _replace_block(text: str, block: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {block}:start[^>]*-->\n)(?:.*?\n)?(<!-- {block}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no <!-- {block}:start --> ... <!-- {block}:end --> markers")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def render_readme(text: str) -> str:
    text = _replace_block(text, "converters", render_converter_table())
    return _replace_block(text, "reader-options", render_reader_table())


def write(root: Path, *, check: bool = False) -> list[str]:
    """Write (or, with ``check``, only compare) the generated files under ``root``; returns the stale ones."""
    stale = []
    readme = root / README_FILE
    current = readme.read_text("utf-8")
    for path, want, have in ((root / REGISTRY_FILE, render_json(), None), (readme, render_readme(current), current)):
        have = have if have is not None else (path.read_text("utf-8") if path.is_file() else None)
        if have != want:
            stale.append(str(path.relative_to(root)))
            if not check:
                path.write_text(want, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[argv.index("--root") + 1]) if "--root" in argv else Path.cwd()
    stale = write(root, check="--check" in argv)
    if stale:
        print(("stale: " if "--check" in argv else "wrote: ") + ", ".join(stale))
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main())
