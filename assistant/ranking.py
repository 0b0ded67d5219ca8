"""Which retrieved clause answers the question: a learned relevance over the fused candidates.

Reciprocal-rank fusion finds the right clause among the first five for most questions, but
puts it first far less often. Each candidate is therefore described by what the four
rankings and the question's terms say about it — its clause and associated-question
similarities (and how far they fall behind the best), its word and bigram BM25 relative to
the best, how much of the question its text, its associated questions and its best
sentence hold, whether it names what a follow-up asked about, whether it states an amount
asked for, whether it is for someone else (audience.py) — and a logistic model (one for
clauses with associated questions, one for clauses without), fitted by `policy-qa calibrate`
on calibration questions only (`data/ranker.json`), turns that into the probability that it
answers the question.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from .audience import default_audiences
from .clause import Clause, search_text
from .evidence import asked_units, states_amount
from .logistic import REGIMES, LogisticModel, read, regime
from .query import QueryTerms
from .retrieval import Hit, Retrieval, Snapshot
from .sentences import sentence_spans

RANK_DEPTH = 20  # candidates scored
MODEL_FILE = Path(__file__).parent / "data" / "ranker.json"
AMOUNT_BONUS = 0.2  # for a question asking "how many/how long", a sentence stating an amount
NEIGHBOUR_RATIO = 0.9
MAX_LIST_QUOTE = 600  # a lead-in brings its whole list of 项 up to this length
MAX_JOINED_QUOTE = 400

FEATURES = ("dense", "dense_gap", "question", "question_gap", "bm25", "ngram", "evidence_coverage",
            "clause_coverage", "sentence_coverage", "fused_position", "focus", "amount_stated", "amount_missing",
            "other_audience", "question_votes")


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    start: int  # the best quote, as offsets into the clause text
    end: int
    sentence_coverage: float
    features: tuple[float, ...]
    relevance: float = 0.0


@dataclass(frozen=True)
class Ranker:
    """The relevance model of each regime: clauses with associated questions, and without."""

    models: dict[str, LogisticModel]
    provenance: dict

    def relevance(self, candidate: Candidate, has_questions: bool) -> float:
        return self.models[regime(has_questions)].probability(candidate.features)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "Ranker":
        data = read(path, FEATURES)
        return cls({r: LogisticModel.from_dict(data[r]) for r in REGIMES}, data.get("provenance", {}))


@lru_cache(maxsize=4)
def load_ranker(path: Path = MODEL_FILE) -> Ranker:
    return Ranker.load(path)


def best_span(clause: Clause, terms: QueryTerms, units: tuple[str, ...] = ()) -> tuple[int, int, float]:
    """The sentence of the clause that best answers the terms, with a neighbour when the
    neighbour answers nearly as well (a rule and its exception) or adds missing evidence. A
    question asking for an amount (`units`, see evidence.py) prefers sentences stating one."""
    spans = sentence_spans(clause.text, clause.body_start) or [(clause.body_start, len(clause.text))]

    context = f"{clause.cite_short} {clause.path} "  # every sentence speaks of its document and heading

    def cover(s: int, e: int) -> float:
        text = clause.text[s:e]
        score = terms.coverage(context + clause.lead_in_for(s, e) + text)
        return score + AMOUNT_BONUS if units and states_amount(text, units) else score

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


def candidates(retrieval: Retrieval, snapshot: Snapshot) -> list[Candidate]:
    """The first RANK_DEPTH fused hits with their best quote and their features, in fused order."""
    terms = retrieval.terms
    units = asked_units(retrieval.query)
    audiences = default_audiences()
    asked = audiences.named_in(retrieval.query)
    hits = retrieval.hits[:RANK_DEPTH]
    dense_floor = min(retrieval.dense_scores, default=0.0)
    question_floor = min(retrieval.question_scores, default=0.0)
    top_dense = max(retrieval.dense_scores, default=0.0)
    top_question = max(retrieval.question_scores, default=0.0)
    top_bm25 = max((h.bm25 for h in hits), default=0.0) or 1.0
    top_ngram = max((h.ngram for h in hits), default=0.0) or 1.0
    out = []
    for position, hit in enumerate(hits):
        s, e, sentence = best_span(hit.clause, terms, units)
        dense = hit.dense if hit.dense_rank is not None else dense_floor
        question = hit.question if hit.question_rank is not None else question_floor
        stated = bool(units) and states_amount(hit.clause.lead_in_for(s, e) + hit.clause.text[s:e], units)
        meant = audiences.named_in(hit.clause.lead_in_for(s, e) + hit.clause.text[s:e]) or frozenset(
            hit.clause.applies_to)
        features = (
            dense, dense - top_dense, question, question - top_question,
            hit.bm25 / top_bm25, hit.ngram / top_ngram,
            terms.coverage(snapshot.evidence_text(hit.clause)), terms.coverage(search_text(hit.clause)),
            sentence, 1.0 / (1 + position), float(terms.mentions_focus(search_text(hit.clause))),
            float(stated), float(bool(units) and not stated), float(audiences.mismatch(asked, meant)),
            float(hit.question_votes),
        )
        out.append(Candidate(hit, s, e, sentence, features))
    return out


def rank(retrieval: Retrieval, snapshot: Snapshot, ranker: Ranker | None = None) -> list[Candidate]:
    """Candidates, most likely to answer the question first."""
    ranker = ranker or load_ranker()
    scored = [replace(c, relevance=ranker.relevance(c, snapshot.has_questions(c.hit.clause)))
              for c in candidates(retrieval, snapshot)]
    return sorted(scored, key=lambda c: (-c.relevance, c.hit.clause.id))
