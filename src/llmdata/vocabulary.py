"""Words people search with, mapped to the catalog's controlled values.

A user who types ``医疗`` wants the entries tagged ``medical`` even when a
summary says 医学 or 问诊; the index adds these labels to every entry's
searchable tags. Categories come from the schema's enum (a test keeps both in
step); domains are open, and unknown ones are simply indexed as written.
"""

from __future__ import annotations

CATEGORY_LABELS: dict[str, tuple[str, ...]] = {
    "pretrain": ("pretraining", "corpus", "预训练", "语料"),
    "sft": ("instruction", "instruction-tuning", "fine-tuning", "指令", "微调", "指令微调"),
    "multiturn": ("multi-turn", "conversation", "多轮", "对话"),
    "dialogue": ("conversation", "chit-chat", "对话", "闲聊"),
    "preference": ("rlhf", "dpo", "pairwise", "偏好", "强化学习", "人类反馈"),
    "reward": ("reward-model", "rm", "rlhf", "奖励模型", "奖励"),
    "eval": ("evaluation", "benchmark", "评测", "评估", "基准"),
    "retrieval": ("ir", "search", "ranking", "embedding", "检索", "排序"),
    "multimodal": ("image", "vision", "image-text", "多模态", "图文", "图像"),
    "nlu": ("nlp", "understanding", "reading-comprehension", "mrc", "理解", "阅读理解"),
}

DOMAIN_LABELS: dict[str, tuple[str, ...]] = {
    "general": ("通用",),
    "medical": ("medicine", "health", "clinical", "医疗", "医学", "医药", "健康", "问诊"),
    "math": ("mathematics", "arithmetic", "数学", "算术"),
    "code": ("programming", "coding", "代码", "编程"),
    "law": ("legal", "法律", "司法"),
    "finance": ("financial", "金融", "财经"),
    "safety": ("harmless", "toxicity", "安全", "有害"),
    "science": ("scientific", "科学", "科研"),
    "exam": ("exams", "考试"),
    "reasoning": ("推理",),
    "translation": ("parallel", "翻译", "平行语料"),
    "web": ("crawl", "网页"),
    "ecommerce": ("e-commerce", "shopping", "电商"),
}

LANGUAGE_LABELS: dict[str, tuple[str, ...]] = {
    "zh": ("chinese", "中文", "汉语"),
    "zh-Hant": ("traditional-chinese", "繁体", "繁體"),
    "en": ("english", "英文", "英语"),
    "multi": ("multilingual", "多语言"),
}

HOST_KINDS = ("hf", "github", "url", "modelscope")


def labels_for(category: str, also: list[str], domains: list[str], languages: list[str]) -> list[str]:
    """Every search word that an entry's controlled values stand for."""
    words: list[str] = []
    for c in [category, *also]:
        words += [c, *CATEGORY_LABELS.get(c, ())]
    for d in domains:
        words += [d, *DOMAIN_LABELS.get(d, ())]
    for lang in languages:
        words += [lang, *LANGUAGE_LABELS.get(lang, ())]
        base = lang.split("-")[0]
        if base != lang:
            words += [base, *LANGUAGE_LABELS.get(base, ())]
    seen: dict[str, None] = {}
    for w in words:
        seen.setdefault(w, None)
    return list(seen)
