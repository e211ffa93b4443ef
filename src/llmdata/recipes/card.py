"""The dataset card (``README.md``) of a built mixture: sources, dedup, contamination, licences.

Hugging Face's card layout: YAML front matter (licence, configs pointing at the
shards) and Markdown tables. Deterministic text (no dates), so ``--locked``
rebuilds it byte for byte.
"""

from __future__ import annotations

import yaml


def _table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render(recipe, report) -> str:
    licence = report.licence
    licences = sorted({i["license"] for i in licence["inputs"] if i["rows"]})
    front = {"license": licences[0] if len(licences) == 1 else "other",
             "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
             "tags": ["llmdata", report.format]}
    parts = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip(), "---", "",
             f"# {recipe.name}", ""]
    if recipe.description:
        parts += [recipe.description.strip(), ""]
    parts += [f"A {report.format} mixture of {len(report.sources)} datasets, {report.rows} rows, built by "
              f"`llmdata build` with seed {recipe.seed}. `llmdata.lock` pins every input; "
              "`llmdata build RECIPE --locked` reproduces these bytes.", "",
              "## Sources", "",
              _table(["source", "split", "available", "passed filters", "wanted", "sampled", "exact dups",
                      "near dups", "contaminated", "rows"],
                     [[s.id, s.split, s.available, s.passed, s.wanted, s.taken, s.exact_dups, s.near_dups,
                       s.contaminated, s.rows] for s in report.sources]), ""]
    filtered = [[s.id, reason, n] for s in report.sources for reason, n in sorted(s.filtered_out.items())]
    if filtered:
        parts += ["### Filtered out", "", _table(["source", "filter", "rows"], filtered), ""]
    parts += ["## Duplicates", "", "Of duplicate rows the first in recipe order is kept; "
              "`duplicate of` names the source that kept it.", ""]
    for title, lost in (("Exact (same normalized conversation)", report.exact_lost),
                        ("Near (MinHash LSH)", report.near_lost)):
        parts += [f"### {title}", ""]
        parts += [_table(["source", "duplicate of", "rows lost"], [[d["source"], d["duplicate_of"], d["rows"]]
                                                                     for d in lost]) if lost else "none", ""]
    c = report.contamination
    parts += ["## Contamination", ""]
    if c["ngram"] is None:
        parts += ["not checked (decontaminate: false)", ""]
    elif not c["benchmarks"]:
        parts += ["no benchmark was checked: no eval dataset is in the store and the recipe names none", ""]
    else:
        parts += [f"Rows sharing a {c['ngram']}-token span with a benchmark's questions or answers were "
                  f"{'dropped' if c['action'] == 'drop' else 'kept and flagged in meta.llmdata_contamination'}.",
                  "", _table(["benchmark", "items", "items too short to check", "rows hit", "by source"],
                             [[name, b["items"], b["too_short"], b["rows"],
                               ", ".join(f"{k}: {v}" for k, v in b["by_source"].items())]
                              for name, b in c["benchmarks"].items()]), ""]
    verdict = {"true": "yes", "false": "no", "unknown": "unknown"}[licence["commercial"]]
    parts += ["## Licences", "", f"Commercial use of the mixture: **{verdict}**"
              + (f" (because of {', '.join(licence['because'])})" if licence["because"] else "") + ".", "",
              _table(["source", "licence", "commercial", "rows"],
                     [[i["id"], i["license"], i["commercial"], i["rows"]] for i in licence["inputs"]]), "",
              "### Attribution", ""]
    parts += [f"- {a['name']} ({a['id']}), {a['license']}"
              + "".join(f", {link}" for link in (a.get("homepage"), a.get("paper")) if link) for a in
              licence["attribution"]] or ["none required"]
    return "\n".join(parts) + "\n"
