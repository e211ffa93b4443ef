"""Library notices (long retry waits, a damaged stored copy replaced) as one yellow line on stderr.

The library only logs them (quiet unless someone listens); the CLI listens,
for every command that can reach the code that logs them (the fetchers).
"""

from __future__ import annotations

import logging


class _NoticeHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        from .output import console

        console(stderr=True).print(f"[yellow]note:[/] {escape(record.getMessage())}")


def listen() -> None:
    """Show the library's notices from now on (once per process, however often called)."""
    logger = logging.getLogger("llmdata")
    if not any(isinstance(h, _NoticeHandler) for h in logger.handlers):
        logger.addHandler(_NoticeHandler(logging.INFO))
        logger.setLevel(logging.INFO)
