"""Typed errors: each says what went wrong, where, and what to do next.

Every class also subclasses the builtin a Python caller would expect to catch
(``KeyError`` for an unknown id, ``ValueError`` for bad catalog data), and
carries the CLI exit code so the mapping lives in one place.
"""

from __future__ import annotations

import re
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

    @classmethod
    def from_dict(cls, item: dict) -> Problem:
        """The inverse of :meth:`as_dict`."""
        return cls(item["file"], item["line"], item["column"], item["entry"], item["key"], item["message"],
                   item["hint"], item["severity"])

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

    def __init__(self, file: str, line: int | None, column: int | None, message: str, *,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
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
    """Getting bytes from a source failed; subclasses say why, with the URL.

    The URL and any URL inside the message or hint are redacted here, so an
    error can never carry a password or a signed-URL token to a terminal or a
    log, whoever raised it.
    """

    exit_code = 1

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        url = redact_url(url) if url else url
        super().__init__(redact_text(message) + (f" ({url})" if url else ""),
                         hint=redact_text(hint) if hint else hint)
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


class UpstreamChangedError(IntegrityError):
    """A whole, uncut download differs from the pin (size or hash).

    Running again would fetch the same bytes, so the hint says to re-pin the
    entry instead; a cut or resumed transfer raises plain ``IntegrityError``,
    whose hint is to run again.
    """

    def __init__(self, message: str, *, url: str | None = None, dataset_id: str | None = None) -> None:
        super().__init__(message, url=url, hint=self.repin_hint(dataset_id))

    @staticmethod
    def repin_hint(dataset_id: str | None = None) -> str:
        return (f"the upstream changed or the pin is wrong: re-pin the entry (`llmdata pin {dataset_id or 'ID'}`); "
                "if a later run succeeds, a server or proxy on the way corrupted the bytes")


class DiskFullError(FetchError, OSError):
    """Not enough space in the store."""


class UnsafeArchiveError(FetchError):
    """An archive member would escape the target folder, is a link or device, or exceeds the caps."""

    exit_code = 2


# ------------------------------------------------------------------ redaction

_SECRET_PARAM = re.compile(r"token|signature|^sig$|key|password|passwd|secret|credential|auth", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()]+")
MASK = "REDACTED"


def redact_url(url: str) -> str:
    """``url`` without credentials: userinfo dropped, secret-looking query values masked.

    The one function every message, report, log line and ledger row passes URLs
    through. It lives here, at the bottom layer, so errors can apply it on
    construction. Query names are matched loosely (``api_key``, ``X-Amz-Signature``,
    ``access_token``, ``sig`` ...): masking a harmless value costs nothing,
    printing a signed URL's token can cost a lot.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    netloc = netloc.rpartition("@")[2]
    path, qmark, query = tail.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        params = []
        for item in query.split("&"):
            name, eq, _ = item.partition("=")
            params.append(f"{name}={MASK}" if eq and _SECRET_PARAM.search(name) else item)
        tail = path + "?" + "&".join(params) + hash_ + fragment
    return f"{scheme}://{netloc}{tail}"


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url` (for messages that quote URLs)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


class EmptySplitError(LlmdataError, ValueError):
    """A split converted to zero rows: every record was rejected (or there was none).

    Raised by the normalize layer, so ``fetch`` (exit 1) and ``load`` both stop on it;
    ``allow_empty`` / ``--allow-empty`` keeps the empty split instead.
    """

    exit_code = 1

    def __init__(self, dataset_id: str, split: str, read: int, reasons: dict[str, int], rejects: str | None) -> None:
        top = sorted(reasons.items(), key=lambda kv: -kv[1])[:3]
        why = "; ".join(f"{reason} ({count})" for reason, count in top)
        message = (f"{dataset_id}: split {split!r} has no rows: read {read}, written 0, rejected {sum(reasons.values())}"
                   + (f"; top reasons: {why}" if why else ""))
        hint = ((f"each rejected record and its reason is in {rejects}; " if rejects else "")
                + "check the entry's format (converter, options, reader), or pass --allow-empty "
                  "(allow_empty=True) to keep the empty split")
        super().__init__(message, hint=hint)
        self.dataset_id, self.split, self.read, self.reasons, self.rejects = dataset_id, split, read, reasons, rejects


class UnsafePathError(LlmdataError, ValueError):
    """A path from a catalog, a remote file listing or a split glob would leave its dataset's folder.

    Raised before anything is written; names the entry, the path, where it came
    from and why it was refused.
    """

    exit_code = 2

    def __init__(self, path: str, root: str, reason: str, *, entry: str | None = None,
                 origin: str | None = None) -> None:
        where = f"entry {entry!r}: " if entry else ""
        came = f" (from {origin})" if origin else ""
        super().__init__(
            f"{where}unsafe path {path!r}{came}: {reason}; refusing to write outside {root}",
            hint="paths must be relative, '/'-separated and stay inside the dataset's folder: fix the catalog "
                 "entry (`llmdata validate FILE`), or stop using a source whose file listing names such paths")
        self.path, self.root, self.reason, self.entry, self.origin = path, root, reason, entry, origin


class StoreReadOnlyError(LlmdataError, PermissionError):
    """A command must write into the store, and the store (``LLMDATA_HOME``) is read-only.

    One line, no hint: what cannot be written, where, and the way out.
    """

    exit_code = 1

    def __init__(self, home: object, action: str) -> None:
        super().__init__(f"the store at {home} is read-only: {action} needs to write there; set LLMDATA_HOME to a "
                         "writable folder (search, info, list, verify and offline load work on a read-only store)")
        self.home, self.action = home, action


class NotInStoreError(LlmdataError, LookupError):
    """The id is in the catalog, but the dataset was never fetched (or was removed)."""

    exit_code = 1

    def __init__(self, dataset_id: str) -> None:
        super().__init__(f"{dataset_id} is not in the store",
                         hint=f"`llmdata fetch {dataset_id}` downloads it; `llmdata list` shows what the store holds")
        self.dataset_id = dataset_id


class LlmdataWarning(UserWarning):
    """Something was skipped but the command goes on; the CLI prints it as one ``warning:`` line."""


class CatalogSkippedWarning(LlmdataWarning):
    """A user catalog has errors: its entries are left out of the index until it is fixed."""
