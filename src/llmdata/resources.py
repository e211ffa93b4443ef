"""Where the shipped catalog and JSON Schemas live, installed or in a source checkout.

A wheel carries them as ``llmdata/_data/{catalog.yaml,registry/}``; an editable
install or a plain checkout reads them from the repository root, so the files
that are reviewed are the files that run.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE_DIR / "_data", _PACKAGE_DIR.parent.parent)


def _data_root() -> Path:
    for root in _CANDIDATES:
        if (root / "registry" / "catalog.schema.json").is_file():
            return root
    raise FileNotFoundError(
        "llmdata's registry/ folder is missing from the installation; reinstall the package"
    )


def builtin_catalog() -> Path:
    return _data_root() / "catalog.yaml"


def registry_dir() -> Path:
    return _data_root() / "registry"


def schema_path(name: str) -> Path:
    return registry_dir() / name
