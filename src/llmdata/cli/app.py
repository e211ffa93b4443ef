"""The typer application and the one place where errors become messages and exit codes."""

from __future__ import annotations

import logging
import sys

import typer

from . import catalog_cmds, pin_cmd, recipe_cmds, store_cmds

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
app.command()(pin_cmd.pin)
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


def _read_only_message(exc: BaseException) -> str | None:
    """The one-line message for a write that a read-only store refused, or None for any other error.

    Commands check the store before they write (``layout.require_writable``);
    this is the net under them for a write that slips through: SQLite's
    "attempt to write a readonly database" (also wrapped by SQLAlchemy) and
    EROFS / EACCES / EPERM on a path inside the store.
    """
    import errno

    from ..errors import StoreReadOnlyError
    from ..store import layout

    text = str(exc).lower()
    if type(exc).__name__ == "OperationalError" and ("readonly" in text or "read-only" in text):
        return StoreReadOnlyError(layout.home(), "this command").message
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        home = str(layout.home())
        if str(exc.filename or "").startswith(home) or not layout.writable():
            return StoreReadOnlyError(layout.home(), "this command").message
    return None


def _show_warning(original):
    """Our warnings as one ``warning:`` line on stderr; everyone else's as Python prints them."""
    from ..errors import LlmdataWarning
    from .output import print_warning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if issubclass(category, LlmdataWarning):
            print_warning(str(message))
        else:
            original(message, category, filename, lineno, file, line)

    return show


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turn library errors into a message and an exit code."""
    import warnings

    from ..errors import LlmdataError, LlmdataWarning
    from .output import print_error

    _show_library_notices()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", LlmdataWarning)
            warnings.showwarning = _show_warning(warnings.showwarning)
            app(args=argv, prog_name="llmdata", standalone_mode=True)
    except LlmdataError as exc:
        print_error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        print_error(INTERRUPTED)
        return 130
    except SystemExit as exc:
        if exc.code == 130:  # typer turns Ctrl-C inside a command into Exit(130), silently
            print_error(INTERRUPTED)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        message = _read_only_message(exc)
        if message is None:
            raise
        print_error(message)
        return 1
    return 0


INTERRUPTED = "interrupted; run the same command to resume"


class _NoticeHandler(logging.Handler):
    """Library notices (long retry waits, a damaged stored copy replaced) as one yellow line on stderr.

    The library only logs them (quiet unless someone listens); the CLI listens.
    """

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        from .output import console

        console(stderr=True).print(f"[yellow]note:[/] {escape(record.getMessage())}")


def _show_library_notices() -> None:
    logger = logging.getLogger("llmdata")
    if not any(isinstance(h, _NoticeHandler) for h in logger.handlers):
        logger.addHandler(_NoticeHandler(logging.INFO))
        logger.setLevel(logging.INFO)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
