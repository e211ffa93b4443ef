"""lm-evaluation-harness export: one task YAML per subject (plus a group) and its data, for ``--include_path``.

Written against EleutherAI/lm-evaluation-harness commit
4e7e0d47f33bc71070c1d38394bafbb52b117163: ``docs/task_guide.md`` (task keys,
``dataset_kwargs: data_files`` for local files, group configs) and
``lm_eval/api/task.py`` (``ConfigurableTask``: ``doc_to_choice`` templates are
``ast.literal_eval``-ed, an integer column is a ``multiple_choice`` target).
The shape follows its own MMLU tasks (``tasks/mmlu/default``).

Layout in DIR: ``llmdata_<id>_<subject>.yaml`` (``_llmdata_<id>.yaml``
groups the subjects), data in ``data/<id>/<subject>/<split>.parquet`` named
by absolute path, so ``lm_eval`` may run from any directory. mcq tasks score
the choice letters by log-likelihood; qa tasks generate and score exact match.
The ``dev`` split (else ``validation``, else ``train``) is the few-shot source.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from ..errors import UsageError
from .export_io import read_rows, safe_name, write_file

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
FEWSHOT_SPLITS = ("dev", "validation", "train")
MCQ = {
    "output_type": "multiple_choice",
    "doc_to_text": "{{question.strip()}}\n{% for c in choices %}{{ '" + LETTERS
                   + "'[loop.index0] }}. {{ c }}\n{% endfor %}Answer:",
    "doc_to_choice": "{{ '" + LETTERS + "'[:choices|length] | list }}",
    "doc_to_target": "label",
    "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
}
QA = {
    "output_type": "generate_until",
    "doc_to_text": "Question: {{question}}\nAnswer:",
    "doc_to_target": "{{answer}}",
    "generation_kwargs": {"until": ["\n\n", "Question:"], "do_sample": False, "temperature": 0.0},
    "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True,
                     "ignore_case": True, "ignore_punctuation": True}],
}


def _splits(splits: dict, test_split: str | None) -> tuple[str, str | None]:
    if test_split is None:
        test_split = "test" if "test" in splits else next((s for s in splits if s not in FEWSHOT_SPLITS), None) \
            or next(iter(splits))
    fewshot = next((s for s in FEWSHOT_SPLITS if s in splits and s != test_split), None)
    return test_split, fewshot


def _data_rows(rows: list[dict], fmt: str) -> list[dict]:
    if fmt == "mcq":
        return [{"id": r["id"], "subject": r["subject"], "question": r["question"], "choices": r["choices"],
                 "answer": r["answer"], "label": LETTERS.index(r["answer"])} for r in rows]
    return [{"id": r["id"], "question": r["question"], "answer": r["answer"]} for r in rows]


def write(name: str, fmt: str, splits: dict[str, list[Path]], out: Path, test_split: str | None = None, **_) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt not in ("mcq", "qa"):
        raise UsageError(f"the lm-eval export takes multiple-choice (mcq) and open-answer (qa) data; {name} is {fmt}")
    out = out.resolve()
    test, fewshot = _splits(splits, test_split)
    wanted = [test] + ([fewshot] if fewshot else [])
    by_subject: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for split in wanted:
        for row in _data_rows(read_rows(splits[split]), fmt):
            by_subject[(row.get("subject") or "") if fmt == "mcq" else ""][split].append(row)
    group = f"llmdata_{safe_name(name)}"
    files, tasks, rows = [], [], {}
    for subject in sorted(by_subject):
        task = f"{group}_{safe_name(subject)}" if subject else group
        data_files = {}
        for split in wanted:
            relative = f"data/{safe_name(name)}/{safe_name(subject) if subject else 'all'}/{split}.parquet"
            table = pa.Table.from_pylist(by_subject[subject][split]) if by_subject[subject][split] else None
            if table is None:
                continue
            write_file(out / relative, lambda p, t=table: pq.write_table(t, p))
            files.append(relative)
            data_files[split] = str(out / relative)
            rows[f"{subject or 'all'}/{split}"] = table.num_rows
        if test not in data_files:
            continue
        config = {"task": task, "task_alias": subject or name, "dataset_path": "parquet",
                  "dataset_kwargs": {"data_files": data_files}, "test_split": test}
        if fewshot in data_files:
            config |= {"fewshot_split": fewshot, "fewshot_config": {"sampler": "first_n"}}
        if subject:
            config["description"] = f"The following are multiple choice questions (with answers) about {subject}.\n\n"
        config |= MCQ if fmt == "mcq" else QA
        config["metadata"] = {"version": 1.0, "source": f"llmdata export {name}"}
        file = f"{task}.yaml"
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        write_file(out / file, lambda p, text=text: p.write_text(text, encoding="utf-8"))
        files.append(file)
        tasks.append(task)
    if len(tasks) > 1:
        config = {"group": group, "task": tasks,
                  "aggregate_metric_list": [{"metric": "acc" if fmt == "mcq" else "exact_match",
                                             "weight_by_size": True}],
                  "metadata": {"version": 1.0}}
        file = f"_{group}.yaml"
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        write_file(out / file, lambda p: p.write_text(text, encoding="utf-8"))
        files.append(file)
    return {"files": files, "rows": rows, "skipped": {}, "tasks": tasks, "group": group if len(tasks) > 1 else None,
            "test_split": test, "fewshot_split": fewshot}
