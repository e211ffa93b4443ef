"""Check catalog files: JSON Schema first, then the rules a schema cannot express.

Every finding is a :class:`~llmdata.errors.Problem` with file, line, column,
entry id and key, plus a fix. The schema gives shape; this module adds
cross-entry rules (unique ids), licence ids from ``registry/licenses.json``,
licence/commercial consistency, well-formed hosts and split paths that name
declared files, and the evidence rules: a licence claim cites where it is
stated (``license_source``), an ``unknown`` licence says where one was looked
for, model-generated data never claims ``commercial: true``, and a raw-only
entry gives its ``unsupported_reason`` (the schema enforces that one). The
citation rules apply to the built-in catalog, which is reviewed against public
evidence; user catalogs are not held to them (private data often has no public
licence text to cite), but model-generated data claiming ``commercial: true``
is an error everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from ..errors import Problem, YamlSyntaxError
from .entry_rules import _check_entry, is_curated
from .schema_check import _entry_id, _key_name, _schema_problem, catalog_schema, schema_errors
from .yaml_positions import LoadedYaml, load_yaml_file

__all__ = ["CatalogFile", "Name", "TakenNames", "catalog_schema", "check_files", "check_loaded", "conflict_problem",
           "cross_check", "names_of", "read_catalog_file", "schema_errors"]


@dataclass
class CatalogFile:
    path: Path
    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def check_loaded(loaded: LoadedYaml, file: str, curated: bool | None = None) -> list[Problem]:
    """All problems of one parsed file (without cross-file rules); ``curated`` defaults to "is the built-in catalog"."""
    curated = is_curated(file) if curated is None else curated
    problems = [
        Problem(file, line, col, _entry_id(loaded.data, path), _key_name(path),
                f"duplicate key {path[-1]!r} (YAML keeps only the last one)", "remove one of the two")
        for path, line, col in loaded.duplicate_keys
    ]
    if loaded.data is None:
        return problems + [Problem(file, 1, 1, None, None, "the file is empty", "write a YAML list of entries")]
    if not isinstance(loaded.data, list):
        return problems + [Problem(
            file, 1, 1, None, None, f"a catalog must be a YAML list of entries, got {type(loaded.data).__name__}",
            "start each entry with '- id: ...'",
        )]
    problems += [_schema_problem(err, file, loaded) for err in schema_errors(loaded.data)]
    for index, entry in enumerate(loaded.data):
        if isinstance(entry, dict):
            problems += _check_entry(entry, index, loaded, file, curated)
    return problems


def read_catalog_file(path: Path) -> CatalogFile:
    """Parse and check one file; the entries are returned even when problems were found."""
    result = CatalogFile(path=path)
    name = str(path)
    if not path.is_file():
        result.problems.append(Problem(name, None, None, None, None, "catalog file not found",
                                       "check the path given to --catalog or LLMDATA_CATALOG"))
        return result
    try:
        # Entry starts are all a valid file needs; the full position table (most of the
        # parse's memory) is built only when there is a problem to point at.
        loaded = load_yaml_file(path, positions_depth=1)
        result.problems = check_loaded(loaded, name)
        if result.problems:
            loaded = load_yaml_file(path)
            result.problems = check_loaded(loaded, name)
    except YamlSyntaxError as exc:
        result.problems.append(Problem(name, exc.line, exc.column, None, None, exc.message,
                                       exc.hint or "fix the YAML syntax (indentation, quoting, colons)"))
        return result
    if isinstance(loaded.data, list):
        result.entries = [e for e in loaded.data if isinstance(e, dict)]
        for index, entry in enumerate(result.entries):
            line, _ = loaded.position((index,))
            entry["_origin"] = {"file": name, "line": line}
    return result


def _read_entries_only(path: Path) -> CatalogFile:
    """A context file's entries with their origins, unchecked (its own problems are not ours to report)."""
    try:
        stat = path.stat()
    except OSError:
        return CatalogFile(path=path)
    return _entries_of(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _entries_of(path: Path, _mtime_ns: int, _size: int) -> CatalogFile:
    """Cached by the file's stat: a long-lived process validating many files reads the built-in one once."""
    result = CatalogFile(path=path)
    try:
        loaded = load_yaml_file(path, positions_depth=1)
    except (YamlSyntaxError, OSError):
        return result
    if isinstance(loaded.data, list):
        for index, entry in enumerate(loaded.data):
            if isinstance(entry, dict):
                entry["_origin"] = {"file": str(path), "line": loaded.position((index,))[0]}
                result.entries.append(entry)
    return result


def check_files(paths: list[Path], context: list[Path] | tuple = ()) -> tuple[list[dict], list[Problem]]:
    """Read several catalog files and apply the cross-file rules (ids and aliases unique).

    ``context`` files (the other catalogs in use) are read for their ids only:
    their own problems are not reported, but an entry in ``paths`` that reuses
    one of their ids is an error naming both places.
    """
    wanted = {Path(p).resolve() for p in paths}
    background = [_read_entries_only(Path(p)) for p in context if Path(p).resolve() not in wanted]
    return cross_check([read_catalog_file(p) for p in paths], background)


class Name(NamedTuple):
    """An id or an alias, and the entry that has it (a tuple: an index build sends 100,000s between processes)."""

    name: str
    entry_id: str
    file: str
    line: int | None
    alias: bool


def names_of(entries: list[dict]) -> list[Name]:
    """Each entry's id, then its aliases (an alias equal to the entry's own id is no second name)."""
    out: list[Name] = []
    for entry in entries:
        eid = entry.get("id")
        if not isinstance(eid, str):
            continue
        origin = entry["_origin"]
        out.append(Name(eid, eid, origin["file"], origin["line"], False))
        aliases = entry.get("aliases")
        for alias in aliases if isinstance(aliases, list) else []:
            if isinstance(alias, str) and alias != eid:
                out.append(Name(alias, eid, origin["file"], origin["line"], True))
    return out


class TakenNames:
    """Ids and aliases in catalog order: an entry may not take a name that an earlier entry has.

    The later entry is the one reported (the index leaves its file out the
    same way), so a user catalog can never make the built-in one invalid.
    """

    def __init__(self) -> None:
        self.taken: dict[str, Name] = {}

    def claim(self, names: list[Name]) -> list[Problem]:
        """The conflicts of ``names`` with the names taken so far and with each other; the others are taken."""
        problems = []
        for name in names:
            prev = self.taken.get(name.name)
            if prev is None:
                self.taken[name.name] = name
            elif (prev.file, prev.line, prev.entry_id) != (name.file, name.line, name.entry_id):
                problems.append(conflict_problem(name, prev))
        return problems


def conflict_problem(name: Name, prev: Name) -> Problem:
    """The problem of ``name``, which ``prev`` (an earlier entry) already has."""
    where = f"{prev.file}:{prev.line}"
    if name.alias:
        return Problem(name.file, name.line, None, name.entry_id, "aliases",
                       f"alias {name.name!r} already names entry {prev.entry_id!r} ({where})",
                       "remove the alias or the duplicate entry")
    if prev.alias:
        return Problem(name.file, name.line, None, name.entry_id, "id",
                       f"id {name.name!r} is already an alias of entry {prev.entry_id!r} ({where})",
                       "give this entry another id, or remove the alias from the other entry "
                       "(ids and aliases are unique across all catalog files in use)")
    return Problem(name.file, name.line, None, name.entry_id, "id",
                   f"duplicate id {name.name!r}, first defined at {where}",
                   "give this entry another id (ids are unique across all catalog files in use)")


def cross_check(files: list[CatalogFile], context: list[CatalogFile] | tuple = ()) -> tuple[list[dict], list[Problem]]:
    """Entries and problems of already-read files, with duplicate ids and aliases across all of them.

    An entry whose id an earlier entry already has is left out of the entries.
    """
    taken = TakenNames()
    for cf in context:
        taken.claim(names_of(cf.entries))
    entries: list[dict] = []
    problems: list[Problem] = []
    for cf in files:
        problems += cf.problems
        found = taken.claim(names_of(cf.entries))
        problems += found
        duplicate = {(p.file, p.line, p.entry_id) for p in found if p.key == "id"}
        entries += [e for e in cf.entries if (e["_origin"]["file"], e["_origin"]["line"], e.get("id")) not in duplicate]
    return entries, problems
