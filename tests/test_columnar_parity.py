"""The columnar twins give exactly what the record functions give: rows, ids, meta, rejects and their reasons.

Every converter is run four ways on the same records, malformed ones
included: the JSON Lines fast path (pyarrow's reader + the table twin), the
JSON array fast path (the array cut into JSON Lines), the record path with
the batch twin (a gzipped array, read by ijson), and the reference (the
record function alone, twins removed). Chunks are made tiny so that a file
mixes chunks the twin converts with chunks it hands back. Random inputs check
the parts where exactness is subtle: transcript marks, whitespace, JSON
array structure, trees.
"""

from __future__ import annotations

import dataclasses
import json

import pyarrow.parquet as pq
import pytest

from llmdata.normalize import arrowpath
from llmdata.normalize.converters import REGISTRY
from llmdata.normalize.pipeline import FormatSpec, normalize

T = {"from": "human", "value": "你好"}
G = {"from": "gpt", "value": "Hello!"}

SHAREGPT = [
    {"id": "a1", "conversations": [T, G]},
    {"id": "7", "conversations": [{"from": " Human ", "value": "hi"}, {"from": "GPT", "value": " yes "}]},
    {"id": "", "conversations": [T, G, T, G], "system": "be brief"},
    {"conversations": [T, G], "system": "   "},
    {"id": "sys-only", "conversations": [], "system": "s"},
    {"id": "empty", "conversations": []},
    {"id": "none", "conversations": None},
    {"id": "missing"},
    {"id": "no-value", "conversations": [{"from": "human"}, G]},
    {"id": "null-value", "conversations": [{"from": "human", "value": None}, G]},
    {"id": "no-from", "conversations": [{"value": "x"}, G]},
    {"id": "null-turn", "conversations": [None, G]},
    {"id": "unknown-role", "conversations": [{"from": "narrator", "value": "once"}, T, G]},
    {"id": "blank", "conversations": [T, {"from": "gpt", "value": " \u3000\n"}]},
    {"id": "no-user", "conversations": [{"from": "system", "value": "s"}, G]},
    {"id": "ends-user", "conversations": [T, G, T]},
    {"id": "tools", "conversations": [T, {"from": "function_call", "value": "{}"},
                                      {"from": "observation", "value": "42"}, G]},
    {"id": "weighted", "conversations": [{**T, "weight": 0}, {**G, "weight": 1}]},
    {"id": "\u0130d", "conversations": [{"from": "\u0130", "value": "dotted"}, G]},
    {"id": "ctl\n\"q\"", "conversations": [T, G]},
]
SHAREGPT_META = [
    {"id": "m1", "conversations": [T, G], "source": "x", "lang": "zh"},
    {"id": "m2", "lang": None, "conversations": [T, G], "source": "y"},
    {"conversations": [T, G], "source": "z", "nested": {"a": [1, 2.5], "b": None}},
]
SHAREGPT_INT_IDS = [
    {"id": 7, "conversations": [T, G]},
    {"id": -1, "conversations": [T, G], "system": None},
    {"conversations": [T, G]},
]
SHAREGPT_ODD_TYPES = [
    {"id": 5.0, "conversations": [T, G]},
    {"id": 1.5, "conversations": [T, G]},
    {"id": True, "conversations": [T, G]},
    {"id": "x", "conversations": [T, G], "system": 3},
]
SHAREGPT_WRONG_TYPES = [
    {"id": "ok", "conversations": [T, G]},
    {"id": "num", "conversations": [{"from": "human", "value": 3}, G]},
    {"id": "str-turn", "conversations": ["hello", G]},
    {"id": "not-list", "conversations": "hello"},
]

OPENAI = [
    {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                  {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "t"},
                  {"role": "assistant", "content": "a"}], "id": 3},
    {"messages": [{"role": "critic", "content": "q"}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]},
    {"messages": []},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "system": "sys"},
]

PAIRS = [
    {"conversation_id": 1, "conversation": [{"human": "q", "assistant": "a"}, {"human": "q2", "assistant": "a2"}]},
    {"id": "x", "conversation": [{"human": "q", "assistant": "a"}], "system": "s"},
    {"conversation_id": None, "id": "y", "conversation": [{"human": "q", "assistant": "a"}]},
    {"conversation_id": 2, "conversation": [{"human": "q", "assistant": "a"}], "id": "z"},
    {"conversation": []},
    {"conversation": [{"human": "q"}]},
    {"conversation": [{"human": "q", "assistant": " "}]},
    {"conversation": [{"human": "q", "assistant": None}]},
    {"conversation": None, "category": "c"},
    {"conversation": [None]},
]

HH_C = "\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: And 3+3?\n\nAssistant: 6."
HH_R = "\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: And 3+3?\n\nAssistant: I don't know."
HH = [
    {"chosen": HH_C, "rejected": HH_R},
    {"chosen": "Human: hi\n\nAssistant: hello", "rejected": "Human: hi\n\nAssistant: go away"},
    {"chosen": "\n\nHuman:no space\n\nAssistant:a", "rejected": "\n\nHuman:no space\n\nAssistant:b"},
    {"chosen": HH_C, "rejected": HH_C},
    {"chosen": "preamble\n\nHuman: x\n\nAssistant: y", "rejected": "\n\nHuman: x\n\nAssistant: z"},
    {"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: c\n\nAssistant: d"},
    {"chosen": "\n\nHuman: q\n\nAssistant:", "rejected": "\n\nHuman: q\n\nAssistant: r"},
    {"chosen": "\n\nHuman: \n\nAssistant: a", "rejected": "\n\nHuman: \n\nAssistant: b"},
    {"chosen": "\n\nHuman: q"},
    {"chosen": None, "rejected": "\n\nHuman: q\n\nAssistant: r"},
    {"chosen": "\n\nHuman: q\x00\n\nAssistant: a", "rejected": "\n\nHuman: q\x00\n\nAssistant: b"},
    {"chosen": "\n\nAssistant: hi\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nAssistant: hi\n\nHuman: q\n\nAssistant: b"},
    {"chosen": HH_C + "\n\nHuman: more?\n\nAssistant: no", "rejected": HH_C, "split": "x"},
    {"chosen": HH_C, "rejected": HH_C + "\n\nHuman: more?\n\nAssistant: no"},
    {"chosen": "\n\nHuman: q\n\n\n\nAssistant: a \n", "rejected": "\n\nHuman: q\n\n\n\nAssistant: b"},
    {"chosen": "\n\nHuman: q\n\nAssistant: a\n\nHuman: x", "rejected": "\n\nHuman: q\n\nAssistant: b"},
    {"chosen": "\n\nHuman: q\n\nAssistant: same", "rejected": "\n\nHuman: q\n\nAssistant: same\n\nHuman: ok"},
]

PAIRWISE = [
    {"prompt": "q", "chosen": "a", "rejected": "b"},
    {"prompt": "q", "chosen": "a", "rejected": "b", "system": "sys", "sc": 2, "sr": 1.5},
    {"prompt": " ", "chosen": "a", "rejected": "b"},
    {"prompt": "q", "chosen": "same", "rejected": "same"},
    {"prompt": "q", "chosen": "a"},
    {"prompt": "q", "chosen": "a", "rejected": None, "sc": 1},
    {"prompt": "q", "chosen": "a ", "rejected": "a", "sc": None, "sr": 0},
    {"prompt": "q", "chosen": "a", "rejected": "b", "system": "", "extra": [1]},
    {"prompt": "q", "chosen": "a", "rejected": "b", "sc": 2**60, "sr": -(2**62)},
]

PAIRWISE_HH = [
    {"prompt": "\n\nHuman: q\n\nAssistant:", "chosen": "a", "rejected": "b"},
    {"prompt": "Human: bare\n\nAssistant: ", "chosen": "a", "rejected": "b", "system": "sys"},
    {"prompt": "\n\nHuman: q\n\nAssistant: a\n\nHuman: q2\n\nAssistant:", "chosen": "a", "rejected": "b"},
    {"prompt": "\n\nHuman: \n\nAssistant:", "chosen": "a", "rejected": "b"},
    {"prompt": "no marks", "chosen": "a", "rejected": "b"},
    {"prompt": "\n\nAssistant: hi", "chosen": "a", "rejected": "b"},
    {"prompt": "\n\nAssistant:", "chosen": "a", "rejected": "b"},
    {"prompt": "\n\nAssistant:", "chosen": "a", "rejected": "b", "system": "only the system"},
    {"prompt": "\n\nHuman: q", "chosen": "same", "rejected": "same"},
    {"prompt": None, "chosen": "a", "rejected": "b"},
    {"prompt": " \n\nHuman: q", "chosen": "a", "rejected": "b"},
    {"prompt": "\n\nHuman: q\n\nAssistant: \u3000\n\nHuman:x\n\nHu", "chosen": "a", "rejected": "b", "id": 4},
]

MEDICAL = [
    {"ask": "q", "answer": "a"},
    {"ask": " q ", "answer": "a\n", "department": "x"},
    {"ask": "", "answer": "a"},
    {"ask": "q", "answer": "\u3000"},
    {"ask": "q"},
    {"ask": None, "answer": "a"},
    {"answer": "a", "id": 3},
]
MEDICAL_NUMBERS = [{"ask": "q", "answer": 42}, {"ask": "q", "answer": "a"}]

ULTRACHAT = [
    {"id": "u1", "data": ["q", "a"]},
    {"id": "2", "data": ["q", "a", "q2", "a2"]},
    {"id": "u3", "data": ["q", "a", "q2"]},
    {"id": "u4", "data": []},
    {"id": "u5", "data": ["q", " "]},
    {"id": "u6", "data": ["q", None]},
    {"id": "", "data": ["q", "a"]},
    {"data": None},
    {"id": "u9"},
]
ULTRACHAT_IDS = [{"id": 1, "data": ["q", "a"]}, {"id": 1.5, "data": ["q", "a"]}, {"id": 2, "data": ["q", "a"]}]

SEED = [
    {"id": "seed_task_0", "name": "n", "instruction": "Do x", "instances": [{"input": "", "output": "done"}]},
    {"id": "s1", "instruction": " Do y ", "instances": [{"input": "in", "output": "o1"}, {"input": None, "output": "o2"},
                                                          {"output": "o3"}]},
    {"id": "s2", "instruction": "Do z", "instances": []},
    {"id": "s3", "instruction": "Do z", "instances": [{"input": "a", "output": ""}]},
    {"id": "s4", "instruction": "Do z", "instances": [{"input": "a", "output": "b"}, None]},
    {"id": "s5", "instruction": "", "instances": [{"input": "a", "output": "b"}]},
    {"instruction": "Do z", "instances": [{"input": " \n", "output": "b"}, {"input": "c", "output": "d"}]},
    {"id": "6", "instruction": "Do z"},
    {"id": "7", "instruction": "Do z", "instances": [{"input": "a"}]},
]

PKU = [
    {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": 0, "safer_response_id": 1},
    {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": 1, "safer_response_id": 1},
    {"prompt": "q", "response_0": "a", "response_1": "a", "better_response_id": 1, "safer_response_id": 0},
    {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": 2, "safer_response_id": None},
    {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": None},
    {"prompt": "q", "response_0": " ", "response_1": "b", "better_response_id": 0, "safer_response_id": 0},
    {"prompt": "", "response_0": "a", "response_1": "b", "better_response_id": 0, "safer_response_id": 0},
    {"response_0": "a", "response_1": "b", "better_response_id": 0, "safer_response_id": 0},
]
PKU_TEXT_IDS = [{"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": " 1 "},
                {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": "2"},
                {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": "0"}]
PKU_FLOAT_IDS = [{"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": 1.0},
                 {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": 0.5},
                 {"prompt": "q", "response_0": "a", "response_1": "b", "better_response_id": 0}]

HC3 = [
    {"question": "q", "human_answers": ["h"], "chatgpt_answers": ["c"], "source": "open_qa"},
    {"question": "q", "human_answers": ["", " ", "h2", "h3"], "chatgpt_answers": [None, "c2"]},
    {"question": "q", "human_answers": [], "chatgpt_answers": ["c"]},
    {"question": "q", "human_answers": ["same"], "chatgpt_answers": ["same"]},
    {"question": "q", "human_answers": None, "chatgpt_answers": ["c"]},
    {"question": " ", "human_answers": ["h"], "chatgpt_answers": ["c"]},
    {"human_answers": ["h"], "chatgpt_answers": ["c"]},
    {"question": "q", "human_answers": ["h"]},
]

VOTES = [
    {"idx": 1, "instruction": "i", "input": "x", "response1": "a", "response2": "b",
     "annotator1": 1, "annotator2": 1, "annotator3": 2},
    {"idx": 2, "instruction": " i ", "input": "", "response1": "a", "response2": "b",
     "annotator1": 2, "annotator2": 0, "annotator3": 2},
    {"idx": 3, "instruction": "", "input": "x", "response1": "a", "response2": "b", "annotator1": 2},
    {"idx": 4, "instruction": "", "input": " ", "response1": "a", "response2": "b", "annotator1": 1},
    {"idx": 5, "instruction": "i", "response1": "a", "response2": "b", "annotator1": 0, "annotator2": 0,
     "annotator3": 1},
    {"idx": 6, "instruction": "i", "response1": "a", "response2": "b", "annotator1": 1, "annotator2": 2},
    {"idx": 7, "instruction": "i", "response1": "a", "response2": "b", "annotator1": 3},
    {"idx": 8, "instruction": "i", "response1": "a", "response2": "b"},
    {"idx": 9, "instruction": "i", "response1": "a", "response2": "a", "annotator1": 1},
    {"idx": 10, "instruction": "i", "response1": "a", "response2": None, "annotator1": 1},
    {"instruction": "i", "response1": "a", "response2": "b", "annotator1": None, "annotator2": 2, "annotator3": 2},
    {"idx": None, "id": 11, "instruction": "i", "response1": "a", "response2": "b", "annotator1": 1},
]
VOTES_FLOAT = [{"idx": 1, "instruction": "i", "response1": "a", "response2": "b", "annotator1": 1.0},
               {"idx": 2, "instruction": "i", "response1": "a", "response2": "b", "annotator1": 1.5}]

RANKED = [
    {"question": "q", "answers": [{"text": "a", "pm_score": 3}, {"text": "b", "pm_score": 1},
                                  {"text": "c", "pm_score": 2}, {"text": "d", "pm_score": 1}]},
    {"question": "q", "answers": [{"text": "a", "pm_score": 2}, {"text": "b", "pm_score": 2}]},
    {"question": "q", "answers": [{"text": "a", "pm_score": 2}]},
    {"question": "q", "answers": [{"text": " ", "pm_score": 5}, {"text": "b", "pm_score": 2},
                                  {"text": "c", "pm_score": None}, {"text": "d", "pm_score": 0}, None]},
    {"question": "q", "answers": [{"text": "same", "pm_score": 5}, {"text": "same", "pm_score": 2}]},
    {"question": "q", "answers": [{"text": "x", "pm_score": 5}, {"text": "y", "pm_score": 3},
                                  {"text": "x", "pm_score": 2}]},
    {"question": "q", "answers": []},
    {"question": "q", "answers": None},
    {"question": "", "answers": [{"text": "a", "pm_score": 2}, {"text": "b", "pm_score": 1}]},
    {"question": "q", "answers": [{"text": "a", "pm_score": -1}, {"text": "b", "pm_score": 4},
                                  {"text": "c", "pm_score": 4}, {"text": "e", "pm_score": -1}], "id": 9},
    {"question": "q"},
]
RANKED_FLOATS = [{"question": "q", "answers": [{"text": "a", "pm_score": 1.5}, {"text": "b", "pm_score": 1}]},
                 {"question": "q", "answers": [{"t": "a", "s": 2}, {"t": "b", "s": 1}]}]

SP_Q = {"from": "human", "value": "q"}
SHAREGPT_PAIRWISE = [
    {"conversations": [SP_Q], "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [SP_Q], "chosen": {"from": "gpt", "value": "a"}, "rejected": {"value": "b"}, "system": "s"},
    {"conversations": [SP_Q, {"from": "gpt", "value": "x"}, SP_Q], "chosen": {"from": "gpt", "value": "a"},
     "rejected": {"from": "gpt", "value": "b"}, "system": " ", "lang": "en"},
    {"conversations": [SP_Q, {"from": "gpt", "value": "x"}], "chosen": {"from": "gpt", "value": "a"},
     "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [], "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [{"from": "human", "value": " "}], "chosen": {"from": "gpt", "value": "a"},
     "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [SP_Q], "chosen": {"from": "gpt", "value": "same"}, "rejected": {"from": "gpt", "value": "same"}},
    {"conversations": [SP_Q], "chosen": {"from": "human", "value": "same"}, "rejected": {"from": "gpt", "value": "same"}},
    {"conversations": [SP_Q], "chosen": {"from": None, "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [SP_Q], "chosen": None, "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [SP_Q], "chosen": {"from": "gpt", "value": None}, "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [{"from": "alien", "value": "q"}], "chosen": {"from": "gpt", "value": "a"},
     "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [{"value": "q"}], "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
    {"conversations": [None], "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": " "}},
    {"chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
]
SHAREGPT_PAIRWISE_NO_FROM = [{"conversations": [SP_Q], "chosen": {"value": "a"}, "rejected": {"value": "b"}}]

U, A = (lambda c: {"role": "user", "content": c}), (lambda c: {"role": "assistant", "content": c})
CONVERSATIONAL = [
    {"prompt": [U("q")], "chosen": [A("a")], "rejected": [A("b")]},
    {"prompt_id": "p1", "prompt": [U("q")], "chosen": [U("q"), A("a")], "rejected": [U("q"), A("b")]},
    {"chosen": [U("q"), A("x"), U("q2"), A("a")], "rejected": [U("q"), A("x"), U("q2"), A("b")], "prompt_id": "c"},
    {"prompt": [], "chosen": [U("q"), A("a")], "rejected": [U("q"), A("b"), U("more"), A("c")]},
    {"prompt": None, "chosen": [U("q"), A("a")], "rejected": [U("q"), A("a")]},
    {"chosen": [U("q"), A("a")], "rejected": [U("q2"), A("a")]},
    {"chosen": [A("a")], "rejected": [A("b")]},
    {"prompt": [U("q")], "chosen": [A(" ")], "rejected": [A("b")]},
    {"prompt": [U("q")], "chosen": [U("q")], "rejected": [U("q"), A("b")]},
    {"prompt": [U(" ")], "chosen": [A("a")], "rejected": [A("b")]},
    {"prompt": [A("q")], "chosen": [A("a")], "rejected": [A("b")]},
    {"prompt": [U("q")], "chosen": [A("a")]},
    {"prompt": [U("q")], "chosen": [A("a")], "rejected": None},
    {"prompt": [U("q")], "chosen": [A("a")], "rejected": []},
    {"prompt": [U("q")], "chosen": [{"role": "critic", "content": "a"}], "rejected": [A("b")]},
    {"prompt": [U("q")], "chosen": [{"role": "assistant"}], "rejected": [A("b")]},
    {"prompt": [U("q")], "chosen": [None], "rejected": [A("b")]},
    {"prompt": [U("q")], "chosen": [A("same")], "rejected": [A("same")]},
    {"prompt": [U("q"), A("a")], "chosen": [U("q"), A("a")], "rejected": [U("q"), A("a"), U("x"), A("y")]},
]
CONVERSATIONAL_SCORES = [
    {"prompt": [U("q")], "chosen": [A("a")], "rejected": [A("b")], "score_chosen": 8, "score_rejected": 2.5},
    {"prompt_id": "p1", "prompt": [U("q")], "chosen": [U("q"), A("a")], "rejected": [U("q"), A("b")],
     "score_chosen": 1, "score_rejected": 0},
    {"prompt": [U("q")], "chosen": [A("a")], "rejected": [A("b")], "score_chosen": None, "score_rejected": 1},
    {"prompt": [U("q")], "chosen": [A("a")], "rejected": [A("b")], "score_rejected": 1},
    {"prompt": [U("q")], "chosen": [A("a")], "rejected": [A("b")], "score_chosen": 2**60, "score_rejected": -1},
]
CONVERSATIONAL_STRINGS = [
    {"prompt": "q", "chosen": "a", "rejected": "b"},
    {"prompt": "", "chosen": "a", "rejected": "b"},
    {"prompt": None, "chosen": "a", "rejected": "b"},
    {"prompt": "q", "chosen": "a", "rejected": "a"},
    {"prompt": "q", "chosen": " ", "rejected": "a", "score_chosen": True},
    {"prompt": "q", "chosen": "a", "rejected": "b", "score_chosen": True},
]

BELLE = [
    {"instruction": "Human: hi\nAssistant: hello\nHuman: how are you?\nAssistant:", "output": "fine", "input": ""},
    {"instruction": "Human：你好\n Assistant ：在\nHuman:q\nAssistant: ", "output": "a"},
    {"instruction": "preamble\nHuman: q\nAssistant:", "output": "a"},
    {"instruction": "Human: q", "output": "a"},
    {"instruction": "Human: q\nAssistant: a", "output": "b"},
    {"instruction": "Assistant: hi\nHuman: q\nAssistant:", "output": "a"},
    {"instruction": "Human: \nAssistant:", "output": "a"},
    {"instruction": "Human: q\nAssistant:\nHuman: x\nAssistant:", "output": "a"},
    {"instruction": "no marks", "output": "a"},
    {"instruction": "Human: q\nAssistant:", "output": " "},
    {"instruction": "Human: q\x00\nAssistant:", "output": "a"},
    {"instruction": "Human: a Human: b\n\u3000Assistant\u2003: c\n\x85Human:d\nAssistant:", "output": "e"},
    {"output": "a"},
    {"instruction": None, "output": "a"},
]

MT = {"Human": "<|Human|>: hi<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: None<eot>\n",
      "Commands": "<|Commands|>: None<eoc>\n", "Tool Responses": "<|Results|>: None<eor>\n",
      "MOSS": "<|MOSS|>: hello<eom>\n"}
MT_TOOL = {**MT, "Inner Thoughts": "<|Inner Thoughts|>: search it<eot>\n",
           "Commands": "<|Commands|>: Search(\"x\")<eoc>\n", "Tool Responses": "<|Results|>:\nfound<eor>\n"}
MOSS = [
    {"conversation_id": 1, "meta_instruction": "You are MOSS.\n- be nice", "num_turns": 2, "category": "honest",
     "chat": {"turn_1": MT, "turn_2": MT_TOOL}},
    {"conversation_id": 2, "meta_instruction": "None", "chat": {"turn_1": MT}},
    {"conversation_id": 3, "chat": {"turn_2": MT, "turn_1": MT_TOOL, "turn_10": MT}},
    {"conversation_id": 4, "chat": {"turn_1": {**MT_TOOL, "Tool Responses": "<|Results|>: None<eor>"}}},
    {"conversation_id": 5, "chat": {"turn_1": {**MT, "MOSS": "<|MOSS|>: <eom>"}}},
    {"conversation_id": 6, "chat": {"turn_1": {**MT, "Human": None}}},
    {"conversation_id": 7, "chat": {}},
    {"conversation_id": 8, "chat": None},
    {"conversation_id": 9, "chat": {"turn_1": MT, "turn_2": None}},
    {"conversation_id": 10, "chat": {"turn_1": {"Human": "q", "MOSS": "a \u3000"}}},
    {"conversation_id": None, "chat": {"turn_1": MT}},
    {"chat": {"turn_1": MT}},
    {"conversation_id": 13, "chat": {"turn_1": {"Human": "\u3000<|H|>\u2003:\n q", "MOSS": "a<eom>\n\n"}}},
]
MOSS_TIED_TURNS = [{"conversation_id": "a", "meta_instruction": 5, "chat": {"turn_1": {"Human": "q", "MOSS": 7}}},
                   {"conversation_id": "b", "meta_instruction": 6, "chat": {"turn_1": {"Human": "q", "MOSS": 8},
                                                                             "t1": {"Human": "q", "MOSS": 9}}}]
MOSS_TEXT_TURNS = [{"conversation_id": "c", "chat": {"turn_1": "hi"}}, {"conversation_id": "d", "chat": {"turn_2": "x"}}]

def _node(text, role, rank=None, replies=(), **more):
    return {"text": text, "role": role, "rank": rank, "replies": None if replies is None else list(replies), **more}


OASST = [
    {"message_tree_id": "t1", "tree_state": "ready", "prompt": _node("q", "prompter", replies=[
        _node("a2", "assistant", 1, [_node("q2", "prompter", replies=[_node("b", "assistant", 0)])]),
        _node("a1", "assistant", 0, [_node("q3", "prompter")]),
        _node("a3", "assistant", None)])},
    {"message_tree_id": "t2", "tree_state": "ready", "prompt": _node("q", "prompter", replies=[
        _node("x", "assistant", 0, deleted=True), _node("y", "assistant", 1), _node("z", "assistant", 1),
        _node(" ", "assistant", 2), _node("w", "assistant", 3, review_result=False),
        _node("v", "critic", 4), _node("u", "assistant", 5.5)])},
    {"message_tree_id": "t3", "tree_state": "ready", "prompt": _node("q", "prompter")},
    {"message_tree_id": "t4", "tree_state": "ready", "prompt": _node("q", "assistant", replies=[_node("a", "assistant")])},
    {"message_tree_id": "t5", "tree_state": "ready", "prompt": _node(" ", "prompter", replies=[_node("a", "assistant")])},
    {"message_tree_id": "t6", "tree_state": "ready", "prompt": None},
    {"message_tree_id": "t7", "tree_state": "ready", "prompt": _node("q", "prompter", replies=[
        _node("same", "assistant", 0), _node("same", "assistant", 1)])},
    {"message_tree_id": "", "tree_state": "ready", "prompt": _node("q", "prompter", replies=[
        _node("a", "assistant", 0, [_node("q2", "prompter", replies=[_node("b", "assistant", 1),
                                                                     _node("c", "assistant", 0)])]),
        _node("d", "assistant", 1, deleted=False, review_result=True)])},
    {"tree_state": "ready", "prompt": _node("q", "prompter", replies=[_node("a", "assistant", 0, replies=None)])},
    {"message_tree_id": None, "prompt": {"role": "prompter", "replies": [_node("a", "assistant")]}},
]
OASST_INT_IDS = [{"message_tree_id": 0, "prompt": _node("q", "prompter", replies=[_node("a", "assistant", 0),
                                                                                  _node("b", "assistant", 1)])},
                 {"message_tree_id": 7, "prompt": _node("q", "prompter", replies=[_node("a", "assistant", 0),
                                                                                  _node("b", "assistant", 1)])}]
OASST_ODD = [{"message_tree_id": "o", "prompt": _node("q", "prompter", replies=[_node("a", "assistant", "first")])}]

SEED_NUMBER_INPUT = [{"id": 1, "instruction": "i", "instances": [{"input": 1, "output": "o"}]}]

CASES = {
    "sharegpt": [(SHAREGPT, {}), (SHAREGPT, {"roles": {"Narrator": "system", "İ": "user"}}),
                 (SHAREGPT_META, {}), (SHAREGPT_INT_IDS, {}), (SHAREGPT_ODD_TYPES, {}), (SHAREGPT_WRONG_TYPES, {})],
    "openai-messages": [(OPENAI, {}), (OPENAI, {"roles": {"critic": "user"}}),
                        ([{"m": [{"r": "user", "c": "q"}, {"r": "assistant", "c": "a"}]}],
                         {"messages": "m", "role": "r", "content": "c"})],
    "conversation-pairs": [(PAIRS, {}),
                           ([{"conversation_id": "", "id": 3, "conversation": [{"human": "q", "assistant": "a"}]},
                             {"conversation_id": "c", "conversation": [{"human": "q", "assistant": "a"}]}], {})],
    "hh-rlhf": [(HH, {})],
    "pairwise": [(PAIRWISE, {}), (PAIRWISE, {"score_chosen": "sc", "score_rejected": "sr"}),
                 ([{"prompt": "q", "chosen": "a", "rejected": "b", "sc": True, "sr": False}],
                  {"score_chosen": "sc", "score_rejected": "sr"}),
                 (PAIRWISE_HH, {"prompt_format": "hh"})],
    "medical-qa": [(MEDICAL, {}), (MEDICAL, {"question": "answer", "answer": "ask"}), (MEDICAL_NUMBERS, {})],
    "ultrachat": [(ULTRACHAT, {}), (ULTRACHAT_IDS, {}), ([{"turns": ["q", "a"], "id": 3}], {"messages": "turns"})],
    "seed-tasks": [(SEED, {}), (SEED_NUMBER_INPUT, {}),
                   ([{"id": 1, "instruction": "i", "instances": [{"output": "o"}, {"output": "p"}]}], {})],
    "pku-saferlhf": [(PKU, {}), (PKU, {"by": "safer"}), (PKU_TEXT_IDS, {}), (PKU_FLOAT_IDS, {})],
    "hc3": [(HC3, {}), (HC3, {"prefer": "chatgpt"})],
    "pairwise-votes": [(VOTES, {}), (VOTES, {"prompt": "instruction", "votes": ["annotator2", "annotator1"]}),
                       (VOTES_FLOAT, {})],
    "ranked-answers": [(RANKED, {}), (RANKED, {"pairs": "best-vs-rest"}), (RANKED_FLOATS, {"pairs": "best-vs-rest"}),
                       (RANKED_FLOATS, {"text": "t", "score_field": "s"})],
    "sharegpt-pairwise": [(SHAREGPT_PAIRWISE, {}), (SHAREGPT_PAIRWISE, {"roles": {"alien": "user", "None": "user"}}),
                          (SHAREGPT_PAIRWISE_NO_FROM, {}), (SHAREGPT_PAIRWISE_NO_FROM, {"roles": {"gpt": "user"}}),
                          ([{"conv": [SP_Q], "chosen": {"from": "gpt", "value": "a"},
                             "rejected": {"from": "gpt", "value": "b"}}], {"messages": "conv"})],
    "conversational-preference": [(CONVERSATIONAL, {}), (CONVERSATIONAL, {"roles": {"critic": "assistant"}}),
                                  (CONVERSATIONAL_SCORES, {}), (CONVERSATIONAL_STRINGS, {}),
                                  ([{"p": [{"r": "user", "c": "q"}], "a": [{"r": "assistant", "c": "x"}],
                                     "b": [{"r": "assistant", "c": "y"}], "s1": 2, "s2": 1}],
                                   {"prompt": "p", "chosen": "a", "rejected": "b", "role": "r", "content": "c",
                                    "score_chosen": "s1", "score_rejected": "s2"})],
    "belle-multiturn": [(BELLE, {}), ([{"text": "Human: q\nAssistant:", "reply": "a"}],
                                       {"instruction": "text", "output": "reply"})],
    "moss": [(MOSS, {}), (MOSS, {"system": False, "inner_thoughts": True}),
             (MOSS_TIED_TURNS, {}), (MOSS_TEXT_TURNS, {})],
    "oasst1": [(OASST, {}), (OASST, {"paths": "all"}), (OASST_INT_IDS, {}), (OASST_ODD, {})],
    "oasst1-pairs": [(OASST, {}), (OASST_INT_IDS, {}), (OASST_ODD, {})],
    "alpaca": [([{"instruction": " q ", "input": "\u3000", "output": "a"}, {"instruction": "", "output": "x"},
                 {"instruction": "q", "output": "a", "id": "meta"}], {})],
}

# cases whose every row the twins leave to the record function (types they do not decide)
ALL_LEFT = (SHAREGPT_ODD_TYPES, SHAREGPT_WRONG_TYPES, MEDICAL_NUMBERS, ULTRACHAT_IDS, SEED_NUMBER_INPUT, MOSS_TIED_TURNS,
            MOSS_TEXT_TURNS, OASST_ODD)


def _outputs(directory):
    manifest = json.loads((directory / "manifest.json").read_text())
    split = manifest["splits"]["train"]
    rows = [r for shard in split["shards"] for r in pq.read_table(directory / shard).to_pylist()]
    rejects = directory / "train.rejects.jsonl"
    return rows, rejects.read_text() if rejects.exists() else "", {k: split[k] for k in ("read", "written", "rejected")}


def _run(tmp_path, name, raw, reader, options, label):
    out = tmp_path / label
    normalize({"train": [(raw, raw.name)]}, FormatSpec(reader, name, options), source="src", out_dir=out)
    return _outputs(out)


def _spy(monkeypatch, name) -> list[int]:
    """Watch the table twin of ``name``: how many rows it converted, per call."""
    conv = REGISTRY[name]
    calls: list[int] = []

    def spy(table, o, *nulls):
        result = conv.table(table, o, *nulls)
        calls.append(0 if result is None else table.num_rows - len(result.leave))
        return result

    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(conv, table=spy))
    return calls


def _reference(monkeypatch, name):
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(REGISTRY[name], batch=None, table=None))


@pytest.mark.parametrize("name,case", [(name, i) for name, cases in CASES.items() for i in range(len(cases))])
@pytest.mark.parametrize("chunk", [1 << 20, 300])
def test_jsonl_fast_path_matches_the_record_function(tmp_path, monkeypatch, name, case, chunk):
    records, options = CASES[name][case]
    lines = [json.dumps(r, ensure_ascii=False) for r in records * max(3, 24 // len(records))]
    if chunk < 1000:  # small chunks: some hold a blank or a broken line and go back to the record path
        lines.insert(4, "")
        lines.insert(9, '{"broken": ')
    raw = tmp_path / "data.jsonl"
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(arrowpath, "CHUNK", chunk)
    calls = _spy(monkeypatch, name)
    fast = _run(tmp_path, name, raw, "jsonl", options, "fast")
    _reference(monkeypatch, name)
    slow = _run(tmp_path, name, raw, "jsonl", options, "slow")
    assert fast[2] == slow[2]
    assert fast[1] == slow[1]
    assert fast[0] == slow[0]
    if not any(records is odd for odd in ALL_LEFT):
        assert any(calls), "the twin converted nothing: the test does not test it"


@pytest.mark.parametrize("name,case", [(name, i) for name, cases in CASES.items() for i in range(len(cases))])
def test_batch_twin_matches_the_record_function(tmp_path, monkeypatch, name, case):
    """A gzipped JSON array takes the record path (ijson), whose batches go through the batch twin."""
    import gzip

    records, options = CASES[name][case]
    raw = tmp_path / "data.json.gz"
    raw.write_bytes(gzip.compress(json.dumps(records * 2 + ["not an object"], ensure_ascii=False).encode()))
    conv = REGISTRY[name]
    calls = []
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(
        conv, table=None, batch=lambda rs, o: calls.append(len(rs)) or conv.batch(rs, o)))
    twin = _run(tmp_path, name, raw, "json", options, "twin")
    assert calls, "the batch twin did not run"
    _reference(monkeypatch, name)
    ref = _run(tmp_path, name, raw, "json", options, "ref")
    assert twin == ref


@pytest.mark.parametrize("name,case", [(name, i) for name, cases in CASES.items() for i in range(len(cases))])
def test_json_array_fast_path_matches_the_record_function(tmp_path, monkeypatch, name, case):
    """A JSON array, pretty-printed, cut into items in small blocks: the same as the record path (ijson)."""
    records, options = CASES[name][case]
    items = records * max(3, 24 // len(records))
    items.insert(len(items) // 2, "not an object")
    raw = tmp_path / "data.json"
    raw.write_text(json.dumps(items, ensure_ascii=False, indent=2), encoding="utf-8")
    monkeypatch.setattr(arrowpath, "CHUNK", 700)
    calls = _spy(monkeypatch, name)
    fast = _run(tmp_path, name, raw, "json", options, "fast")
    if not any(records is odd for odd in ALL_LEFT):
        assert any(calls), "the twin converted nothing: the test does not test it"
    _reference(monkeypatch, name)
    assert fast == _run(tmp_path, name, raw, "json", options, "slow")


def test_batch_twin_steps_aside_for_nan_scores(tmp_path, monkeypatch):
    """orjson writes NaN as null; the record function keeps float('nan') as the score, so the twin must not run."""
    raw = tmp_path / "data.json"
    raw.write_text('[{"prompt": "q", "chosen": "a", "rejected": "b", "sc": NaN}]')
    options = {"score_chosen": "sc"}
    batch = REGISTRY["pairwise"].batch
    assert batch([{"prompt": "q", "chosen": "a", "rejected": "b", "sc": float("nan")}], options) is None
    rows, _, counts = _run(tmp_path, "pairwise", raw, "json", options, "nan")
    assert counts["written"] == 1 and rows[0]["score_chosen"] != rows[0]["score_chosen"]


def test_twins_keep_rows_in_file_order_when_the_record_function_keeps_a_left_row(tmp_path, monkeypatch):
    """A row the twin leaves but the record function keeps (a float id) is written where it was read."""
    records = [{"id": f"r{i}", "conversations": [T, G]} for i in range(5)]
    lines = [json.dumps(r) for r in records]
    lines[2] = json.dumps({"id": 2.0, "conversations": [T, G]}).replace("2.0", "2")  # an int ...
    lines[3] = json.dumps({"id": 3.5, "conversations": [T, G]})  # ... in a column pyarrow types as double
    raw = tmp_path / "data.jsonl"
    raw.write_text("\n".join(lines) + "\n")
    rows, _, counts = _run(tmp_path, "sharegpt", raw, "jsonl", {}, "fast")
    assert [r["id"] for r in rows] == ["r0", "r1", "2", "data.jsonl:4", "r4"]
    _reference(monkeypatch, "sharegpt")
    assert _run(tmp_path, "sharegpt", raw, "jsonl", {}, "slow")[0] == rows


def test_every_chat_and_preference_converter_with_many_rows_has_twins():
    for name in ("alpaca", "sharegpt", "openai-messages", "conversation-pairs", "hh-rlhf", "pairwise"):
        assert REGISTRY[name].table is not None and REGISTRY[name].batch is not None, name


def test_json_arrays_are_streamed_and_read_like_before(tmp_path):
    import io

    from llmdata.normalize.readers import ReadError, iter_json_auto, iter_json_array

    records = [{"i": i, "text": "x" * 100, "f": i / 3} for i in range(20_000)]
    data = json.dumps(records).encode()

    class Counting(io.BufferedReader):
        consumed = 0

        def read(self, size=-1):
            chunk = super().read(size)
            Counting.consumed += len(chunk)
            return chunk

    items = iter_json_auto(Counting(io.BytesIO(data)), "a.json")
    assert next(items)[1] == records[0]
    assert Counting.consumed < len(data) // 4  # the first item came before the rest was read
    assert [r for _, r in items] == records[1:]
    for raw in (b'\xef\xbb\xbf[{"a": 1}, {"a": [1.5, null]}]', b'[{"a": 1}, {"a": NaN}, {"b": "c"}]', b"[]"):
        streamed = list(iter_json_auto(io.BufferedReader(io.BytesIO(raw)), "a.json"))
        whole = list(iter_json_array(raw.removeprefix(b"\xef\xbb\xbf"), "a.json"))
        assert [(tuple(p), repr(r)) for p, r in streamed] == [(tuple(p), repr(r)) for p, r in whole]
    for damaged in (b'[{"a": 1}, {"a": ', b'[{"a": 1}] trailing'):
        with pytest.raises(ReadError):
            list(iter_json_auto(io.BufferedReader(io.BytesIO(damaged)), "a.json"))


def test_hh_transcript_split_matches_the_record_parser_on_random_transcripts():
    """Turn marks found in the data buffer give parse_hh_transcript's turns, row by row, or leave the row."""
    import random

    import pyarrow as pa

    from llmdata.normalize.converters.base import Reject
    from llmdata.normalize.converters.columnar_hh import hh_turns
    from llmdata.normalize.converters.preference import parse_hh_transcript

    rng = random.Random(7)
    parts = ["\n\nHuman:", "\n\nAssistant:", "Human:", "Assistant:", "\n", "\n\n", " ", "x", "问", "\u3000", "\x85",
             "\n\nHu", "man:", "\x00", "\n\nHuman: ", "\n\nAssistant: "]
    texts = [None, "", "Human:", "\n\nHuman:"] + ["".join(rng.choices(parts, k=rng.randint(0, 12))) for _ in range(3000)]
    array = pa.array(texts, pa.string())
    for sliced in (array, array.slice(5, 2000)):
        turns = hh_turns(sliced)
        assert turns.ok.sum() > 300
        for r, text in enumerate(sliced.to_pylist()):
            try:
                expected = [(m["role"], m["content"]) for m in parse_hh_transcript(text)]
            except Reject:
                expected = None
            if not turns.ok[r]:
                assert expected is None or not expected, repr(text)
                continue
            index = list(range(turns.starts[r], turns.starts[r] + turns.lengths[r]))
            got = list(zip([("system", "user", "assistant")[c] for c in turns.codes[index]],
                           turns.take(index).to_pylist()))
            assert got == expected, repr(text)
            assert list(turns.blank[index]) == [not c for _, c in expected]


def test_the_space_class_is_what_python_strips_and_re_matches():
    """SPACES: the code points str.strip() trims (and pyarrow's utf8_trim_whitespace) and re's \\s matches."""
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    from llmdata.normalize.converters.columnar import SPACE_CLASS, SPACES

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    assert [ord(c) for c in chars if c.isspace()] == list(SPACES)
    assert [ord(c) for c in chars if re.fullmatch(r"\s", c)] == list(SPACES)
    trimmed = pc.utf8_trim_whitespace(pa.array([f"{c}x{c}" for c in chars])).to_pylist()
    assert [ord(c) for c, t in zip(chars, trimmed) if t == "x"] == list(SPACES)
    matched = pc.match_substring_regex(pa.array(chars), f"^{SPACE_CLASS}$").to_pylist()
    assert [ord(c) for c, m in zip(chars, matched) if m] == list(SPACES)


def test_belle_marks_match_the_record_parser_on_random_texts(tmp_path, monkeypatch):
    """Random 'Human:/Assistant:' texts, whitespace of every kind: the twin keeps what the record function keeps."""
    import random

    rng = random.Random(11)
    parts = ["Human", "Assistant", ":", "：", "\n", " ", "\u3000", "\x85", "\x1c", "x", "问", "\nHuman:", "\nAssistant:"]
    records = [{"instruction": "".join(rng.choices(parts, k=rng.randint(1, 14))), "output": rng.choice(["a", " "])}
               for _ in range(3000)]
    raw = tmp_path / "data.jsonl"
    raw.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    calls = _spy(monkeypatch, "belle-multiturn")
    fast = _run(tmp_path, "belle-multiturn", raw, "jsonl", {}, "fast")
    assert sum(calls) > 200
    _reference(monkeypatch, "belle-multiturn")
    slow = _run(tmp_path, "belle-multiturn", raw, "jsonl", {}, "slow")
    assert fast == slow
    assert 200 < fast[2]["written"] < 2800


def test_moss_text_matches_the_record_function_on_random_texts():
    import random

    import pyarrow as pa

    import numpy as np

    from llmdata.normalize.converters.chat import _moss_text
    from llmdata.normalize.converters.columnar_moss import _cuts, moss_text

    rng = random.Random(5)
    parts = ["<|", "|>", "Human", ":", "：", " ", "\n", "\t", "\u3000", "\x85", "\xa0", "\u2003", "\u2028", "\u205f",
             "\u1680", "\x1c", "<eoh>", "<eom>", "<e", ">", "e", "ab", "<", "x", "None", "|", "。", "’", "问"]
    texts = [None, "", "None", " None ", "<||>:x", "<|a|> :x", "<|a|>:", "<|a|>:<eoh>", "x<ab>", "<|H|>: q<eoh>\n"] + \
        ["".join(rng.choices(parts, k=rng.randint(0, 12))) for _ in range(20000)]
    got = moss_text(pa.array(texts, pa.string()), len(texts)).to_pylist()
    assert got == [_moss_text(t) for t in texts]
    sliced = pa.array(texts, pa.string()).slice(7, 5000)  # cut from a buffer that holds other values around them
    assert moss_text(sliced, len(sliced)).to_pylist() == [_moss_text(t) for t in texts[7:5007]]
    typical = pa.array(["<|Human|>: 你好<eoh>\n", "<|MOSS|>: a。<eom>\n", "You are MOSS.", "<|Results|>:\nNone<eor>\n"])
    offsets = np.frombuffer(typical.buffers()[1], dtype=np.int32).astype(np.int64)
    assert not _cuts(np.frombuffer(typical.buffers()[2], dtype=np.uint8), offsets)[2].any()  # no regex needed
    assert moss_text(pa.array([1, 2]), 2).to_pylist() == ["", ""]


_ITEM = '{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}'
ARRAY_EDGES = {
    "strings with brackets": '[{"id": "a]},{[", "conversations": [{"from": "human", "value": "q \\"],\\\\"},'
                             ' {"from": "gpt", "value": "\\\\\\\\"}]}, 5, {"conversations": []}]',
    "empty": "[]",
    "blank": " \n [ \n ] \n",
    "nan in an item": '[{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "s": NaN},'
                      ' {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}]',
    "big integer": '[{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}],'
                   ' "n": 123456789012345678901234567890}]',
    "trailing bytes": '[{"conversations": []}] x',
    "truncated": '[{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, {"conv',
    "line break in a string": '[{"conversations": [{"from": "human", "value": "q\nq"}, {"from": "gpt", "value": "a"}]}]',
    "empty item": '[{"conversations": []},,{"conversations": []}]',
    "brace closes": '[{"conversations": []}}]',
    "items, then trailing bytes": "[" + ", ".join([_ITEM] * 12) + "] x",  # cut stops with chunks still parsing
    "items, then truncated": "[" + ", ".join([_ITEM] * 12) + ', {"conv',
    "crlf between items": '[{"id": "x", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}'
                          '\r\n,\r\n{"conversations": [{"from": "gpt", "value": "a"}]}]',
}


@pytest.mark.parametrize("case", list(ARRAY_EDGES))
def test_json_array_edges_give_what_the_record_path_gives(tmp_path, monkeypatch, case):
    """Damaged or odd arrays: the same rows and rejects, or the same error, as the record path."""
    raw = tmp_path / "data.json"
    raw.write_text(ARRAY_EDGES[case], encoding="utf-8")
    monkeypatch.setattr(arrowpath, "CHUNK", 40)

    def outcome(label):
        try:
            return _run(tmp_path, "sharegpt", raw, "json", {}, label)
        except Exception as exc:  # noqa: BLE001 - the error itself is compared
            return type(exc).__name__, str(exc)

    fast = outcome("fast")
    _reference(monkeypatch, "sharegpt")
    assert fast == outcome("slow")


def test_json_array_split_gives_the_items_json_gives_on_random_arrays(tmp_path):
    """Random nested values with quotes, backslashes, brackets and commas in their strings, pretty-printed or not,
    cut in blocks of a few bytes: the lines are the items, one each."""
    import random

    from llmdata.normalize import jsonarray

    rng = random.Random(3)
    alphabet = ['"', "\\", ",", "[", "]", "{", "}", "a", " ", "\u3000", "\\n", "é"]

    def value(depth=0):
        pick = rng.random()
        if depth > 2 or pick < 0.4:
            return "".join(rng.choices(alphabet, k=rng.randint(0, 6)))
        if pick < 0.5:
            return rng.choice([0, -1.5, 10**30, True, None])
        if pick < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {"".join(rng.choices(alphabet, k=3)) + str(i): value(depth + 1) for i in range(rng.randint(0, 3))}

    for _ in range(40):
        items = [value() for _ in range(rng.randint(0, 12))]
        text = json.dumps(items, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1, "\t"]))
        path = tmp_path / "a.json"
        path.write_text(text, encoding="utf-8")
        got = [json.loads(line) for lines, _ in jsonarray.items(path, rng.randint(5, 60))
               for line in bytes(lines).split(b"\n")]
        assert got == items, text


@pytest.mark.parametrize("name,options", [("oasst1", {}), ("oasst1", {"paths": "all"}), ("oasst1-pairs", {})])
def test_tree_twins_match_the_record_functions_on_random_trees(tmp_path, monkeypatch, name, options):
    """Random trees: ranks missing, tied or fractional, nodes deleted, unreviewed, blank or of other roles."""
    import random

    rng = random.Random(13)

    def tree(depth):
        role = rng.choice(["prompter", "assistant", "assistant", "prompter", "moderator"])
        node = {"text": rng.choice([" ", "a", "a"] + [f"t{k}" for k in range(30)]), "role": role,
                "rank": rng.choice([None, 0, 1, 1, 2, 0.5]), "deleted": rng.random() < 0.1,
                "review_result": rng.random() > 0.1}
        if depth < 4 and rng.random() < 0.8:
            node["replies"] = [tree(depth + 1) for _ in range(rng.randint(0, 3))]
        return node

    records = [{"message_tree_id": f"t{i}", "prompt": {**tree(0), "role": rng.choice(["prompter"] * 5 + ["x"])}}
               for i in range(400)]
    raw = tmp_path / "trees.jsonl"
    raw.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    calls = _spy(monkeypatch, name)
    fast = _run(tmp_path, name, raw, "jsonl", options, "fast")
    _reference(monkeypatch, name)
    assert fast == _run(tmp_path, name, raw, "jsonl", options, "slow")
    assert sum(calls) == fast[2]["written"] > 10  # the twin itself converted every tree that makes rows


def test_json_lines_with_a_long_first_line_read_as_json_lines(tmp_path, monkeypatch):
    """A first line longer than a read buffer (8 KiB) is still JSON Lines: line positions, and the fast path."""
    long = {"id": "long", "conversations": [T, {"from": "gpt", "value": "x" * 20_000}]}
    raw = tmp_path / "data.json"
    raw.write_text("\n".join(json.dumps(r) for r in [long, *SHAREGPT[:3]]) + "\n")
    assert arrowpath.is_plain_jsonl(raw)
    calls = _spy(monkeypatch, "sharegpt")
    fast = _run(tmp_path, "sharegpt", raw, "json", {}, "fast")
    assert sum(calls) == 4 and [r["id"] for r in fast[0]] == ["long", "a1", "7", "data.json:4"]
    _reference(monkeypatch, "sharegpt")
    assert _run(tmp_path, "sharegpt", raw, "json", {}, "slow") == fast


def test_meta_built_in_arrow_is_the_record_paths(tmp_path, monkeypatch):
    """Several extra fields: key order per line, nulls and absent keys, escapes, booleans, floats, nested values,
    a key that also appears inside a converted field, a key written with a space before its colon."""
    conv = [T, G]
    lines = [json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a", "conversations": conv, "lang": "zh", "n": 1, "ok": True},
        {"conversations": conv, "id": "b", "lang": "en", "n": -2, "ok": False},
        {"id": "c", "lang": "en", "conversations": conv, "n": 3, "ok": True},
        {"lang": "en", "id": "d", "conversations": conv, "n": 4, "ok": True},
        {"id": "e", "conversations": conv, "lang": None, "n": 5, "ok": True},
        {"id": "f", "conversations": conv, "n": 6},
        {"id": "g", "conversations": conv, "lang": 'quote " and \\ and \n', "n": 7, "ok": True},
        {"id": "h", "conversations": [{"from": "human", "value": "q", "lang": "x"}, G], "lang": "en", "n": 8,
         "ok": True},
        {"id": "i", "conversations": conv, "lang": "é", "n": 9, "ok": True, "f": 1.5},
        {"id": "j", "conversations": conv, "lang": "en", "n": 10, "ok": True, "nested": {"lang": "en"}},
    ]]
    lines.append('{"id": "k", "conversations": ' + json.dumps(conv) + ', "lang" : "en", "n": 11, "ok": true}')
    raw = tmp_path / "data.jsonl"
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
    calls = _spy(monkeypatch, "sharegpt")
    fast = _run(tmp_path, "sharegpt", raw, "jsonl", {}, "fast")
    assert sum(calls) == len(lines)
    _reference(monkeypatch, "sharegpt")
    assert fast == _run(tmp_path, "sharegpt", raw, "jsonl", {}, "slow")


def test_meta_of_key_orders_and_nulls_matches_on_random_records(tmp_path, monkeypatch):
    import random

    rng = random.Random(21)
    records = []
    for i in range(500):
        fields = {"id": f"r{i}", "conversations": [T, G], "lang": rng.choice(["en", "zh", "en", "zh", None, 'a"b']),
                  "n": rng.choice([1, -5, 7, None]), "flag": rng.choice([True, False]), "src": rng.choice(["x", "y"])}
        keys = [k for k in fields if rng.random() > 0.03 or k == "conversations"]
        rng.shuffle(keys) if rng.random() < 0.1 else None
        records.append({k: fields[k] for k in keys})
    raw = tmp_path / "data.jsonl"
    raw.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    from llmdata.normalize import arrowmeta

    parsed = []
    from_lines = arrowmeta._from_lines
    monkeypatch.setattr(arrowmeta, "_from_lines", lambda kept, *a: parsed.append(len(kept)) or from_lines(kept, *a))
    calls = _spy(monkeypatch, "sharegpt")
    fast = _run(tmp_path, "sharegpt", raw, "jsonl", {}, "fast")
    assert sum(calls) > 400 and 0 < sum(parsed) < sum(calls) - 100  # meta built in Arrow and from lines
    _reference(monkeypatch, "sharegpt")
    assert fast == _run(tmp_path, "sharegpt", raw, "jsonl", {}, "slow")


def test_belle_pieces_match_the_regular_expression_split_on_random_texts(monkeypatch):
    """The numpy split gives the regular expression's roles and stripped turns, on texts with every kind of space
    around the words, sliced from a larger buffer too; ordinary transcripts need no regular expression at all."""
    import random

    import pyarrow as pa
    import pyarrow.compute as pc

    from llmdata.normalize.converters.columnar_marks import MARK, belle_pieces

    def split(pieces):
        return [[p if k % 2 else p.strip() for k, p in enumerate(row[1:], 1)] for row in pieces.to_pylist()]

    rng = random.Random(12)
    parts = ["Human", "Assistant", ":", "：", "\n", " ", "\t", "\u3000", "\x85", "\xa0", "\u2003", "\x1c", "x", "问",
             "\nHuman:", "\nAssistant:", "n", "H", "。", "’"]
    texts = pa.array(["".join(rng.choices(parts, k=rng.randint(0, 14))) for _ in range(20000)] + ["", "Human:"])
    for text in (texts, texts.slice(13, 5000)):
        expected = pc.split_pattern(pc.replace_substring_regex(text, MARK, "\x00\\1\x00"), "\x00")
        assert split(belle_pieces(text)) == split(expected)
    plain = pa.array(["Human: 你好\nAssistant: hi\nHuman：q\nAssistant:", "x", "Human: a\n\nAssistant: b。"])
    calls = []
    real = pc.replace_substring_regex
    monkeypatch.setattr(pc, "replace_substring_regex", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert split(belle_pieces(plain)) == [["Human", "你好", "Assistant", "hi", "Human", "q", "Assistant", ""], [],
                                          ["Human", "a", "Assistant", "b。"]]
    assert not calls
