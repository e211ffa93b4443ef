"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
CatalogOption = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--catalog",
        help="Extra catalog file (repeatable); added to the built-in catalog and LLMDATA_CATALOG.",
        show_default=False,
    ),
]
StrictCatalogsOption = Annotated[
    bool,
    typer.Option(
        "--strict-catalogs",
        help="Fail when a user catalog has errors, instead of skipping it with a warning.",
    ),
]
