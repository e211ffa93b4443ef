"""Typed errors: each says what went wrong, where, and what to do next.

Every class also subclasses the builtin a Python caller would expect to catch
(``KeyError`` for an unknown id, ``ValueError`` for bad catalog data), and
carries the CLI exit code so the mapping lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


class LlmdataError(Exception):
    """Base class. ``exit_code`` follows DESIGN.md: 1 failed, 2 bad usage or bad input."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class UsageError(LlmdataError, ValueError):
    """A flag or argument the user gave makes no sense."""

    exit_code = 2


class UnknownDatasetError(LlmdataError, KeyError):
    """No catalog entry has this id."""

    exit_code = 2

    def __init__(self, dataset_id: str, suggestions: list[str]) -> None:
        hint = (
            f"did you mean: {', '.join(suggestions)}?"
            if suggestions
            else "run `llmdata search` to list the catalog"
        )
        super().__init__(f"no dataset with id {dataset_id!r} in the catalog", hint=hint)
        self.dataset_id = dataset_id
        self.suggestions = suggestions

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return LlmdataError.__str__(self)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog file, pinned to a position in it."""

    file: str
    line: int | None
    column: int | None
    entry_id: str | None
    key: str | None
    message: str
    hint: str | None = None
    severity: str = "error"  # or "warning": reported, but the catalog still loads

    def location(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def render(self) -> str:
        parts = [f"{self.location()}: {self.severity}: "]
        if self.entry_id:
            parts.append(f"entry {self.entry_id!r}: ")
        if self.key:
            parts.append(f"key {self.key!r}: ")
        parts.append(self.message)
        text = "".join(parts)
        if self.hint:
            text += f"\n    fix: {self.hint}"
        return text

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "entry": self.entry_id,
            "key": self.key,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }


class YamlSyntaxError(LlmdataError, ValueError):
    """A catalog file is not well-formed YAML (or not UTF-8); carries the position for the report."""

    exit_code = 2

    def __init__(self, file: str, line: int | None, column: int | None, message: str) -> None:
        super().__init__(message)
        self.file, self.line, self.column = file, line, column


class CatalogError(LlmdataError, ValueError):
    """A catalog file does not validate; ``problems`` lists every finding."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem(s) in the catalog"
        body = "\n".join(p.render() for p in problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{head}:\n{body}{more}",
            hint="fix the entries above, then run `llmdata validate FILE` to check again",
        )


class ManualDownloadRequired(UsageError):
    """The dataset needs a registration or a browser; the message carries the catalog's instructions."""


class NotNormalizableError(UsageError):
    """The entry is raw-only: no converter turns its files into a normalized format (yet)."""


class FetchError(LlmdataError):
    """Getting bytes from a source failed; subclasses say why, with the URL."""

    exit_code = 1

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message + (f" ({url})" if url else ""), hint=hint)
        self.url = url


class OfflineError(FetchError, ConnectionError):
    """No connection (or offline mode) and the data is not in the store."""


class RateLimitedError(FetchError):
    """The server kept answering 429 after every retry."""


class AccessDeniedError(FetchError, PermissionError):
    """401/403: the dataset is gated or private, or the token is wrong."""


class RemoteNotFoundError(FetchError, FileNotFoundError):
    """404: the repository, revision or file does not exist (any more)."""


class MissingFilesError(RemoteNotFoundError):
    """Files the catalog declares are not in the upstream tree; carries what was missing and what was seen."""

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None,
                 missing: list[str] | None = None, seen: list[str] | None = None) -> None:
        super().__init__(message, url=url, hint=hint)
        self.missing = list(missing or [])
        self.seen = list(seen or [])


class LayoutError(LlmdataError, ValueError):
    """An entry's declared files or splits do not fit the upstream tree: names the entry, the split, the files seen."""

    exit_code = 2


class IntegrityError(FetchError):
    """The bytes differ from the pin: expected vs got is in the message."""


class DiskFullError(FetchError, OSError):
    """Not enough space in the store."""


class UnsafeArchiveError(FetchError):
    """An archive member would escape the target folder, is a link or device, or exceeds the caps."""

    exit_code = 2
