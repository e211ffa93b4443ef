"""``llmdata pin``: resolve unpinned sources and write the pins into the catalog file."""

from __future__ import annotations

from typing import Annotated

import typer

from .options import CatalogOption, JsonOption
from .output import console, print_json


def pin(
    ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Dataset ids whose unpinned sources to resolve.")],
    write: Annotated[bool, typer.Option("--write", help="Write the pins into the catalog file each entry comes from "
                                                       "(only the pinned keys' lines change).")] = False,
    as_json: JsonOption = False,
    catalog: CatalogOption = None,
) -> None:
    """Resolve each unpinned source to a commit and per-file hashes and sizes (needs network); print or --write them."""
    from ..api import pin as api_pin
    from ..api import pins_as_yaml as as_yaml

    results = api_pin(ids, catalogs=catalog, write=write)
    if as_json:
        print_json([r.as_dict() for r in results])
        return
    out, err = console(), console(stderr=True)
    for r in results:
        state = r.skipped or f"pinned {sum(1 for _ in r.values.get('files', [])) or 1} file(s)"
        err.print(f"{r.dataset_id} [{r.kind}] {r.location}: {state}")
    if write:
        files = sorted({r.file for r in results if r.values})
        err.print(("wrote " + ", ".join(files)) if files else "nothing to write: every source is pinned")
    else:
        text = as_yaml(results)
        if text:
            out.print(text, markup=False, highlight=False, soft_wrap=True)
