"""Which files of an upstream tree are data, and which split each belongs to, by the upstream's own conventions.

Used by the fetchers (what to download when an entry lists no files) and by
normalization (which files make which split when an entry names no splits).
The rules, in order:

1. the catalog's ``splits`` globs, when the entry has them;
2. the dataset card's YAML ``configs:`` / ``data_files`` (Hub repos);
3. the split-name patterns of Hugging Face ``datasets`` itself
   (``datasets.data_files.get_data_patterns``: ``data/train-00000-of-00001.parquet``,
   ``*test*``, ``dev/`` ...), applied to the data files only.

Only data files ever reach a reader: README.md, loading scripts, images,
``.gitattributes``, ``dataset_infos.json`` never do.
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

COMPRESSIONS = (".gz", ".xz", ".bz2", ".zst", ".zstd", ".lzma")
DATA_EXTENSIONS = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".arrow", ".txt", ".zip", ".tar", ".tgz")
NOT_DATA_NAMES = {"readme.md", "readme.txt", "readme", "license", "license.txt", "license.md", "requirements.txt",
                  "citation.txt", "dataset_info.json", "dataset_infos.json", "dataset_dict.json", "config.json",
                  "state.json", "dummy_data.zip", ".gitattributes", ".gitignore", "package.json",
                  "package-lock.json", "tsconfig.json", "environment.json"}
CARD = "README.md"


def is_data_file(path: str) -> bool:
    """A file a reader may open: a data extension (optionally compressed), not a card, script, image or dotfile."""
    name = posixpath.basename(path)
    lowered = name.lower()
    if lowered in NOT_DATA_NAMES or any(part.startswith((".", "__")) for part in path.split("/")):
        return False
    stem = lowered
    for ext in COMPRESSIONS:
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
            break
    return stem.endswith(DATA_EXTENSIONS) and not stem.endswith((".ipynb.json",))


def card_front_matter(text: str) -> dict:
    """The YAML block at the top of a dataset card (empty when there is none or it does not parse)."""
    import yaml

    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def card_config(front_matter: Mapping, name: str | None = None) -> dict[str, list[str]] | None:
    """Split -> ``data_files`` patterns of one ``configs:`` item (``name``, else the default, else the first)."""
    configs = [c for c in front_matter.get("configs") or () if isinstance(c, Mapping) and c.get("data_files")]
    if not configs:
        return None
    chosen = None
    if name:
        chosen = next((c for c in configs if c.get("config_name") == name), None)
        if chosen is None:
            raise KeyError(name)
    chosen = chosen or next((c for c in configs if c.get("default")), None) or \
        next((c for c in configs if c.get("config_name") == "default"), None) or configs[0]
    from datasets.data_files import sanitize_patterns

    return {str(split): list(patterns) for split, patterns in sanitize_patterns(chosen["data_files"]).items()}


class _Tree:
    """The paths as empty files in a temporary folder, so ``datasets`` resolves patterns over them exactly."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="llmdata-tree-")
        self.root = Path(self._dir.name)
        for p in paths:
            target = self.root.joinpath(*p.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()

    def resolve(self, pattern: str) -> list[str]:
        from datasets.data_files import resolve_pattern

        try:
            found = resolve_pattern(pattern, str(self.root))
        except FileNotFoundError:
            return []
        return sorted(Path(f).relative_to(self.root).as_posix() for f in found)

    def __enter__(self) -> _Tree:
        return self

    def __exit__(self, *exc) -> None:
        self._dir.cleanup()


def resolve_splits(paths: Iterable[str], patterns: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Split -> the paths its ``datasets``-style patterns match (data files only)."""
    data = sorted({p for p in paths if is_data_file(p)})
    with _Tree(data) as tree:
        return {split: sorted({f for p in pats for f in tree.resolve(p)}) for split, pats in patterns.items()}


def infer_splits(paths: Iterable[str]) -> dict[str, list[str]]:
    """Split -> files by the split-name conventions of ``datasets`` (``get_data_patterns``), data files only."""
    data = tuple(sorted({p for p in paths if is_data_file(p)}))
    if not data:
        return {}
    return {split: list(files) for split, files in _infer_splits(data).items()}


@lru_cache(maxsize=64)
def _infer_splits(data: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Cached per file list: ``datasets`` resolves its patterns over a temporary tree, which costs
    tens of milliseconds for a few files (more for thousands), and every ``load`` asks again."""
    from datasets.data_files import get_data_patterns

    with _Tree(list(data)) as tree:
        try:
            patterns = get_data_patterns(str(tree.root))
        except FileNotFoundError:
            return {}
        return {str(split): tuple(sorted({f for p in pats for f in tree.resolve(p)}))
                for split, pats in patterns.items()}


def upstream_splits(paths: Iterable[str], card_text: str | None = None,
                    config: str | None = None) -> tuple[dict[str, list[str]], str]:
    """Split -> files from the card's ``configs:`` when it has them, else from ``datasets``' conventions.

    Returns the mapping and where it came from (for messages).
    """
    paths = list(paths)
    if card_text:
        patterns = card_config(card_front_matter(card_text), config)
        if patterns:
            return resolve_splits(paths, patterns), f"the dataset card's configs ({config or 'default'})"
    return infer_splits(paths), "the split-name conventions of Hugging Face datasets"
