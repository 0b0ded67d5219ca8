"""`policy-qa eval`: measure answers against questions with known evidence.

Each line of the file: {"id", "topic", "turns": [..., question], "evidence": [substrings],
"answerable": bool, "split": "calibration"|"test" (optional)}. A citation is correct when any
evidence substring occurs in it. `--split` keeps one half of a set (see eval/split.py).

Figures, per topic and overall: retrieval hit@k (evidence in the top k retrieved clauses),
citation hit (in any cited clause), primary hit (in citation [1]), quote hit (in a quoted
span), refusal precision and recall, answerable questions declined, p50/p95 latency.
`--baseline naive` runs what a LangChain user gets by default on the same embeddings —
RecursiveCharacterTextSplitter(250, 50), Chroma, dense top-3, no refusal — beside it.
"""
from __future__ import annotations

import json
import statistics
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .answer import Answer
from .condense import Turn


class EvalFileError(ValueError):
    pass


@dataclass(frozen=True)
class Item:
    id: str
    topic: str
    turns: list[str]
    evidence: list[str]
    answerable: bool
    split: str = ""

    @property
    def question(self) -> str:
        return self.turns[-1]

    @property
    def history(self) -> list[Turn]:
        return [Turn("user", t) for t in self.turns[:-1]]

    def found_in(self, text: str) -> bool:
        return any(e in text for e in self.evidence)


@dataclass
class Outcome:
    item: Item
    refused: bool
    retrieval_hit: bool
    citation_hit: bool
    primary_hit: bool
    quote_hit: bool
    latency_ms: float
    labels: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    mode: str = "extractive"
    fallback_reason: str = ""
    checks: list[str] = field(default_factory=list)


def load_items(path: Path, split: str = "") -> list[Item]:
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"无法读取评测文件 {path}：{exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            turns = raw["turns"]
            if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
                raise ValueError("turns must be a non-empty list of strings")
            items.append(Item(str(raw["id"]), str(raw.get("topic", "")), turns, list(raw.get("evidence", [])),
                              bool(raw.get("answerable", True)), str(raw.get("split", ""))))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise EvalFileError(f"{path} 第 {n} 行格式错误 / line {n} is malformed: {exc}") from exc
    if split:
        items = [i for i in items if i.split == split]
    if not items:
        raise EvalFileError(f"{path} 中没有评测题目{f'（{split}）' if split else ''} / no questions in the file")
    return items


def outcome_for(item: Item, answer: Answer, retrieved: list[str], latency_ms: float, detail: dict) -> Outcome:
    answered = not answer.refused
    return Outcome(
        item=item,
        refused=answer.refused,
        retrieval_hit=item.answerable and any(item.found_in(t) for t in retrieved),
        citation_hit=item.answerable and answered and any(item.found_in(c.text) for c in answer.citations),
        primary_hit=item.answerable and answered and bool(answer.citations) and item.found_in(answer.citations[0].text),
        quote_hit=item.answerable and answered and any(item.found_in(c.lead_in + c.quote) for c in answer.citations),
        latency_ms=latency_ms,
        labels=[c.label for c in answer.citations],
        detail=detail,
        mode=answer.mode,
        fallback_reason=answer.fallback_reason,
        checks=list(answer.checks),
    )


def run_assistant(assistant, items: list[Item], k: int) -> list[Outcome]:
    outcomes = []
    for item in items:
        response = assistant.answer(item.question, item.history)
        answer = response.answer()
        retrieved = [h.clause.text for h in assistant.search(answer.standalone_question, k).hits]
        detail = {"standalone": answer.standalone_question, "confidence": answer.confidence}
        decision = response.prepared.decision
        if decision is not None:
            detail["gate"] = decision.to_dict()
        detail.update(refusal_reason=answer.refusal_reason, mode=answer.mode,
                      fallback_reason=answer.fallback_reason, checks=answer.checks)
        outcomes.append(outcome_for(item, answer, retrieved, answer.latency_ms, detail))
    return outcomes


def run_naive_baseline(assistant, items: list[Item], k: int) -> list[Outcome]:
    """LangChain defaults on the same corpus and embeddings: 250/50 character chunks, dense top-3."""
    import chromadb
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from .answer import Citation
    from .corpus import corpus_files
    from .loaders import LoadError, load_document

    splitter = RecursiveCharacterTextSplitter(chunk_size=250, chunk_overlap=50)
    texts, metas = [], []
    for path in corpus_files(assistant.settings.corpus_dir):
        try:
            loaded = load_document(path)
        except (LoadError, OSError):
            continue
        for chunk in splitter.split_text(loaded.text):
            texts.append(chunk)
            metas.append({"source": path.name})
    client = chromadb.EphemeralClient(settings=chromadb.Settings(anonymized_telemetry=False))
    # The raw model, without the assistant's query cache, so latencies compare like with like.
    store = Chroma(collection_name=f"naive-{uuid.uuid4().hex[:8]}", embedding_function=assistant.embeddings.inner,
                   client=client)
    store.add_texts(texts, metadatas=metas)
    outcomes = []
    for item in items:
        started = time.perf_counter()
        docs = store.similarity_search(item.question, k=max(k, 3))
        latency = (time.perf_counter() - started) * 1000
        top3 = docs[:3]
        answer = Answer(
            answer="\n".join(d.page_content for d in top3), refused=False, mode="naive",
            citations=[Citation(n=i, doc_id=d.metadata["source"], title=d.metadata["source"],
                                label=d.metadata["source"], short_label=d.metadata["source"], status="",
                                text=d.page_content, quote=d.page_content, lead_in="", score=0.0)
                       for i, d in enumerate(top3, 1)],
        )
        outcomes.append(outcome_for(item, answer, [d.page_content for d in docs[:k]], latency, {}))
    return outcomes


def summarize(outcomes: list[Outcome]) -> dict:
    """Figures overall and per topic."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.item.topic].append(o)
    table = {topic: _figures(group) for topic, group in sorted(groups.items())}
    table["overall"] = _figures(outcomes)
    return table


def _figures(outcomes: list[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]
    refused = [o for o in outcomes if o.refused]
    latencies = sorted(o.latency_ms for o in outcomes)

    def share(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "retrieval_hit_at_k": share(sum(o.retrieval_hit for o in answerable), len(answerable)),
        "citation_hit": share(sum(o.citation_hit for o in answerable), len(answerable)),
        "primary_hit": share(sum(o.primary_hit for o in answerable), len(answerable)),
        "quote_hit": share(sum(o.quote_hit for o in answerable), len(answerable)),
        "refusal_precision": share(sum(not o.item.answerable for o in refused), len(refused)),
        "refusal_recall": share(sum(o.refused for o in unanswerable), len(unanswerable)),
        "answerable_declined": sum(o.refused for o in answerable),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        # LLM mode: how often the model's answer was used, and what the citation check did.
        "llm_answers": sum(o.mode == "llm" for o in outcomes),
        "llm_fallbacks": sum(bool(o.fallback_reason) for o in outcomes),
        "citations_removed": sum(c.startswith(("删除了不存在的引用", "引用 [")) for o in outcomes for c in o.checks),
        "sentences_removed": sum(c.startswith("删除了没有有效依据的句子") for o in outcomes for c in o.checks),
    }


def percentile(sorted_values: list[float], p: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * p / 100
    lo = int(rank)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (rank - lo)


METRICS = [
    ("retrieval_hit_at_k", "检索命中@k"),
    ("citation_hit", "引用命中"),
    ("primary_hit", "首条引用命中"),
    ("quote_hit", "引文命中"),
    ("refusal_precision", "拒答准确率"),
    ("refusal_recall", "拒答召回率"),
    ("answerable_declined", "可答却拒答"),
    ("latency_p50_ms", "延迟 p50 ms"),
    ("latency_p95_ms", "延迟 p95 ms"),
]
LLM_METRICS = [
    ("llm_answers", "大模型作答"),
    ("llm_fallbacks", "回退到摘录"),
    ("citations_removed", "核对删除的引用"),
    ("sentences_removed", "核对删除的句子"),
]


def format_table(results: dict[str, dict], k: int) -> str:
    """Markdown tables: overall (each system side by side), then per topic."""
    systems = list(results)

    def cell(value) -> str:
        if value is None:
            return "—"
        if isinstance(value, float) and value <= 1.0:
            return f"{value:.1%}"
        return str(value)

    lines = [f"| 指标 (k={k}) | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    used_llm = any(results[s]["overall"]["llm_answers"] or results[s]["overall"]["llm_fallbacks"] for s in systems)
    for key, name in METRICS + (LLM_METRICS if used_llm else []):
        lines.append(f"| {name} | " + " | ".join(cell(results[s]["overall"][key]) for s in systems) + " |")
    for system in systems:
        topics = [t for t in results[system] if t != "overall"]
        lines += ["", f"**{system}** per topic", "",
                  "| topic | n | " + " | ".join(name for _, name in METRICS[:6]) + " |",
                  "|---|---|" + "---|" * 6]
        for topic in topics:
            f = results[system][topic]
            lines.append(f"| {topic} | {f['questions']} | " + " | ".join(cell(f[key]) for key, _ in METRICS[:6]) + " |")
    return "\n".join(lines)
