"""Catalog commands: search, info, validate, pages.

Annotations here are evaluated when the module is read (no ``from __future__
import annotations``): typer reads each command's signature on every run,
and evaluating annotations kept as strings was most of that for ``search``.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import CatalogOption, JsonOption, StrictCatalogsOption
from .output import console, print_json, write_plain


def search(
    query: Annotated[Optional[list[str]], typer.Argument(help="Words to look for, Chinese or English (e.g. 医疗, 'math cot').", show_default=False)] = None,
    category: Annotated[Optional[str], typer.Option("--category", "-c", help="pretrain, sft, multiturn, dialogue, preference, reward, eval, retrieval, multimodal, nlu.")] = None,
    domain: Annotated[Optional[str], typer.Option("--domain", "-d", help="Domain tag, e.g. medical, math, code, law (or 医疗, 数学 …).")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", "-l", help="Language code: zh (also matches zh-Hant), en, multi.")] = None,
    license: Annotated[Optional[str], typer.Option("--license", help="Licence id or glob, e.g. apache-2.0 or 'cc-by-*'.")] = None,
    commercial: Annotated[bool, typer.Option("--commercial", help="Only datasets whose licence allows commercial use.")] = False,
    access: Annotated[Optional[str], typer.Option("--access", help="public, gated or manual.")] = None,
    host_kind: Annotated[Optional[str], typer.Option("--host-kind", help="Only datasets with a source of this kind: hf, github, url.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many results.")] = 20,
    as_json: JsonOption = False,
    catalog: CatalogOption = None,
    strict_catalogs: StrictCatalogsOption = False,
) -> None:
    """Search the catalog by words and filters, best match first."""
    from ..api import search as api_search

    text = " ".join(query or [])
    hits = api_search(
        text, category=category, domain=domain, lang=lang, license=license,
        commercial=True if commercial else None, access=access, host_kind=host_kind,
        limit=limit, catalogs=catalog, strict_catalogs=strict_catalogs,
    )
    if getattr(hits, "any_word", False):  # said on stderr also with --json, whose hits carry "match": "any-word"
        console(stderr=True).print(f"no dataset matches every word of {text!r}; showing datasets that match "
                                   "any of them", soft_wrap=True, markup=False)
    if as_json:
        print_json(hits)
        return
    if not hits:
        console(stderr=True).print("no dataset matches; try fewer words or filters, or `llmdata search` to list all")
        return
    from .cells import search_footer, wants_chinese
    from .plain import search_text

    chinese = wants_chinese(text)
    plain = search_text(hits, chinese)
    if plain is not None:  # not a terminal: the characters rich would print, without loading it
        write_plain(plain)
        return
    from .render import search_table

    out = console()
    out.print(search_table(hits, chinese=chinese))
    out.print(f"[dim]{search_footer(len(hits))}[/]")


def info(
    dataset_id: Annotated[str, typer.Argument(metavar="ID", help="Dataset id, as shown by `llmdata search`.")],
    as_json: JsonOption = False,
    catalog: CatalogOption = None,
    strict_catalogs: StrictCatalogsOption = False,
) -> None:
    """Show the full card of one dataset: licence, size, sources, splits, format."""
    from ..api import info as api_info

    entry = api_info(dataset_id, catalogs=catalog, strict_catalogs=strict_catalogs)
    if as_json:
        print_json(entry)
        return
    from rich.panel import Panel

    from .render import card_table

    console().print(Panel(card_table(entry), title=entry["name"], title_align="left"))


def validate(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Catalog files to check (default: every catalog in use).", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Check catalog files against the schema and the catalog rules (ids also against every catalog in use); exit 2 on any error."""
    from ..api import validate as api_validate

    entries, problems = api_validate(files)
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        print_json({"ok": not errors, "entries": len(entries), "problems": [p.as_dict() for p in problems]})
    else:
        from rich.markup import escape

        err = console(stderr=True)
        for p in problems:
            style = "red" if p.severity == "error" else "yellow"
            err.print(f"[{style}]{escape(p.render())}[/]", soft_wrap=True)
        if errors:
            err.print(f"[bold red]{len(errors)} error(s)[/] in {len(entries)} entries")
        else:
            console().print(f"ok: {len(entries)} entries valid" + (f", {len(problems)} warning(s)" if problems else ""))
    if errors:
        raise typer.Exit(2)


def pages(
    out: Annotated[Path, typer.Option("--out", help="Repository root to write CATALOG.md and docs/catalog.html into.")] = Path("."),
    check: Annotated[bool, typer.Option("--check", help="Only check that the pages are up to date; exit 1 when stale.")] = False,
) -> None:
    """Render the catalog as CATALOG.md and a searchable HTML page (docs/catalog.html)."""
    from ..api import pages as api_pages

    changed = api_pages(out, check=check)
    if check and changed:
        console(stderr=True).print(f"stale: {', '.join(changed)}; run `llmdata pages` and commit the result")
        raise typer.Exit(1)
    console().print(("wrote " + ", ".join(changed)) if changed else "pages are up to date")
