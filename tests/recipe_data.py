"""Datasets served on loopback for the recipe and export tests: three chat sets, one preference set, two benchmarks.

Planted on purpose:
* chat-b's first row is chat-a's row 3, word for word (an exact duplicate);
* chat-c's first row is chat-a's row 5 with one word changed (a near duplicate);
* chat-c's second row quotes a gsm-mini test question (benchmark contamination).
"""

from __future__ import annotations

import json

from conftest import COMMIT, entry, sha

WORDS = ("river mountain garden window planet silver market winter candle forest bridge letter engine "
         "pocket island shadow ticket morning thunder basket").split()


def _sentence(seed: int, n: int = 40) -> str:
    return " ".join(WORDS[(seed * 7 + k * k * 3 + k) % len(WORDS)] + str((seed + k) % 13) for k in range(n))


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


CHAT_A = [{"instruction": f"question a{i}: {_sentence(i)}", "input": "", "output": f"answer a{i} {_sentence(i + 100, 10)}"}
          for i in range(30)]
CHAT_B = [dict(CHAT_A[3])] + [{"instruction": f"问题 b{i}：请解释第{i}个中文句子的意思，谢谢你的帮助。", "input": "",
                                "output": f"回答 b{i}：这是第{i}个回答，内容很简单。"} for i in range(1, 20)]
GSM_TEST = [{"question": f"Natalia sold clips to {40 + i} of her friends in April, and then she sold half as many "
                         f"clips in May. How many clips did Natalia sell altogether in April and May? case {i}",
             "answer": f"She sold {40 + i}/2 clips in May.\n#### {60 + i}"} for i in range(6)]
GSM_TRAIN = [{"question": "Weng earns 12 an hour for babysitting. How much did she earn?", "answer": "#### 10"}]
_near = dict(CHAT_A[5])
_near["instruction"] = _near["instruction"].replace("question a5:", "question A5 -")
CHAT_C = [_near, {"instruction": "Solve this: " + GSM_TEST[2]["question"], "input": "", "output": "The answer is 62."}] + \
    [{"instruction": f"task c{i}: {_sentence(i + 500)}", "input": "", "output": f"done c{i}"} for i in range(2, 25)]
PREF = [{"prompt": f"Which is better, option {i} or not?", "chosen": f"Option {i} is better.",
         "rejected": f"I don't know {i}."} for i in range(8)]
MMLU_TEST = [{"question": f"Which bone is number {i} in {s}?", "A": "femur", "B": "tibia", "C": "ulna", "D": "radius",
              "answer": "ABCD"[i % 4], "subject": s} for s in ("anatomy", "law") for i in range(5)]
MMLU_DEV = [{"question": f"Example question {i} about {s}?", "A": "yes", "B": "no", "C": "maybe", "D": "never",
             "answer": "A", "subject": s} for s in ("anatomy", "law") for i in range(3)]


def _github(id_: str, files: dict[str, bytes], splits: dict, fmt: dict, **extra) -> tuple[dict, dict]:
    served = {f"acme/{id_}/{COMMIT}/{path}": data for path, data in files.items()}
    e = entry(id_, [{"kind": "github", "repo": f"acme/{id_}", "ref": COMMIT,
                     "files": [{"path": p, "sha256": sha(d), "size": len(d)} for p, d in files.items()]}],
              splits=splits, format=fmt, **extra)
    return e, served


def datasets_() -> tuple[list[dict], dict]:
    alpaca = {"produces": "chat", "reader": "json", "converter": "alpaca"}
    specs = [
        _github("chat-a", {"train.jsonl": jsonl(CHAT_A)}, {"train": ["train.jsonl"]}, alpaca, license="apache-2.0",
                commercial=True, homepage="https://example.org/chat-a"),
        _github("chat-b", {"train.jsonl": jsonl(CHAT_B)}, {"train": ["train.jsonl"]}, alpaca, license="cc-by-nc-4.0",
                commercial=False, languages=["zh"]),
        _github("chat-c", {"train.jsonl": jsonl(CHAT_C)}, {"train": ["train.jsonl"]}, alpaca, license="mit",
                commercial=True),
        _github("pref-mini", {"train.jsonl": jsonl(PREF)}, {"train": ["train.jsonl"]},
                {"produces": "preference", "reader": "json", "converter": "pairwise"}, category="preference"),
        _github("gsm-mini", {"test.jsonl": jsonl(GSM_TEST), "train.jsonl": jsonl(GSM_TRAIN)},
                {"test": ["test.jsonl"], "train": ["train.jsonl"]},
                {"produces": "qa", "reader": "json", "converter": "gsm8k"}, category="eval"),
        _github("mmlu-mini", {"test.jsonl": jsonl(MMLU_TEST), "dev.jsonl": jsonl(MMLU_DEV)},
                {"test": ["test.jsonl"], "dev": ["dev.jsonl"]},
                {"produces": "mcq", "reader": "json", "converter": "mcq"}, category="eval"),
    ]
    entries = [e for e, _ in specs]
    files = {k: v for _, served in specs for k, v in served.items()}
    return entries, files


def serve(hosts, catalog) -> None:
    entries, files = datasets_()
    hosts.files.update(files)
    catalog(*entries)
