"""Extractive, grounded answers: the most relevant sentences of the top clauses, verbatim.

Nothing is paraphrased. For each of the best retrieved clauses the composer picks the
sentence that holds most of the question's weighted terms, with the neighbours that answer
nearly as well; a quoted 项 is read together with its 款's lead-in, and a lead-in that ends
in "：" brings its 项 with it. Clauses are then ordered by how well their best sentence,
the whole clause and the retrieval agree, and only those close to the best are cited.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .answer import Answer, Citation
from .clause import Clause
from .evidence import QueryTerms, asks_amount, states_amount
from .retrieval import Hit, Retrieval
from .sentences import sentence_spans
from .store import search_text

CANDIDATES = 6
MAX_CITATIONS = 3
KEEP_RATIO = 0.85  # a further citation must score at least this share of the best one
MIN_SENTENCE_COVERAGE = 0.5  # … and its quote must speak to the question this much
MAX_LIST_QUOTE = 600  # a lead-in brings its whole list of 项 up to this length
MAX_JOINED_QUOTE = 400
NEIGHBOUR_RATIO = 0.9
FOCUS_MISS_FACTOR = 0.6
AMOUNT_BONUS = 0.2  # for a question asking "how many/how long", a sentence stating an amount
# Weights of the clause score: best sentence, whole clause, retrieval rank.
W_SENTENCE, W_CLAUSE, W_RETRIEVAL = 0.45, 0.35, 0.20

NOT_COVERED = "知识库中没有找到相关规定。"


@dataclass(frozen=True)
class Pick:
    hit: Hit
    start: int  # the quote, as offsets into the clause text
    end: int
    sentence_coverage: float
    score: float


def best_span(clause: Clause, terms: QueryTerms, wants_amount: bool = False) -> tuple[int, int, float]:
    """The sentence of the clause that best answers the terms, with a neighbour when the
    neighbour answers nearly as well (a rule and its exception) or adds missing evidence."""
    spans = sentence_spans(clause.text, clause.body_start) or [(clause.body_start, len(clause.text))]

    context = f"{clause.cite_short} {clause.path} "  # every sentence speaks of its document and heading

    def cover(s: int, e: int) -> float:
        text = clause.text[s:e]
        score = terms.coverage(context + clause.lead_in_for(s, e) + text)
        return score + AMOUNT_BONUS if wants_amount and states_amount(text) else score

    scores = [cover(s, e) for s, e in spans]
    # Ties go to the earlier sentence: the general rule, or the lead-in rather than one of its 项.
    i = max(range(len(spans)), key=lambda j: (scores[j], -j))
    (s, e), best = spans[i], scores[i]
    listed = _with_list(clause, s, e)
    if listed != (s, e):
        return (*listed, best)
    # Neighbours that answer nearly as well belong in the quote: a rule and its exception,
    # or several 项 that all apply ("请病假……" under 2, 3 and 4 months).
    lo_i = hi_i = i
    for step in (1, -1):
        j = i + step
        while 0 <= j < len(spans) and scores[j] >= NEIGHBOUR_RATIO * best \
                and max(spans[hi_i][1], spans[j][1]) - min(spans[lo_i][0], spans[j][0]) <= MAX_JOINED_QUOTE:
            lo_i, hi_i = min(lo_i, j), max(hi_i, j)
            j += step
    if (lo_i, hi_i) != (i, i):
        return spans[lo_i][0], spans[hi_i][1], best
    # Otherwise one neighbour may complete the answer with evidence the best sentence lacks.
    for j in (i + 1, i - 1):
        if 0 <= j < len(spans):
            lo, hi = min(s, spans[j][0]), max(e, spans[j][1])
            joint = cover(lo, hi)
            if hi - lo <= MAX_JOINED_QUOTE and joint > best + 0.1:
                return lo, hi, joint
    return s, e, best


def _with_list(clause: Clause, start: int, end: int) -> tuple[int, int]:
    """A quoted lead-in ("……有下列情形之一的：") is meaningless without its 项."""
    if not clause.text[start:end].rstrip().endswith(("：", ":")):
        return start, end
    items = [u for u in clause.units if u.is_item and u.lead_start == start]
    if items and items[-1].end - start <= MAX_LIST_QUOTE:
        return start, items[-1].end
    return start, end


def pick_clauses(retrieval: Retrieval, terms: QueryTerms) -> list[Pick]:
    picks = []
    wants_amount = asks_amount(retrieval.query)
    for rank, hit in enumerate(retrieval.hits[:CANDIDATES]):
        s, e, sentence_cov = best_span(hit.clause, terms, wants_amount)
        clause_cov = terms.coverage(search_text(hit.clause))
        # Retrieval counts by reciprocal rank: fused scores are too close together to compare.
        score = W_SENTENCE * sentence_cov + W_CLAUSE * clause_cov + W_RETRIEVAL / (1 + rank)
        if not terms.mentions_focus(search_text(hit.clause)):
            score *= FOCUS_MISS_FACTOR  # "那事业单位人员呢？" is not answered by a clause on 公务员
        picks.append(Pick(hit, s, e, sentence_cov, score))
    if not picks:
        return []
    picks.sort(key=lambda p: -p.score)
    best = picks[0]
    chosen = [best]
    for pick in picks[1:]:
        if len(chosen) == MAX_CITATIONS:
            break
        if pick.score >= KEEP_RATIO * best.score and pick.sentence_coverage >= MIN_SENTENCE_COVERAGE:
            chosen.append(pick)
    return chosen


def citation(n: int, pick: Pick) -> Citation:
    c = pick.hit.clause
    return Citation(
        n=n, doc_id=c.doc_id, title=c.title, label=c.label_for(pick.start, pick.end),
        short_label=c.short_label_for(pick.start, pick.end), status=c.status, text=c.text,
        quote=c.text[pick.start:pick.end], lead_in=c.lead_in_for(pick.start, pick.end),
        score=round(float(pick.hit.score), 6), clause_id=c.id, source=c.source, start=c.start, end=c.end,
    )


def display_quote(c: Citation) -> str:
    """The quote as a reader sees it: a 项 after its lead-in, blank lines between 项 closed up."""
    quote = f"{c.lead_in}……{c.quote}" if c.lead_in else c.quote
    return re.sub(r"\n\s*\n", "\n", quote)


def compose(question: str, standalone: str, retrieval: Retrieval, terms: QueryTerms) -> Answer:
    picks = pick_clauses(retrieval, terms)
    citations = [citation(n, p) for n, p in enumerate(picks, 1)]
    lines = ["根据知识库中的条文："]
    for c in citations:
        lines.append(f"{c.short_label}：「{display_quote(c)}」[{c.n}]")
    notes = list(dict.fromkeys(p.hit.clause.note for p in picks if p.hit.clause.note))
    if retrieval.degraded:
        notes.append("本次仅使用关键词检索（向量检索暂不可用），结果可能不完整。")
    text = "\n".join(lines) + "".join(f"\n注：{note}" for note in notes)
    return Answer(answer=text, refused=False, citations=citations, question=question,
                  standalone_question=standalone, notes=notes)


def decline(question: str, standalone: str, reason: str, titles: list[str]) -> Answer:
    """The answer when the corpus does not cover the question, saying what it does cover."""
    why = {
        "injection": "本助手只依据知识库中的条文回答，不能按要求改变或忽略这一规则。",
        "out_of_scope": "这个请求不是政策条文问题，超出了本助手的范围。",
    }.get(reason, "本助手只依据知识库中的文件作答，不提供知识库以外的政策解释。")
    scope = "、".join(titles) if titles else "（知识库为空）"
    text = (f"{NOT_COVERED}{why}\n"
            f"目前收录：{scope}。\n请换个说法，或询问这些文件涉及的内容。")
    return Answer(answer=text, refused=True, question=question, standalone_question=standalone,
                  refusal_reason=reason)
