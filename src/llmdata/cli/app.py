"""The typer application and the one place where errors become messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator, MutableMapping
from importlib import import_module

import typer
from typer.core import TyperGroup

# Every command: its name, and the module of this package and the function that implement it, in the order
# `llmdata --help` lists them.
COMMANDS = {
    "search": ("catalog_cmds", "search"),
    "info": ("catalog_cmds", "info"),
    "validate": ("catalog_cmds", "validate"),
    "pages": ("catalog_cmds", "pages"),
    "pin": ("pin_cmd", "pin"),
    "fetch": ("store_cmds", "fetch"),
    "list": ("store_cmds", "list_"),
    "verify": ("store_cmds", "verify"),
    "rm": ("store_cmds", "rm"),
    "export": ("recipe_cmds", "export"),
    "build": ("recipe_cmds", "build"),
}


class _LazyCommands(MutableMapping):
    """The group's commands, each imported and turned into a click command the first time it is asked for.

    Typer builds a click command by reading the signature of its function,
    which costs milliseconds per command; a run needs only the one it runs
    (``--help`` and a misspelt command name ask for the names, and the help
    for every command).
    """

    def __init__(self) -> None:
        self._built: dict[str, typer.core.TyperCommand] = {}

    def __getitem__(self, name: str):
        if name not in self._built:
            module, function = COMMANDS[name]  # KeyError: no such command
            from typer.main import get_command_from_info
            from typer.models import CommandInfo

            callback = getattr(import_module(f".{module}", __package__), function)
            self._built[name] = get_command_from_info(CommandInfo(name=name, callback=callback),
                                                      pretty_exceptions_short=app.pretty_exceptions_short,
                                                      rich_markup_mode=app.rich_markup_mode)
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("the commands of llmdata are fixed")

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._built if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(name not in COMMANDS for name in self._built)


class _Group(TyperGroup):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.commands = _LazyCommands()


app = typer.Typer(
    name="llmdata",
    help="Find, fetch and load LLM training and evaluation data.  查找、下载、加载大模型训练与评测数据。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=_Group,
)


def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"llmdata {__version__}")
        raise typer.Exit()


# Commands that only read the catalog index: they never reach the fetchers, the code that logs notices, so
# they are spared importing `logging` (a search is mostly start-up).
_NO_NOTICES = frozenset({"search", "info"})


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version."),
) -> None:
    """Find, fetch and load LLM training and evaluation data."""
    if ctx.invoked_subcommand not in _NO_NOTICES:
        from .notices import listen

        listen()


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
