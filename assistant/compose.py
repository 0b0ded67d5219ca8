"""Extractive, grounded answers: the most relevant sentences of the top clauses, verbatim.

Nothing is paraphrased. The clauses come ranked by how likely each is to answer the
question (ranking.py), each with its best quote: the sentence that holds most of the
question's weighted terms, with the neighbours that answer nearly as well; a quoted 项 is
read together with its 款's lead-in, and a lead-in that ends in "：" brings its 项 with it.
The best clause is cited, and the next ones while it is still uncertain that one of them answers.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from .answer import Answer, Citation, with_notes
from .evidence import asked_units, states_amount
from .library import AbsentDocument, Library
from .query import QueryTerms
from .ranking import FEATURES as RANK_FEATURES, Candidate, best_span, rank
from .retrieval import Hit, Retrieval, Snapshot

MAX_CITATIONS = 3
CITE_CONFIDENCE = 0.95  # cite until one of the clauses cited answers with this probability …
MIN_RELEVANCE = 0.05  # … adding no clause less likely than this to answer
OTHER_AUDIENCE = RANK_FEATURES.index("other_audience")
COMPANION_RELEVANCE = 0.3  # a document that applies together with a cited one joins from this likelihood
OTHER_DOCUMENT_RELEVANCE = 0.5  # any other document joins when more likely than not to answer too

ANSWER_LEAD = "根据知识库中的条文："
TENTATIVE_LEAD = "没有找到直接对应的规定，以下条款可能相关："


def pick_clauses(retrieval: Retrieval, snapshot: Snapshot, ranked: list[Candidate] | None = None,
                 tentative: bool = False) -> list[Candidate]:
    """The clauses to cite, most likely to answer first: as few as make it CITE_CONFIDENCE
    likely that one of them answers (each candidate's relevance is a calibrated probability),
    at most MAX_CITATIONS. A tentative answer shows the best few. Citation 1 is a clause for
    whom the question is about and, for a question asking how many or how long, one stating
    the figure, when one is among them."""
    ranked = ranked if ranked is not None else rank(retrieval, snapshot)
    chosen: list[Candidate] = []
    missed = 1.0  # probability that none of the chosen answers
    for candidate in ranked[:MAX_CITATIONS]:
        if chosen and not tentative and (1.0 - missed >= CITE_CONFIDENCE or candidate.relevance < MIN_RELEVANCE):
            break
        chosen.append(candidate)
        missed *= 1.0 - candidate.relevance
    # Citation 1 answers what was asked: a clause for someone else, or one that does not state
    # the amount asked for, goes after those that do.
    units = asked_units(retrieval.query)
    chosen.sort(key=lambda c: (bool(c.features) and c.features[OTHER_AUDIENCE] > 0,
                               bool(units) and not states_amount(c.hit.clause.text[c.start:c.end], units)))
    if units:
        chosen = _with_stated_amounts(chosen, snapshot, retrieval.terms, units)
    return chosen


def _with_stated_amounts(chosen: list[Candidate], snapshot: Snapshot, terms: QueryTerms,
                         units: tuple[str, ...]) -> list[Candidate]:
    """A question asking how long / how many: when a cited 款 does not state the figure and a
    sibling 款 of the same 条 does ("受处分的期间为：警告，六个月……"), the sibling is shown
    right after it."""
    out: list[Candidate] = []
    cited = {c.hit.clause.id for c in chosen}
    for pick in chosen:
        out.append(pick)
        clause = pick.hit.clause
        if states_amount(clause.text[pick.start:pick.end], units) or "-k" not in clause.id:
            continue
        article = clause.id.rsplit("-k", 1)[0]
        siblings = [snapshot.clauses[snapshot.row_of[sid]] for sid in
                    (f"{article}-k{n}" for n in range(1, 10)) if sid in snapshot.row_of and sid not in cited]
        for sibling in [c for c in siblings if states_amount(c.text, units)][:1]:
            s, e, cov = best_span(sibling, terms, units)
            out.append(Candidate(Hit(sibling), s, e, cov, (), pick.relevance))
            cited.add(sibling.id)
    return out[:MAX_CITATIONS + 1]


def display_quote(c: Citation) -> str:
    """The quote as a reader sees it: a 项 after its lead-in, blank lines between 项 closed up."""
    quote = f"{c.lead_in}……{c.quote}" if c.lead_in else c.quote
    return re.sub(r"\n\s*\n", "\n", quote)


def compose(question: str, standalone: str, retrieval: Retrieval, snapshot: Snapshot, library: Library,
            ranked: list[Candidate] | None = None, tentative: bool = False,
            absent: Sequence[AbsentDocument] = ()) -> Answer:
    """The extractive answer. A tentative one (the gate found related clauses but no clear
    answer, or an amount was asked and no quote states one) says so first. `absent`: the
    documents the question names that the corpus lacks (GateDecision.absent)."""
    picks = with_other_documents(pick_clauses(retrieval, snapshot, ranked, tentative), ranked or [], library)
    citations = [Citation.from_clause(n, p.hit.clause, p.start, p.end, p.relevance, library.status_of(p.hit.clause))
                 for n, p in enumerate(picks, 1)]
    units = asked_units(standalone)
    if units and not any(states_amount(c.lead_in + c.quote, units) for c in citations):
        tentative = True
    lines = [TENTATIVE_LEAD if tentative else ANSWER_LEAD]
    for c in citations:
        lines.append(f"{c.short_label}：「{display_quote(c)}」[{c.n}]")
    notes = answer_notes([p.hit.clause for p in picks], snapshot, library, absent)
    if retrieval.degraded:
        notes.append("本次仅使用关键词检索（向量检索暂不可用），结果可能不完整。")
    return Answer(answer=with_notes("\n".join(lines), notes), refused=False, citations=citations, question=question,
                  standalone_question=standalone, notes=notes, confidence="low" if tentative else "high")


def with_other_documents(chosen: list[Candidate], ranked: list[Candidate], library: Library) -> list[Candidate]:
    """Where another document answers too, its best clause joins (up to MAX_CITATIONS): one
    that applies together with a cited one (党纪处分 and 政务处分) from COMPANION_RELEVANCE,
    any other from OTHER_DOCUMENT_RELEVANCE — a law and the provincial opinion may both answer,
    and the cadre should see both, whichever was ranked first."""
    cited_docs = {c.hit.clause.doc_id for c in chosen}
    companions = {d for doc in cited_docs for d in library.companions(doc)} - cited_docs
    for candidate in ranked:
        if len(chosen) >= MAX_CITATIONS:
            break
        doc = candidate.hit.clause.doc_id
        needed = COMPANION_RELEVANCE if doc in companions else OTHER_DOCUMENT_RELEVANCE
        if doc not in cited_docs and candidate.relevance >= needed:
            chosen = [*chosen, candidate]
            cited_docs.add(doc)
    return chosen


def answer_notes(clauses: list, snapshot: Snapshot, library: Library,
                 absent: Sequence[AbsentDocument] = ()) -> list[str]:
    """What a reader must know beside the quotes: a document's own caveat, which of two
    documents prevails or that both apply (and why), and that a document the question names
    is not in the knowledge base (`absent`, as the gate found them in the cadre's turn and the
    question as condensed)."""
    notes = [library.note_of(c) for c in clauses if library.note_of(c)]
    for relation in library.notes_for([c.doc_id for c in clauses]):
        notes.append(f"{relation.note}（依据：{_basis(relation, snapshot)}）")
    notes += [doc.notice for doc in absent]
    return list(dict.fromkeys(notes))


def _basis(relation, snapshot: Snapshot) -> str:
    row = snapshot.row_of.get(relation.basis_clause)
    if row is None or relation.basis_quote not in snapshot.clauses[row].text:
        return relation.basis
    clause = snapshot.clauses[row]
    start = clause.text.index(relation.basis_quote)
    return f"{clause.short_label_for(start, start + len(relation.basis_quote))}：「{relation.basis_quote}」"
