"""LLaMA-Factory export: ``<name>.<split>.jsonl`` plus a ``dataset_info.json`` it reads as-is.

Written against hiyouga/LLaMA-Factory commit ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30:
``data/README.md`` (dataset_info keys, sharegpt and preference layouts),
``src/llamafactory/data/parser.py`` (``DatasetAttr``: columns and tags) and
``src/llamafactory/data/converter.py`` (``SharegptDatasetConverter``).

* chat -> sharegpt with our own keys: ``columns: {messages: messages}`` and
  ``tags`` naming ``role``/``content`` and the roles user, assistant, system,
  and tool as the observation role.
* preference -> sharegpt with ``ranking: true``: the prompt's turns in
  ``messages``, ``chosen`` and ``rejected`` as ONE message each (the converter
  only takes a pair of dicts).
* text -> alpaca ``columns: {prompt: text}`` (pre-training).

The converter skips rows whose roles do not alternate (user/tool at odd,
assistant at even positions after an optional leading system message) and
chat rows with an odd number of turns; such rows are left out here too, with
the reason counted in the report, so the numbers match what trains.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path


from .export_io import read_rows, safe_name, write_file, dump_jsonl

INFO = "dataset_info.json"
TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
        "observation_tag": "tool", "system_tag": "system"}
ODD, EVEN = ("user", "tool"), ("assistant",)


def _turns_problem(messages: list[dict], ranking: bool) -> str | None:
    """What LLaMA-Factory's sharegpt converter would reject in these messages (None: fine)."""
    turns = messages[1:] if messages and messages[0]["role"] == "system" else messages
    for k, m in enumerate(turns):
        if m["role"] not in (ODD, EVEN)[k % 2]:
            return f"role {m['role']!r} at turn {k + 1} (roles must alternate user/assistant)"
    if not ranking and len(turns) % 2:
        return "odd number of turns (the last one must be the assistant's)"
    if ranking and len(turns) % 2 == 0:
        return "prompt does not end with a user turn"
    return None


def _chat(row: dict) -> tuple[dict | None, str | None]:
    problem = _turns_problem(row["messages"], ranking=False)
    return (None, problem) if problem else ({"id": row["id"], "source": row["source"],
                                             "messages": row["messages"]}, None)


def _preference(row: dict) -> tuple[dict | None, str | None]:
    prompt, chosen, rejected = row["prompt"] or [], row["chosen"] or [], row["rejected"] or []
    if len(chosen) != 1 or len(rejected) != 1:
        return None, "chosen/rejected is not one message (LLaMA-Factory takes one each)"
    if chosen[0]["role"] != "assistant" or rejected[0]["role"] != "assistant":
        return None, "chosen/rejected is not an assistant message"
    problem = _turns_problem(prompt, ranking=True)
    if problem:
        return None, problem
    return {"id": row["id"], "source": row["source"], "messages": prompt, "chosen": chosen[0],
            "rejected": rejected[0]}, None


def _text(row: dict) -> tuple[dict | None, str | None]:
    return {"id": row["id"], "source": row["source"], "text": row["text"]}, None


DESCRIPTIONS = {
    "chat": {"formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": TAGS},
    "preference": {"formatting": "sharegpt", "ranking": True,
                   "columns": {"messages": "messages", "chosen": "chosen", "rejected": "rejected"}, "tags": TAGS},
    "text": {"columns": {"prompt": "text"}},
}
ROWS = {"chat": _chat, "preference": _preference, "text": _text}


def write(name: str, fmt: str, splits: dict[str, list[Path]], out: Path, **_) -> dict:
    from ..errors import UsageError

    if fmt not in ROWS:
        raise UsageError(f"LLaMA-Factory trains on chat, preference and text data; {name} is {fmt}",
                         hint="use --to lm-eval for benchmarks, or --to jsonl / parquet")
    files, rows, skipped, entries = [], {}, Counter(), {}
    def records(shards):
        for row in read_rows(shards):
            record, problem = ROWS[fmt](row)
            if problem:
                skipped[problem] += 1
            else:
                yield record

    for split, shards in splits.items():
        file = f"{safe_name(name)}.{safe_name(split)}.jsonl"
        rows[split] = dump_jsonl(out / file, records(shards))
        files.append(file)
        key = safe_name(name) if split == "train" else f"{safe_name(name)}_{safe_name(split)}"
        entries[key] = {"file_name": file, **DESCRIPTIONS[fmt]}
    info_path = out / INFO
    info = json.loads(info_path.read_text("utf-8")) if info_path.is_file() else {}
    info.update(entries)  # several exports can share one dataset_dir
    text = json.dumps(info, indent=2, ensure_ascii=False) + "\n"
    write_file(info_path, lambda path: path.write_text(text, encoding="utf-8"))
    return {"files": files + [INFO], "rows": rows, "skipped": dict(skipped), "datasets": sorted(entries)}
