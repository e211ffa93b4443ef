"""Recipe files: YAML validated by ``registry/recipe.schema.json``, errors reported as file:line.

A recipe names catalog datasets (with a split and one of ``all`` / ``n`` /
``fraction`` / ``weight``), filters, dedup and decontamination settings, a
seed and the exports to write. :func:`load_recipe_file` returns a frozen
:class:`Recipe`; everything downstream reads that, never the YAML.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import resources
from ..catalog.yaml_positions import LoadedYaml, load_yaml_file
from ..errors import LlmdataError, Problem, YamlSyntaxError

TAKE_KEYS = ("all", "n", "fraction", "weight")


class RecipeError(LlmdataError, ValueError):
    """A recipe file does not validate; ``problems`` lists every finding with its position."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        body = "\n".join(p.render() for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the recipe:\n{body}",
                         hint="fix the recipe above; registry/recipe.schema.json lists every key")


@dataclass(frozen=True)
class Filters:
    languages: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    min_turns: int | None = None
    max_turns: int | None = None
    has_system_prompt: bool | None = None

    def merged(self, override: dict | None) -> Filters:
        """Recipe-wide filters with one input's own filters on top."""
        values = {**self.__dict__, **{k: (tuple(v) if k == "languages" else v) for k, v in (override or {}).items()}}
        return Filters(**values)

    @property
    def active(self) -> bool:
        return any(v not in (None, ()) for v in self.__dict__.values())


@dataclass(frozen=True)
class Input:
    """One dataset of the mixture: which split, how much, which filters; ``line`` points into the recipe."""

    id: str
    split: str
    take: str  # all | n | fraction | weight
    amount: float | int | None
    filters: Filters
    line: int | None = None


@dataclass(frozen=True)
class NearDup:
    threshold: float = 0.8
    num_perm: int = 128
    shingle: int = 3


@dataclass(frozen=True)
class Decontam:
    against: tuple[str, ...] | None = None  # None: every eval entry in the store
    splits: tuple[str, ...] | None = None  # None: every split but train
    ngram: int = 13
    action: str = "drop"


@dataclass(frozen=True)
class Recipe:
    name: str
    seed: int
    inputs: tuple[Input, ...]
    total: int | None = None
    description: str = ""
    exact_dedup: bool = True
    near_dup: NearDup | None = field(default_factory=NearDup)
    decontam: Decontam | None = field(default_factory=Decontam)
    shard_rows: int = 500_000
    shuffle: bool = True
    exports: tuple[str, ...] = ()
    path: Path | None = None
    digest: str = ""  # sha256 of the validated recipe as canonical JSON


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = json.loads(resources.schema_path("recipe.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _problem(err, file: str, loaded: LoadedYaml) -> Problem:
    path = tuple(err.absolute_path)
    key = ".".join(map(str, path)) or None
    line, col = loaded.position(path)
    hint = None
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed] if isinstance(err.instance, dict) else ["?"]
        line, col = loaded.key_position(path + (extra[0],))
        message, hint = f"unknown key {extra[0]!r}", f"allowed keys here: {', '.join(allowed)}"
        key = ".".join(map(str, path + (extra[0],)))
    elif err.validator == "oneOf" and len(path) == 2 and path[0] == "datasets":
        given = [k for k in TAKE_KEYS if isinstance(err.instance, dict) and k in err.instance]
        message = (f"gives {' and '.join(given)}" if given else "says not how much to take")
        hint = "give exactly one of all: true, n: COUNT, fraction: 0..1 or weight: W (with total:)"
    elif err.validator == "required":
        message = err.message.replace("is a required property", "is missing")
    else:
        message = err.message
    return Problem(file, line, col, None, key, message, hint)


def _semantic_problems(data: dict, file: str, loaded: LoadedYaml) -> list[Problem]:
    problems = []
    weighted = [i for i, d in enumerate(data["datasets"]) if "weight" in d]
    if weighted and "total" not in data:
        line, col = loaded.position(("datasets", weighted[0], "weight"))
        problems.append(Problem(file, line, col, None, f"datasets.{weighted[0]}.weight",
                                "weight: needs a total: size for the mixture", "add `total: ROWS` at the top"))
    seen: dict[tuple, int] = {}
    for i, d in enumerate(data["datasets"]):
        key = (d["id"], d.get("split", "train"))
        if key in seen:
            line, col = loaded.position(("datasets", i))
            problems.append(Problem(file, line, col, None, f"datasets.{i}",
                                    f"{key[0]}:{key[1]} is listed twice (first as datasets.{seen[key]})",
                                    "merge the two into one item"))
        seen.setdefault(key, i)
    for where in [data.get("filters") or {}] + [d.get("filters") or {} for d in data["datasets"]]:
        if where.get("min_length") is not None and where.get("max_length") is not None \
                and where["min_length"] > where["max_length"]:
            problems.append(Problem(file, None, None, None, "filters", "min_length is above max_length"))
    return problems


def parse_recipe(data: object, loaded: LoadedYaml, file: str) -> Recipe:
    problems = [_problem(e, file, loaded) for e in sorted(_validator().iter_errors(data), key=lambda e: e.path)]
    problems += [Problem(file, line, col, None, ".".join(map(str, p)), "duplicate key") for p, line, col in
                 loaded.duplicate_keys]
    if not problems and isinstance(data, dict):
        problems = _semantic_problems(data, file, loaded)
    if problems:
        raise RecipeError(problems)
    assert isinstance(data, dict)
    base = Filters().merged(data.get("filters"))
    inputs = []
    for i, d in enumerate(data["datasets"]):
        take = next(k for k in TAKE_KEYS if k in d)
        inputs.append(Input(d["id"], d.get("split", "train"), take, None if take == "all" else d[take],
                            base.merged(d.get("filters")), loaded.position(("datasets", i))[0]))
    dedup = data.get("dedup") or {}
    near = dedup.get("near", True)
    decon = data.get("decontaminate", True)
    output = data.get("output") or {}
    return Recipe(
        name=data["name"], seed=data["seed"], inputs=tuple(inputs), total=data.get("total"),
        description=data.get("description", ""), exact_dedup=dedup.get("exact", True),
        near_dup=None if near is False else NearDup(**(near if isinstance(near, dict) else {})),
        decontam=None if decon is False else Decontam(
            **{k: (tuple(v) if isinstance(v, list) else v) for k, v in (decon if isinstance(decon, dict) else {}).items()}),
        shard_rows=output.get("shard_rows", 500_000), shuffle=output.get("shuffle", True),
        exports=tuple(data.get("exports") or ()), path=Path(file),
        digest=hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest(),
    )


def load_recipe_file(path: str | Path) -> Recipe:
    """Read and validate a recipe; raises :class:`RecipeError` listing every problem with file:line."""
    path = Path(path).expanduser()
    try:
        loaded = load_yaml_file(path)
    except YamlSyntaxError as exc:
        raise RecipeError([Problem(exc.file, exc.line, exc.column, None, None, exc.message)]) from None
    except OSError as exc:
        raise RecipeError([Problem(str(path), None, None, None, None, f"cannot read the recipe: {exc.strerror}")]) \
            from None
    return parse_recipe(loaded.data, loaded, str(path))
