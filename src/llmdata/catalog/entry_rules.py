"""Rules for one catalog entry that a schema cannot express.

Licence ids and their commercial verdicts, evidence for licence claims,
model-generated data, converter names and options (read from the generated
``registry/converters.json``, never from converter code), sources that a
converter can read, and split paths that name declared files.
"""

from __future__ import annotations

import fnmatch
import json
import urllib.parse
from functools import lru_cache
from pathlib import Path

from .. import resources
from ..errors import Problem, redact_url
from .schema_check import _close, licenses
from .yaml_positions import LoadedYaml


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
    """A converter needs known files; no secrets in URLs; url sources with different file names are parts, not mirrors."""
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
    for keys, url in _source_urls(sources):
        if redact_url(url) != url:
            problems.append(_problem_at(
                loaded, file, index, eid, keys,
                "this URL carries credentials (a user:password@ part or a token in its query), and the catalog is "
                "copied into the search index as written",
                "put the host's login in ~/.netrc (machine HOST login USER password SECRET; $NETRC names another "
                "file), which downloads read for that host only, and remove it from the URL",
                severity="warning",
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


def _source_urls(sources: list) -> list[tuple[tuple, str]]:
    """(keys, url) of every URL a source names: its own ``url`` and its files' ``url``."""
    found = []
    for s_index, source in enumerate(sources):
        if not isinstance(source, dict):
            continue
        if isinstance(source.get("url"), str):
            found.append((("sources", s_index, "url"), source["url"]))
        for f_index, spec in enumerate(source.get("files") or []):
            if isinstance(spec, dict) and isinstance(spec.get("url"), str):
                found.append((("sources", s_index, "files", f_index, "url"), spec["url"]))
    return found


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
    splits = entry.get("splits")
    if not isinstance(splits, dict):
        return []
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
    if open_ended:
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


