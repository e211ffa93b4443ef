"""The typer application and the one place where errors become messages and exit codes."""

from __future__ import annotations

import sys

import typer

from . import catalog_cmds, recipe_cmds, store_cmds

app = typer.Typer(
    name="llmdata",
    help="Find, fetch and load LLM training and evaluation data.  查找、下载、加载大模型训练与评测数据。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(catalog_cmds.search)
app.command()(catalog_cmds.info)
app.command()(catalog_cmds.validate)
app.command()(catalog_cmds.pages)
app.command()(store_cmds.fetch)
app.command("list")(store_cmds.list_)
app.command()(store_cmds.verify)
app.command()(store_cmds.rm)
app.command()(recipe_cmds.export)
app.command()(recipe_cmds.build)


def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"llmdata {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version."),
) -> None:
    """Find, fetch and load LLM training and evaluation data."""


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turn library errors into a message and an exit code."""
    from ..errors import LlmdataError
    from .output import print_error

    try:
        app(args=argv, prog_name="llmdata", standalone_mode=True)
    except LlmdataError as exc:
        print_error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
