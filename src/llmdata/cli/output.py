"""Writing to the terminal: JSON for scripts, rich for people, errors to stderr."""

from __future__ import annotations

import json
import os
import sys


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def write_plain(text: str) -> None:
    """Text that stands for what rich would print, written as rich's console writes it: flushed, and on a
    pipe closed early (``| head``) stdout is pointed at /dev/null and the command exits 1, silently."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def print_error(message: str, hint: str | None = None) -> None:
    """``error: ...`` (and ``hint: ...``) on stderr, never wrapped: a log line stays one line."""
    from rich.markup import escape

    err = console(stderr=True)
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        err.print(f"[yellow]hint:[/] {escape(hint)}", soft_wrap=True)


def print_warning(message: str) -> None:
    from rich.markup import escape

    console(stderr=True).print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


def stderr_is_terminal() -> bool:
    """Progress bars only for a person watching: not when stderr goes to a pipe, a file or CI logs."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
