"""The raw layouts benchmarks/convert_chat.py generates, one per chat and preference converter with a columnar twin.

Each layout has: the converter and its options, a record generator in the
layout's real raw schema (random words, Chinese and English), and the
``datasets.map`` script a one-off conversion would be (``ds`` is the loaded
JSON; it must leave the converted dataset in ``ds``), producing the same
normalized columns without llmdata's checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

WORDS = ["数据", "模型", "训练", "the", "model", "data", "answer", "question", "医疗", "math", "code", "step", "why",
         "because", "所以", "我们"]


@dataclass(frozen=True)
class Layout:
    converter: str
    make: Callable  # (rng, index, text) -> record; text(n) gives n random words
    map_code: str
    options: dict = field(default_factory=dict)


def _turns(rng, text, pairs):
    return [(text(rng.randint(5, 40)), text(rng.randint(20, 120))) for _ in range(pairs)]


def _sharegpt(rng, i, text):
    turns = [t for q, a in _turns(rng, text, rng.randint(1, 4)) for t in ({"from": "human", "value": q},
                                                                          {"from": "gpt", "value": a})]
    return {"id": f"{i:08x}", "conversations": turns}


def _hh_transcript(rng, text, turns):
    return "".join(f"\n\nHuman: {text(rng.randint(5, 30))}\n\nAssistant: {text(rng.randint(10, 60))}"
                   for _ in range(turns)) + f"\n\nHuman: {text(rng.randint(5, 30))}"


def _hh(rng, i, text):
    shared = _hh_transcript(rng, text, rng.randint(0, 2))
    return {"chosen": shared + f"\n\nAssistant: {text(rng.randint(10, 80))}",
            "rejected": shared + f"\n\nAssistant: {text(rng.randint(10, 80))}"}


def _moss(rng, i, text):
    chat = {}
    for k in range(rng.randint(1, 3)):
        tool = rng.random() < 0.3
        chat[f"turn_{k + 1}"] = {
            "Human": f"<|Human|>: {text(rng.randint(5, 40))}<eoh>\n",
            "Inner Thoughts": f"<|Inner Thoughts|>: {text(8) if tool else 'None'}<eot>\n",
            "Commands": f"<|Commands|>: {'Search(' + text(3) + ')' if tool else 'None'}<eoc>\n",
            "Tool Responses": f"<|Results|>:\n{text(30) if tool else 'None'}<eor>\n",
            "MOSS": f"<|MOSS|>: {text(rng.randint(20, 120))}<eom>\n"}
    return {"conversation_id": i, "meta_instruction": "You are an AI assistant whose name is MOSS.\n" + text(20),
            "num_turns": len(chat), "chat": chat}


def _messages(rng, text, pairs):
    return [m for q, a in _turns(rng, text, pairs) for m in ({"role": "user", "content": q},
                                                             {"role": "assistant", "content": a})]


def _conversational(rng, i, text):
    prompt = [{"role": "user", "content": text(rng.randint(5, 40))}]
    return {"prompt_id": f"{i:08x}", "prompt": prompt,
            "chosen": prompt + [{"role": "assistant", "content": text(rng.randint(20, 120))}],
            "rejected": prompt + [{"role": "assistant", "content": text(rng.randint(20, 120))}],
            "score_chosen": float(rng.randint(6, 10)), "score_rejected": float(rng.randint(1, 5))}


def _tree(rng, i, text):
    def node(role, depth):
        out = {"message_id": f"{i}-{depth}-{rng.random():.6f}", "text": text(rng.randint(10, 80)), "role": role,
               "lang": "en", "review_result": True, "deleted": False, "rank": None, "replies": []}
        if depth < 3:
            other = "assistant" if role == "prompter" else "prompter"
            for r in range(rng.randint(1 if depth == 0 else 0, 3)):
                child = node(other, depth + 1)
                child["rank"] = r if other == "assistant" else None
                out["replies"].append(child)
        return out
    return {"message_tree_id": f"tree-{i}", "tree_state": "ready_for_export", "prompt": node("prompter", 0)}


_TREE_WALK = """
ROLE = {"prompter": "user", "assistant": "assistant"}
def usable(n):
    return n and n["text"] and n["text"].strip() and n["role"] in ROLE and not n["deleted"]
def replies(n):
    return sorted((r for r in n["replies"] or [] if usable(r)),
                  key=lambda r: (r["rank"] is None, r["rank"] if r["rank"] is not None else 0))
"""

_LOAD_HEAD = """
import re
import datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset("json", data_files=SRC, split="train", cache_dir=OUT + "/cache")
def m(role, content):
    return {"role": role, "content": content}
"""

_HH_PARSE = """
TURN = re.compile(r"\\n\\n(Human|Assistant): ?")
def parse(text):
    marks = list(TURN.finditer(text))
    return [m("user" if k.group(1) == "Human" else "assistant",
              text[k.end():(marks[i + 1].start() if i + 1 < len(marks) else len(text))].strip())
            for i, k in enumerate(marks)]
"""

LAYOUTS = {
    "alpaca": Layout("alpaca", lambda rng, i, text: {
        "instruction": text(rng.randint(5, 40)), "input": text(rng.randint(0, 20)),
        "output": text(rng.randint(20, 120))}, """
def convert(r):
    prompt = "\\n\\n".join(p for p in (r["instruction"].strip(), (r["input"] or "").strip()) if p)
    return {"messages": [m("user", prompt), m("assistant", r["output"])]}
ds = ds.map(convert, remove_columns=ds.column_names)
"""),
    "sharegpt": Layout("sharegpt", _sharegpt, """
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
def convert(r):
    return {"messages": [m(ROLES[t["from"]], t["value"]) for t in r["conversations"]]}
ds = ds.map(convert, remove_columns=["conversations"])
"""),
    "openai-messages": Layout("openai-messages", lambda rng, i, text: {
        "messages": _messages(rng, text, rng.randint(1, 4))}, """
def convert(r):
    return {"messages": [m(t["role"], t["content"]) for t in r["messages"]]}
ds = ds.map(convert)
"""),
    "conversation-pairs": Layout("conversation-pairs", lambda rng, i, text: {
        "conversation_id": i, "conversation": [{"human": q, "assistant": a}
                                               for q, a in _turns(rng, text, rng.randint(1, 4))]}, """
def convert(r):
    return {"messages": [t for p in r["conversation"] for t in (m("user", p["human"]), m("assistant", p["assistant"]))]}
ds = ds.map(convert, remove_columns=["conversation"])
"""),
    "medical-qa": Layout("medical-qa", lambda rng, i, text: {
        "department": "内科", "ask": text(rng.randint(5, 60)), "answer": text(rng.randint(20, 150))}, """
def convert(r):
    return {"messages": [m("user", r["ask"]), m("assistant", r["answer"])]}
ds = ds.map(convert, remove_columns=["ask", "answer"])
"""),
    "ultrachat": Layout("ultrachat", lambda rng, i, text: {
        "id": str(i), "data": [t for q, a in _turns(rng, text, rng.randint(1, 4)) for t in (q, a)]}, """
def convert(r):
    return {"messages": [m("user" if k % 2 == 0 else "assistant", t) for k, t in enumerate(r["data"])]}
ds = ds.map(convert, remove_columns=["data"])
"""),
    "seed-tasks": Layout("seed-tasks", lambda rng, i, text: {
        "id": f"seed_task_{i}", "name": text(2), "instruction": text(rng.randint(5, 30)),
        "instances": [{"input": text(rng.randint(0, 20)), "output": text(rng.randint(10, 80))}
                      for _ in range(rng.choice([1, 1, 1, 2]))], "is_classification": False}, """
def convert(batch):
    out = []
    for instruction, instances in zip(batch["instruction"], batch["instances"]):
        for inst in instances:
            prompt = "\\n\\n".join(p for p in (instruction.strip(), (inst["input"] or "").strip()) if p)
            out.append([m("user", prompt), m("assistant", inst["output"])])
    return {"messages": out}
ds = ds.map(convert, batched=True, remove_columns=ds.column_names)
"""),
    "belle-multiturn": Layout("belle-multiturn", lambda rng, i, text: {
        "instruction": "".join(f"Human: {q}\nAssistant: {a}\n" for q, a in _turns(rng, text, rng.randint(0, 2)))
        + f"Human: {text(rng.randint(5, 40))}\nAssistant:", "input": "", "output": text(rng.randint(20, 120))}, """
TURN = re.compile(r"(?:^|\\n)\\s*(Human|Assistant)\\s*[:：]")
def convert(r):
    text, marks = r["instruction"], list(TURN.finditer(r["instruction"]))
    out = [m("user" if k.group(1) == "Human" else "assistant",
             text[k.end():(marks[i + 1].start() if i + 1 < len(marks) else len(text))].strip())
           for i, k in enumerate(marks)]
    return {"messages": [t for t in out if t["content"]] + [m("assistant", r["output"])]}
ds = ds.map(convert, remove_columns=ds.column_names)
"""),
    "moss": Layout("moss", _moss, """
def text(v):
    v = re.sub(r"\\s*<e[a-z]{1,2}>\\s*$", "", re.sub(r"^\\s*<\\|[^|]+\\|>\\s*:\\s*", "", v or "")).strip()
    return "" if v == "None" else v
def convert(r):
    out = [m("system", text(r["meta_instruction"]))]
    for key in sorted(k for k, t in r["chat"].items() if t):
        turn = r["chat"][key]
        out.append(m("user", text(turn["Human"])))
        if text(turn["Commands"]):
            out.append(m("assistant", text(turn["Commands"])))
            if text(turn["Tool Responses"]):
                out.append(m("tool", text(turn["Tool Responses"])))
        out.append(m("assistant", text(turn["MOSS"])))
    return {"messages": out}
ds = ds.map(convert, remove_columns=["chat", "meta_instruction"])
"""),
    "hh-rlhf": Layout("hh-rlhf", _hh, _HH_PARSE + """
def convert(r):
    c, j = parse(r["chosen"]), parse(r["rejected"])
    n = 0
    while n < min(len(c), len(j)) - 1 and c[n] == j[n]:
        n += 1
    return {"prompt": c[:n], "chosen": c[n:], "rejected": j[n:]}
ds = ds.map(convert, remove_columns=["chosen", "rejected"])
"""),
    "pairwise": Layout("pairwise", lambda rng, i, text: {
        "prompt": text(rng.randint(5, 40)), "chosen": text(rng.randint(20, 120)),
        "rejected": text(rng.randint(20, 120))}, """
def convert(r):
    return {"prompt": [m("user", r["prompt"])], "chosen": [m("assistant", r["chosen"])],
            "rejected": [m("assistant", r["rejected"])]}
ds = ds.map(convert, remove_columns=ds.column_names)
"""),
    "pairwise-hh": Layout("pairwise", lambda rng, i, text: {
        "prompt": _hh_transcript(rng, text, rng.randint(0, 2)) + "\n\nAssistant:",
        "chosen": text(rng.randint(20, 120)), "rejected": text(rng.randint(20, 120))}, _HH_PARSE + """
def convert(r):
    return {"prompt": [t for t in parse(r["prompt"]) if t["content"] or t["role"] == "user"],
            "chosen": [m("assistant", r["chosen"])], "rejected": [m("assistant", r["rejected"])]}
ds = ds.map(convert, remove_columns=ds.column_names)
""", {"prompt_format": "hh"}),
    "sharegpt-pairwise": Layout("sharegpt-pairwise", lambda rng, i, text: {
        "conversations": _sharegpt(rng, i, text)["conversations"][:-1],
        "chosen": {"from": "gpt", "value": text(rng.randint(20, 120))},
        "rejected": {"from": "gpt", "value": text(rng.randint(20, 120))}}, """
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
def convert(r):
    return {"prompt": [m(ROLES[t["from"]], t["value"]) for t in r["conversations"]],
            "chosen": [m(ROLES[r["chosen"]["from"]], r["chosen"]["value"])],
            "rejected": [m(ROLES[r["rejected"]["from"]], r["rejected"]["value"])]}
ds = ds.map(convert, remove_columns=ds.column_names)
"""),
    "pku-saferlhf": Layout("pku-saferlhf", lambda rng, i, text: {
        "prompt": text(rng.randint(5, 40)), "response_0": text(rng.randint(20, 120)),
        "response_1": text(rng.randint(20, 120)), "is_response_0_safe": True, "is_response_1_safe": False,
        "better_response_id": rng.randint(0, 1), "safer_response_id": rng.randint(0, 1)}, """
def convert(r):
    b = r["better_response_id"]
    return {"prompt": [m("user", r["prompt"])], "chosen": [m("assistant", r[f"response_{b}"])],
            "rejected": [m("assistant", r[f"response_{1 - b}"])]}
ds = ds.map(convert, remove_columns=["prompt", "response_0", "response_1", "better_response_id"])
"""),
    "hc3": Layout("hc3", lambda rng, i, text: {
        "id": str(i), "question": text(rng.randint(5, 40)),
        "human_answers": [text(rng.randint(20, 120))], "chatgpt_answers": [text(rng.randint(20, 120))],
        "source": "open_qa"}, """
def convert(r):
    h = next(t for t in r["human_answers"] if t and t.strip())
    c = next(t for t in r["chatgpt_answers"] if t and t.strip())
    return {"prompt": [m("user", r["question"])], "chosen": [m("assistant", h)], "rejected": [m("assistant", c)]}
ds = ds.map(convert, remove_columns=["question", "human_answers", "chatgpt_answers"])
"""),
    "pairwise-votes": Layout("pairwise-votes", lambda rng, i, text: {
        "idx": i, "instruction": text(rng.randint(5, 40)), "input": text(rng.randint(0, 10)),
        "response1": text(rng.randint(20, 120)), "response2": text(rng.randint(20, 120)),
        "annotator1": rng.choice([1, 2]), "annotator2": rng.choice([1, 2]), "annotator3": rng.choice([0, 1, 2])}, """
def convert(r):
    votes = [r[k] for k in ("annotator1", "annotator2", "annotator3") if r[k] is not None]
    win = max((0, 1, 2), key=votes.count)
    prompt = "\\n\\n".join(p for p in (r["instruction"].strip(), (r["input"] or "").strip()) if p)
    return {"prompt": [m("user", prompt)], "chosen": [m("assistant", r[f"response{max(win, 1)}"])],
            "rejected": [m("assistant", r[f"response{3 - max(win, 1)}"])],
            "score_chosen": float(votes.count(win)), "score_rejected": float(votes.count(3 - max(win, 1)))}
ds = ds.map(convert, remove_columns=ds.column_names)
"""),
    "ranked-answers": Layout("ranked-answers", lambda rng, i, text: {
        "qid": i, "question": text(rng.randint(5, 60)),
        "answers": [{"answer_id": k, "text": text(rng.randint(20, 100)), "pm_score": rng.randint(-2, 10)}
                    for k in range(rng.randint(2, 4))]}, """
def convert(r):
    s = sorted((a for a in r["answers"] if a["text"].strip()), key=lambda a: a["pm_score"], reverse=True)
    return {"prompt": [m("user", r["question"])], "chosen": [m("assistant", s[0]["text"])],
            "rejected": [m("assistant", s[-1]["text"])], "score_chosen": float(s[0]["pm_score"]),
            "score_rejected": float(s[-1]["pm_score"])}
ds = ds.map(convert, remove_columns=ds.column_names)
"""),
    "oasst1": Layout("oasst1", _tree, _TREE_WALK + """
def convert(r):
    path, node = [], r["prompt"]
    while node:
        path.append(m(ROLE[node["role"]], node["text"]))
        kids = replies(node)
        node = kids[0] if kids else None
    while path and path[-1]["role"] != "assistant":
        path.pop()
    return {"messages": path}
ds = ds.map(convert, remove_columns=["prompt"])
"""),
    "oasst1-pairs": Layout("oasst1-pairs", _tree, _TREE_WALK + """
def pairs(node, prefix, out):
    here = prefix + [m(ROLE[node["role"]], node["text"])]
    kids = replies(node)
    if node["role"] == "prompter":
        ranked = [c for c in kids if c["role"] == "assistant" and c["rank"] is not None]
        for worse in ranked[1:]:
            if worse["rank"] > ranked[0]["rank"]:
                out.append((here, ranked[0], worse))
    for c in kids:
        pairs(c, here, out)
def convert(batch):
    out = []
    for tree in batch["prompt"]:
        pairs(tree, [], out)
    return {"prompt": [p for p, _, _ in out], "chosen": [[m("assistant", b["text"])] for _, b, _ in out],
            "rejected": [[m("assistant", w["text"])] for _, _, w in out],
            "score_chosen": [-float(b["rank"]) for _, b, _ in out], "score_rejected": [-float(w["rank"]) for _, _, w in out]}
ds = ds.map(convert, batched=True, remove_columns=ds.column_names)
"""),
    "conversational-preference": Layout("conversational-preference", _conversational, """
def convert(r):
    n = len(r["prompt"])
    return {"prompt": [m(t["role"], t["content"]) for t in r["prompt"]],
            "chosen": [m(t["role"], t["content"]) for t in r["chosen"][n:]],
            "rejected": [m(t["role"], t["content"]) for t in r["rejected"][n:]],
            "score_chosen": float(r["score_chosen"]), "score_rejected": float(r["score_rejected"])}
ds = ds.map(convert, remove_columns=ds.column_names)
"""),
}


def datasets_script(layout: Layout) -> str:
    """The whole datasets.map script of a layout: load the JSON, convert, write Parquet."""
    return _LOAD_HEAD + layout.map_code + 'ds.to_parquet(OUT + "/out.parquet")\n'
