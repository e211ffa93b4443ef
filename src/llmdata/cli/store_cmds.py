"""Store commands: fetch, list, verify, rm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import CatalogOption, JsonOption, StrictCatalogsOption
from .output import console, print_json, stderr_is_terminal


def _progress_bar():
    """One live display for downloads (bytes) and conversions (records); each task says its unit."""
    from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    download = DownloadColumn()

    class Amount(ProgressColumn):
        def render(self, task) -> Text:  # noqa: ANN001
            if task.fields.get("unit") == "records":
                return Text(f"{int(task.completed):,} records")
            return download.render(task)

    class Speed(ProgressColumn):
        def render(self, task) -> Text:  # noqa: ANN001
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text("?", style="progress.data.speed")
            if task.fields.get("unit") == "records":
                return Text(f"{speed:,.0f} records/s", style="progress.data.speed")
            from rich.filesize import decimal

            return Text(f"{decimal(int(speed))}/s", style="progress.data.speed")

    return Progress(TextColumn("{task.description}", markup=False), BarColumn(), Amount(), Speed(),
                    TimeRemainingColumn(), console=console(stderr=True), transient=False)


def fetch(
    dataset_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Dataset ids to fetch.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List files and sizes and check free space; download nothing.")] = False,
    from_path: Annotated[Optional[Path], typer.Option("--from", help="Register a file you downloaded by hand (manual-access datasets).")] = None,
    include: Annotated[Optional[list[str]], typer.Option("--include", help="Only files matching this glob (repeatable).", show_default=False)] = None,
    shards: Annotated[Optional[int], typer.Option("--shards", min=1, help="Only the first N files (after --include).")] = None,
    max_bytes: Annotated[Optional[str], typer.Option("--max-bytes", help="Stop before this many bytes, e.g. 500M or 2G.")] = None,
    raw_only: Annotated[bool, typer.Option("--raw-only", help="Download and verify only; do not normalize.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on the first record that cannot be converted.")] = False,
    allow_empty: Annotated[bool, typer.Option("--allow-empty", help="Keep a split that converts to no rows instead of failing.")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Files downloaded at once (default: LLMDATA_JOBS or 8).", show_default=False)] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (threads on this machine) or ray (Ray tasks on the cluster of RAY_ADDRESS; needs llmdata[ray]).")] = "local",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    as_json: JsonOption = False,
    catalog: CatalogOption = None,
    strict_catalogs: StrictCatalogsOption = False,
) -> None:
    """Download datasets' pinned files (verified by SHA-256; resumes, retries, mirrors), then normalize them."""
    from ..api import fetch as api_fetch
    from ..errors import UsageError

    if from_path is not None and len(dataset_ids) != 1:
        raise UsageError("--from registers a file for exactly one dataset id")
    reports = []
    show = not (quiet or as_json or dry_run) and stderr_is_terminal()
    with (_progress_bar() if show else _NoProgress()) as bar:
        def downloading(dataset_id: str):
            """One bar per dataset: bytes of all its files, and how many files are done."""
            task: list = []

            def update(t) -> None:  # a fetchers.parallel.Totals, from the download threads
                label = f"{dataset_id}: {t.files_done}/{t.files} files"
                if not task:
                    task.append(bar.add_task(label, total=t.bytes_total, completed=t.bytes_done, unit="bytes"))
                bar.update(task[0], description=label, completed=t.bytes_done, total=t.bytes_total)

            return update

        def normalizing(dataset_id: str):
            """Records read so far, as a bar without a total; the task appears with the first batch."""
            task: list = []

            def update(read: int) -> None:
                if not task:
                    task.append(bar.add_task(f"{dataset_id}: normalizing", total=None, unit="records"))
                bar.update(task[0], completed=read)

            return update

        for dataset_id in dataset_ids:
            reports.append(api_fetch(dataset_id, dry_run=dry_run, from_path=from_path, catalogs=catalog,
                                     raw_only=raw_only, strict=strict, allow_empty=allow_empty, include=include, shards=shards,
                                     max_bytes=parse_size(max_bytes) if max_bytes else None,
                                     overall=downloading(dataset_id) if show else None, jobs=jobs, engine=engine,
                                     strict_catalogs=strict_catalogs,
                                     normalize_progress=normalizing(dataset_id) if show else None))
    if as_json:
        print_json([r.as_dict() for r in reports])
        return
    out = console()
    from .cells import human_bytes

    for r in reports:
        head = ("would fetch" if r.dry_run else "fetched") + (" (subset)" if r.partial else "")
        out.print(f"[bold]{r.dataset_id}[/]: {head} {len(r.files)} file(s) from {r.kind}:{r.source} @ {r.revision}")
        for f in r.files:
            state = " (present)" if f.get("present") else ""
            out.print(f"  {f['path']}  {human_bytes(f['size']) if f.get('size') is not None else '? bytes'}{state}")
        if not r.dry_run:
            out.print(f"  in {r.directory}")
            unpinned = [f for f in r.files if not f.get("pinned")]
            if unpinned:
                out.print("[yellow]  unpinned files; pin them in the catalog with these values:[/]")
                for f in unpinned:
                    out.print(f"    - {{path: {f['path']}, sha256: {f['sha256']}, size: {f['size']}}}")
        for skipped in r.skipped_sources:
            out.print(f"[yellow]  source skipped: {skipped}[/]")
        if r.normalized:
            for split, c in r.normalized["splits"].items():
                line = (f"  {r.normalized['format']} {split}: read {c['read']}, written {c['written']}, "
                        f"rejected {c['rejected']}")
                if c["rejects_file"]:
                    line += f" (reasons in {c['rejects_file']})"
                line += "".join(f"; {flag}: {n}" for flag, n in (c.get("flagged") or {}).items())
                out.print(line)


def parse_size(text: str) -> int:
    """'500M' -> 524288000; plain digits are bytes."""
    from ..errors import UsageError

    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (value[:-1], value[-1]) if value and value[-1] in units else (value, "")
    try:
        return int(float(number) * units[unit])
    except ValueError:
        raise UsageError(f"--max-bytes {text!r} is not a size", hint="write e.g. 500M, 2G or 1048576") from None


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def advance(self, *args) -> None:
        return None

    def update(self, *args, **kwargs) -> None:
        return None


def list_(as_json: JsonOption = False) -> None:
    """List the datasets in the store: revision, files, raw and normalized size (with load's Arrow cache)."""
    from ..api import list_store

    rows = list_store()
    if as_json:
        print_json(rows)
        return
    from .cells import human_bytes

    legacy = _legacy_cache_bytes()
    if legacy:
        from ..store import layout

        console(stderr=True).print(f"note: {layout.legacy_datasets_cache()} holds {human_bytes(legacy)} of Arrow "
                                   "cache from an older llmdata; no dataset uses it, delete it to free the space",
                                   soft_wrap=True, markup=False)
    if not rows:
        console(stderr=True).print("the store is empty; `llmdata fetch ID` downloads a dataset")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("id", "revision", "source", "files", "raw", "normalized", "load cache", "fetched"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["dataset_id"], r["revision"][:16], f"{r['source_kind']}:{r['source']}", str(r["files"]),
                      human_bytes(r["bytes"]), human_bytes(r["normalized_bytes"]), human_bytes(r["cache_bytes"]),
                      r["fetched_at"])
    console().print(table)


def _legacy_cache_bytes() -> int:
    from ..api import disk_usage
    from ..store import layout

    return disk_usage(layout.legacy_datasets_cache())


def verify(
    dataset_id: Annotated[Optional[str], typer.Argument(metavar="[ID]", help="Dataset to re-hash (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-hash stored files against the ledger; exit 1 when any file is missing or changed.

    An unknown id exits 2 with suggestions; a known id that was never fetched exits 1.
    """
    from ..api import verify as api_verify

    results = api_verify(dataset_id)
    bad = [r for r in results if not r["ok"]]
    if as_json:
        print_json(results)
    else:
        for r in results:
            mark = "[green]ok[/]" if r["ok"] else f"[red]FAILED: {r['problem']}[/]"
            console().print(f"{r['dataset_id']}/{r['path']}: {mark}")
        if not results:
            console(stderr=True).print("nothing to verify: the store is empty" if dataset_id is None
                                       else f"nothing to verify: no file of {dataset_id} is recorded")
    if bad:
        raise typer.Exit(1)


def rm(dataset_id: Annotated[str, typer.Argument(metavar="ID", help="Dataset to delete from the store.")]) -> None:
    """Delete a dataset's raw and normalized files (and load's Arrow cache of them) from the store."""
    from ..api import remove

    removed = remove(dataset_id)
    console().print(f"removed {removed}")
