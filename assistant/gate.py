"""The coverage gate: answer only what the corpus covers; decline the rest plainly.

Two checks. First the request itself: a translation, a poem, or an attempt to make the
assistant set its rules aside is not a policy question, whatever words it contains.
Then the evidence: dense scores alone are bunched (related and unrelated policy text
both score 0.82–0.94), so the gate asks how much of the question's vocabulary, weighted
by rarity, one retrieved clause actually contains, and lets a strong dense match lower
that bar. Thresholds were calibrated on eval/dev.jsonl and checked on eval/heldout.jsonl
(`policy-qa eval … --json` prints the features per question).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .answer import Answer
from .evidence import QueryTerms, asks_amount, states_amount
from .retrieval import Retrieval
from .store import search_text

GATE_DEPTH = 5  # clauses examined
MIN_COVERAGE = 0.55  # covered if one clause holds this share of the question's weighted terms …
MIN_COVERAGE_WITH_DENSE = 0.35  # … or this share and a dense similarity of at least
MIN_DENSE = 0.9

_NOT_A_POLICY_QUESTION = re.compile(
    r"翻译|译成|翻成|译为|\btranslate\b|英文怎么说|英语怎么说|写一首|写首|作诗|写诗|写一篇|写篇|写一段|作文|"
    r"讲个笑话|讲笑话|编个故事|写代码|编程|\bcode\b",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|别管|跳过|绕过|抛开|违反)[^。！？\n]{0,12}(规则|指令|指示|设定|限制|提示词|约束|条款|要求|身份)|"
    r"你现在是|你现在扮演|扮演一个|假装你是|进入[^。\n]{0,8}模式|开发者模式|越狱|jailbreak|\bDAN\b|"
    r"system prompt|系统提示|提示词|不受(任何)?限制|ignore (all |the )?(previous|above|prior)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GateDecision:
    covered: bool
    reason: str  # "" when covered; "out_of_scope" | "injection" | "not_covered"
    coverage: float  # best weighted share of question terms found in one clause
    dense: float  # best dense similarity among the clauses examined


def check_request(question: str) -> str:
    """'' for a policy question; otherwise why it is not one."""
    if _INJECTION.search(question):
        return "injection"
    if _NOT_A_POLICY_QUESTION.search(question):
        return "out_of_scope"
    return ""


def decide(question: str, retrieval: Retrieval, terms: QueryTerms) -> GateDecision:
    reason = check_request(question)
    hits = retrieval.hits[:GATE_DEPTH]
    coverage = max((terms.coverage(search_text(h.clause)) for h in hits), default=0.0)
    dense = max((h.dense for h in hits), default=0.0)
    if reason:
        return GateDecision(False, reason, coverage, dense)
    covered = coverage >= MIN_COVERAGE or (coverage >= MIN_COVERAGE_WITH_DENSE and dense >= MIN_DENSE)
    return GateDecision(covered, "" if covered else "not_covered", coverage, dense)


def answers_what_was_asked(question: str, answer: Answer) -> bool:
    """A question asking how many/how long is covered only if a quote states an amount."""
    if not asks_amount(question):
        return True
    return any(states_amount(c.lead_in + c.quote) for c in answer.citations)
