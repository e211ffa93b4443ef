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

import difflib
import fnmatch
import json
import urllib.parse
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import resources
from ..errors import Problem, YamlSyntaxError
from .yaml_positions import LoadedYaml, load_yaml_file


@dataclass
class CatalogFile:
    path: Path
    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@lru_cache(maxsize=1)
def catalog_schema() -> dict:
    return json.loads(resources.schema_path("catalog.schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def licenses() -> dict[str, dict]:
    data = json.loads(resources.schema_path("licenses.json").read_text("utf-8"))
    return {item["id"]: item for item in data["licenses"]}


@lru_cache(maxsize=1)
def _relpath_pattern() -> str:
    """The schema's pattern for paths and globs that must stay inside a dataset's folder."""
    return catalog_schema()["$defs"]["relpath"]["pattern"]


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = catalog_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@lru_cache(maxsize=1)
def _fast_check():
    """The same schema compiled to Python by fastjsonschema: ~10x faster, used to say "valid" quickly.

    It only ever *accepts* documents; anything it rejects is validated again by
    jsonschema, which is the authority and gives the messages and paths the
    report needs. (A test checks that it never accepts what jsonschema rejects.)
    """
    import fastjsonschema

    return fastjsonschema.compile(catalog_schema())


def schema_errors(data: object) -> list:
    """jsonschema errors of a parsed catalog, sorted by path; [] fast when the document is valid."""
    import fastjsonschema

    try:
        _fast_check()(data)
        return []
    except fastjsonschema.JsonSchemaException:
        return sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])


def _entry_id(data: object, path: tuple) -> str | None:
    if isinstance(data, list) and path and isinstance(path[0], int) and path[0] < len(data):
        item = data[path[0]]
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"]
        return f"#{path[0] + 1}"
    return None


def _key_name(path: tuple) -> str | None:
    keys = [str(p) for p in path[1:]]
    return ".".join(keys) if keys else None


def _close(word: str, options) -> str | None:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return match[0] if match else None


_PATTERN_HINTS = {
    "id": "use a lowercase slug of letters, digits, '.', '_' and '-', e.g. 'belle-train-0.5m-cn'",
    "repo": "write the repository as 'owner/name' (no URL, no trailing slash)",
    "url": "write a full http(s) URL, e.g. 'https://example.org/data.jsonl'",
    "homepage": "write a full http(s) URL",
    "paper": "write a full http(s) URL, e.g. 'https://arxiv.org/abs/2304.07987'",
    "sha256": "write the 64 lowercase hex digits of the file's SHA-256",
    "path": "use a relative path inside the source, with '/' between folders: no leading '/', no '..' "
            "segment, no backslash, no drive letter",
    "languages": "use a language code such as 'en', 'zh', 'zh-Hant', or 'multi'",
    "domains": "use a lowercase slug such as 'medical' or 'math'",
    "converter": "use a converter name such as 'alpaca' or 'sharegpt' (see registry/converters.json)",
}


def _schema_problem(err, file: str, loaded: LoadedYaml) -> Problem:
    path = tuple(err.absolute_path)
    data = loaded.data
    entry = _entry_id(data, path)
    validator = err.validator
    hint = None
    key_path = path
    if validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed] if isinstance(err.instance, dict) else []
        unknown = extra[0] if extra else "?"
        key_path = path + (unknown,)
        message = f"unknown key {unknown!r}" + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        guess = _close(unknown, allowed)
        hint = (f"did you mean {guess!r}? " if guess else "") + f"allowed keys here: {', '.join(allowed)}"
        line, col = loaded.key_position(key_path)
    else:
        line, col = loaded.position(path)
        if validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            key_path = path + (missing,)
            message = f"missing required key {missing!r}"
            hint = f"add `{missing}:` to this mapping"
        elif validator == "enum":
            options = err.validator_value
            message = f"{err.instance!r} is not one of {', '.join(map(str, options))}"
            guess = _close(err.instance, options)
            hint = f"did you mean {guess!r}?" if guess else f"pick one of: {', '.join(map(str, options))}"
        elif validator == "pattern":
            message = f"{err.instance!r} is malformed"
            last = next((p for p in reversed(path) if isinstance(p, str)), "")
            if last == "repo" and "://" in str(err.instance):
                message = f"{err.instance!r} is a URL, not a repository id"
            hint = _PATTERN_HINTS.get(last, f"it must match the regular expression {err.validator_value}")
            if err.validator_value == _relpath_pattern():
                message = f"unsafe path {err.instance!r}: it could point outside the dataset's folder"
                hint = _PATTERN_HINTS["path"]
        elif validator == "type":
            expected = err.validator_value
            got = type(err.instance).__name__
            message = f"expected {expected}, got {got} ({err.instance!r})"
            hint = "quote the value if YAML read it as a number, date or boolean" if expected == "string" else None
        else:
            message = err.message
    return Problem(file, line, col, entry, _key_name(key_path), message, hint)


def _problem_at(loaded: LoadedYaml, file: str, index: int, entry: str | None, keys: tuple, message: str,
                hint: str | None = None, severity: str = "error") -> Problem:
    line, col = loaded.position((index, *keys))
    return Problem(file, line, col, entry, ".".join(map(str, keys)) or None, message, hint, severity)


def is_curated(path: str | Path) -> bool:
    """The built-in catalog, where every fact must cite its evidence."""
    try:
        return Path(path).resolve() == resources.builtin_catalog().resolve()
    except OSError:
        return False


def _check_evidence(entry: dict, index: int, loaded: LoadedYaml, file: str, curated: bool) -> list[Problem]:
    """Licence claims cite their source (curated catalog only); model-generated data is never marked commercial."""
    severity = "error"
    eid = entry.get("id")
    lic = entry.get("license")
    problems = []
    if curated and isinstance(lic, str) and lic in licenses() and lic != "unknown" and not entry.get("license_source"):
        problems.append(_problem_at(
            loaded, file, index, eid, ("license",), f"licence {lic!r} has no license_source",
            "add license_source: with the URL, or owner/name@commit:path#Lline, where the licence is stated "
            "(or set license: unknown and say in license_note where you looked)", severity))
    if curated and lic == "unknown" and not entry.get("license_note"):
        problems.append(_problem_at(
            loaded, file, index, eid, ("license",), "licence 'unknown' without a license_note",
            "add license_note: saying where you looked (repository files, card, paper) and found no licence",
            severity))
    if entry.get("generated_by"):
        if entry.get("commercial") is True:
            problems.append(_problem_at(
                loaded, file, index, eid, ("commercial",),
                f"commercial: true on model-generated data (generated_by: {entry['generated_by']})",
                "set commercial: null (or false when the licence forbids it): the model provider's terms also "
                "apply to its outputs (README: model-generated data)"))
        if curated and not entry.get("license_note"):
            problems.append(_problem_at(
                loaded, file, index, eid, ("generated_by",), "model-generated data without a license_note",
                "add license_note: naming the model provider whose terms apply, e.g. \"outputs of OpenAI "
                "gpt-3.5-turbo: OpenAI's terms of use also apply\"", severity))
    fmt = entry.get("format")
    raw_only = isinstance(fmt, dict) and fmt.get("produces") == "unsupported"
    if entry.get("unsupported_reason") and isinstance(fmt, dict) and not raw_only:
        problems.append(_problem_at(
            loaded, file, index, eid, ("unsupported_reason",),
            f"unsupported_reason {entry['unsupported_reason']!r} on an entry that has a converter",
            "remove unsupported_reason: the entry is no longer raw-only", "warning"))
    return problems


def _check_entry(entry: dict, index: int, loaded: LoadedYaml, file: str, curated: bool = False) -> list[Problem]:
    problems: list[Problem] = []
    eid = entry.get("id")
    known = licenses()
    lic = entry.get("license")
    if isinstance(lic, str):
        if lic not in known:
            lower = lic.lower()
            guess = lower if lower in known else _close(lower, known)
            problems.append(_problem_at(
                loaded, file, index, eid, ("license",), f"unknown licence id {lic!r}",
                (f"write {guess!r}" if guess else "use an id from registry/licenses.json")
                + "; use 'other' with license_note for custom terms, 'unknown' when none was found",
            ))
        else:
            allowed = known[lic]["commercial"]
            commercial = entry.get("commercial")
            if allowed is False and commercial is True:
                problems.append(_problem_at(
                    loaded, file, index, eid, ("commercial",),
                    f"commercial: true contradicts licence {lic!r}, which forbids commercial use",
                    "set commercial: false, or correct the licence id",
                ))
            if lic == "other" and not entry.get("license_note"):
                problems.append(_problem_at(
                    loaded, file, index, eid, ("license",), "licence 'other' needs a license_note",
                    "add license_note: with the terms in a sentence and where they are published",
                ))
    for s_index, source in enumerate(entry.get("sources") or []):
        if not isinstance(source, dict):
            continue
        urls = [(("sources", s_index, "url"), source.get("url"))] + [
            (("sources", s_index, "files", f_index, "url"), f.get("url"))
            for f_index, f in enumerate(source.get("files") or []) if isinstance(f, dict)]
        for keys, url in urls:
            if source.get("kind") != "url" or not isinstance(url, str):
                continue
            parts = urllib.parse.urlsplit(url)
            host = parts.hostname or ""
            if "." not in host and host != "localhost" or " " in url:
                problems.append(_problem_at(
                    loaded, file, index, eid, keys, f"malformed host in URL {url!r}",
                    "write a full URL with a real host name, e.g. 'https://example.org/file.json'",
                ))
    problems += _check_sources(entry, index, loaded, file)
    problems += _check_splits(entry, index, loaded, file)
    problems += _check_format(entry, index, loaded, file)
    problems += _check_evidence(entry, index, loaded, file, curated)
    return problems


@lru_cache(maxsize=1)
def converter_declarations() -> dict:
    """``registry/converters.json``: converter names, formats, readers and options, generated from the declarations."""
    return json.loads(resources.schema_path("converters.json").read_text("utf-8"))


@lru_cache(maxsize=None)
def _value_validator(schema_json: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_json))


def _declares_converter(entry: dict) -> bool:
    fmt = entry.get("format")
    return isinstance(fmt, dict) and fmt.get("produces") != "unsupported" and isinstance(fmt.get("converter"), str)


def _check_sources(entry: dict, index: int, loaded: LoadedYaml, file: str) -> list[Problem]:
    """A converter needs known files; url sources with different file names are parts, not mirrors."""
    problems: list[Problem] = []
    eid = entry.get("id")
    sources = [s for s in entry.get("sources") or [] if isinstance(s, dict)]
    if _declares_converter(entry):
        for s_index, source in enumerate(sources):
            if source.get("kind") == "github" and not source.get("files"):
                problems.append(_problem_at(
                    loaded, file, index, eid, ("sources", s_index),
                    f"GitHub source {source.get('repo')} lists no files, but the entry declares a converter: "
                    "the whole tree (README, scripts, variants) would be fetched and read",
                    "list the data files (path, git_blob or sha256, size) under files:, or set "
                    "format: {produces: unsupported, reason: ...}",
                ))
    names = {}
    for s_index, source in enumerate(sources):
        if source.get("kind") == "url" and isinstance(source.get("url"), str):
            names.setdefault(source.get("path") or _url_basename(source["url"]), s_index)
    if len(names) > 1:
        listed = ", ".join(names)
        problems.append(_problem_at(
            loaded, file, index, eid, ("sources", list(names.values())[1]),
            f"url sources name different files ({listed}): several sources are alternatives (mirrors), "
            "so only the first would be fetched",
            "if they are parts of one dataset, write one url source with files: [{url, path, sha256, size}, ...]",
            severity="warning",
        ))
    return problems


def _check_format(entry: dict, index: int, loaded: LoadedYaml, file: str) -> list[Problem]:
    """The converter must exist and produce the declared format; its options must be known and well typed."""
    fmt = entry.get("format")
    if not isinstance(fmt, dict) or fmt.get("produces") == "unsupported" or not isinstance(fmt.get("converter"), str):
        return []
    declared = converter_declarations()
    converters = declared["converters"]
    eid, name = entry.get("id"), fmt["converter"]
    known = converters.get(name)
    if known is None:
        guess = _close(name, converters)
        return [_problem_at(
            loaded, file, index, eid, ("format", "converter"),
            f"converter {name!r} is not implemented yet: the entry can be searched but not normalized",
            (f"did you mean {guess!r}? " if guess else "") + f"use one of {', '.join(sorted(converters))}, "
            "or `produces: unsupported` with a reason",
            severity="warning",
        )]
    if known["produces"] != fmt.get("produces"):
        return [_problem_at(
            loaded, file, index, eid, ("format", "produces"),
            f"converter {name!r} produces {known['produces']!r}, not {fmt.get('produces')!r}",
            f"set produces: {known['produces']}",
        )]
    options = fmt.get("options")
    return _check_options(name, known, options, fmt.get("reader"), declared, index, loaded, file, eid) \
        if isinstance(options, dict) else []


def _check_options(name: str, known: dict, options: dict, reader: object, declared: dict, index: int,
                   loaded: LoadedYaml, file: str, eid: str | None) -> list[Problem]:
    """Each option is the converter's or a reader's, with a value its schema accepts."""
    problems = []
    own, readers = known["options"], declared["reader_options"]
    for key, value in options.items():
        where = ("format", "options", key)
        spec = own.get(key) or readers.get(key)
        if spec is None:
            guess = _close(key, [*own, *readers])
            problems.append(Problem(file, *loaded.key_position((index, *where)), eid, ".".join(where),
                                    f"converter {name!r} has no option {key!r}",
                                    (f"did you mean {guess!r}? " if guess else "")
                                    + f"options of {name}: {', '.join(own) or 'none'}; "
                                    + f"reader options: {', '.join(readers)}"))
            continue
        error = next(iter(_value_validator(json.dumps(spec["schema"], sort_keys=True)).iter_errors(value)), None)
        if error is not None:
            problems.append(_problem_at(loaded, file, index, eid, where,
                                        f"option {key!r} of {name!r}: {value!r} is not valid ({error.message})",
                                        f"{key}: {spec['doc']}"))
        elif key not in own and isinstance(reader, str) and reader not in spec["readers"]:
            problems.append(_problem_at(loaded, file, index, eid, where,
                                        f"reader option {key!r} does nothing for reader {reader!r}",
                                        f"it applies to {', '.join(spec['readers'])}; remove it or change the reader",
                                        severity="warning"))
    return problems


def _check_splits(entry: dict, index: int, loaded: LoadedYaml, file: str) -> list[Problem]:
    declared: list[str] = []
    patterns: list[str] = []
    open_ended = False
    for source in entry.get("sources") or []:
        if not isinstance(source, dict):
            continue
        if source.get("extract") or any(isinstance(f, dict) and f.get("extract") for f in source.get("files") or []):
            open_ended = True  # splits name files inside the unpacked archive
        if source.get("kind") == "url" and source.get("url"):
            declared.append(source.get("path") or _url_basename(source.get("url", "")))
        elif source.get("files"):
            declared += [f.get("path") or _url_basename(f.get("url") or "") for f in source["files"]
                         if isinstance(f, dict)]
        elif source.get("patterns"):
            patterns += source["patterns"]
        else:
            open_ended = True  # a whole repo: any path may exist
    problems = []
    splits = entry.get("splits")
    if not isinstance(splits, dict) or open_ended:
        return problems
    for split, paths in splits.items():
        for p_index, path in enumerate(paths if isinstance(paths, list) else []):
            if not isinstance(path, str):
                continue
            if any(fnmatch.fnmatchcase(d, path) for d in declared if d) or any(
                fnmatch.fnmatchcase(path, pat) or path == pat for pat in patterns
            ):
                continue
            guess = _close(path, [d for d in declared if d])
            problems.append(_problem_at(
                loaded, file, index, entry.get("id"), ("splits", split, p_index),
                f"split {split!r} names {path!r}, which no source declares",
                f"did you mean {guess!r}?" if guess else "add the file to a source's files: list",
            ))
    return problems


def _url_basename(url: str) -> str:
    return urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]


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
        loaded = load_yaml_file(path)
    except YamlSyntaxError as exc:
        result.problems.append(Problem(name, exc.line, exc.column, None, None, exc.message,
                                       exc.hint or "fix the YAML syntax (indentation, quoting, colons)"))
        return result
    result.problems = check_loaded(loaded, name)
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
        loaded = load_yaml_file(path)
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


def cross_check(files: list[CatalogFile], context: list[CatalogFile] | tuple = ()) -> tuple[list[dict], list[Problem]]:
    """Entries and problems of already-read files, with duplicate ids and aliases across all of them."""
    entries: list[dict] = []
    problems: list[Problem] = []
    first_seen: dict[str, dict] = {}
    for cf in context:
        for entry in cf.entries:
            if isinstance(entry.get("id"), str):
                first_seen.setdefault(entry["id"], entry)
    for cf in files:
        problems += cf.problems
        for entry in cf.entries:
            eid = entry.get("id")
            if isinstance(eid, str) and eid in first_seen:
                origin, prev = entry["_origin"], first_seen[eid]["_origin"]
                problems.append(Problem(
                    origin["file"], origin["line"], None, eid, "id",
                    f"duplicate id {eid!r}, first defined at {prev['file']}:{prev['line']}",
                    "give this entry another id (ids are unique across all catalog files in use)",
                ))
                continue
            if isinstance(eid, str):
                first_seen[eid] = entry
            entries.append(entry)
    names = {e["id"]: e for cf in context for e in cf.entries if isinstance(e.get("id"), str)}
    names.update({e["id"]: e for e in entries if isinstance(e.get("id"), str)})
    for entry in entries:
        for alias in entry.get("aliases") or []:
            other = names.get(alias)
            if other is not None and other is not entry:
                origin = entry["_origin"]
                problems.append(Problem(origin["file"], origin["line"], None, entry.get("id"), "aliases",
                                        f"alias {alias!r} already names entry {other.get('id')!r} "
                                        f"({other['_origin']['file']}:{other['_origin']['line']})",
                                        "remove the alias or the duplicate entry"))
            names.setdefault(alias, entry)
    return entries, problems
