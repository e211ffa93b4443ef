"""The package's shape, checked: layers import only downwards, no import cycles, small modules.

Layers, bottom up (DESIGN.md, "The flow"): foundations (errors, settings,
resources, vocabulary) -> catalog -> store -> index -> fetchers, normalize ->
recipes -> api -> cli. The store is the floor under the index because the
index keeps its tables in the store's database file. Imports made inside functions count too: a lazy import that runs
upwards is still an arrow pointing the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "llmdata"
MAX_LINES = 400

LAYERS = {
    "errors": 0, "settings": 0, "resources": 0, "vocabulary": 0,
    "catalog": 1,
    "store": 2,
    "index": 3,
    "fetchers": 4, "normalize": 4,
    "recipes": 5, "ray_engine": 5,
    "api": 6,
    "cli": 7, "__main__": 7,
}
# Same-layer packages that must not know each other.
SIBLINGS_APART = [("fetchers", "normalize")]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("llmdata", *parts))] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every llmdata module ``name`` imports, at module level or inside functions."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names if a.name.startswith("llmdata"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("llmdata"):
                continue
            for alias in node.names:  # `from . import x` may name a submodule
                sub = f"{module}.{alias.name}"
                targets.add(sub if sub in known else module)
    return {t for t in targets if t in known and t != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _layer_key(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_layers_import_only_downwards():
    wrong = []
    for module, targets in _graph().items():
        key = _layer_key(module)
        if key == "__init__":  # the package root re-exports the api lazily
            continue
        for target in targets:
            other = _layer_key(target)
            if other == "__init__":
                continue
            if LAYERS[other] > LAYERS[key]:
                wrong.append(f"{module} -> {target}")
            if (key, other) in SIBLINGS_APART or (other, key) in SIBLINGS_APART:
                wrong.append(f"{module} -> {target} (sibling packages)")
    assert not wrong, "imports that run upwards or sideways:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own modules
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(_modules()))
def test_modules_stay_small(module):
    lines = len(_modules()[module].read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by job (limit {MAX_LINES})"
