"""Recipe commands: export (hand a dataset to a trainer) and build (a mixture from a recipe)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import CatalogOption, JsonOption
from .output import console, print_json

KINDS = ("llamafactory", "lm-eval", "jsonl", "parquet")


def export(
    target: Annotated[str, typer.Argument(metavar="ID[:SPLIT]", help="Dataset id, optionally with one split.")],
    to: Annotated[str, typer.Option("--to", help="Target: llamafactory, lm-eval, jsonl or parquet.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into (created if missing).")],
    as_json: JsonOption = False,
    catalog: CatalogOption = None,
) -> None:
    """Write a dataset for LLaMA-Factory, lm-evaluation-harness, or as JSONL / Parquet, with stable file names."""
    from ..api import export as api_export
    from ..errors import UsageError

    if to not in KINDS:
        raise UsageError(f"--to {to!r} is not a target", hint=f"use one of {', '.join(KINDS)}")
    report = api_export(target, to, out, catalogs=catalog)
    if as_json:
        print_json(report)
        return
    c = console()
    c.print(f"[bold]{report['name']}[/] ({report['format']}) -> {to} in {report['out']}")
    for name in report["files"]:
        c.print(f"  {name}")
    for split, n in report["rows"].items():
        c.print(f"  {split}: {n} rows")
    for reason, n in report["skipped"].items():
        c.print(f"[yellow]  left out {n} row(s): {reason}[/]")
    if report.get("datasets"):
        c.print(f"  LLaMA-Factory: dataset_dir: {report['out']}  dataset: {','.join(report['datasets'])}")
    if report.get("tasks"):
        c.print(f"  lm_eval --include_path {report['out']} --tasks {report.get('group') or report['tasks'][0]}")


def build(
    recipe: Annotated[Path, typer.Argument(metavar="RECIPE", help="Recipe file (YAML, registry/recipe.schema.json).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (replaced as a whole when the build succeeds).")],
    locked: Annotated[bool, typer.Option("--locked", help="Rebuild from DIR/llmdata.lock; fail with the differences if an input or the output changed.")] = False,
    as_json: JsonOption = False,
    catalog: CatalogOption = None,
    engine: Annotated[str, typer.Option("--engine", help="local (this process) or ray (filters, dedup and decontamination as Ray tasks on the cluster of RAY_ADDRESS; needs llmdata[ray]).")] = "local",
) -> None:
    """Build a training mixture: sample, dedup, decontaminate, licence roll-up, card and lock."""
    from ..api import build as api_build

    report = api_build(recipe, out, locked=locked, catalogs=catalog, engine=engine)
    if as_json:
        print_json(report.as_dict())
        return
    c = console()
    c.print(f"[bold]{report.name}[/]: {report.rows} {report.format} rows in {report.out}"
            + (" (identical to the lock)" if report.locked else ""))
    for s in report.sources:
        c.print(f"  {s.id}:{s.split}  sampled {s.taken}/{s.wanted}, exact dups -{s.exact_dups}, "
                f"near dups -{s.near_dups}, contaminated {s.contaminated}, rows {s.rows}")
    for title, lost in (("exact", report.exact_lost), ("near", report.near_lost)):
        for d in lost:
            c.print(f"  {title} duplicate: {d['source']} lost {d['rows']} row(s) to {d['duplicate_of']}")
    for name, b in report.contamination.get("benchmarks", {}).items():
        c.print(f"  contamination {name}: {b['rows']} row(s)")
    c.print(f"  commercial use: {report.licence['commercial']}")
