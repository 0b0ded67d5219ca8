"""Hybrid retrieval: dense (clauses and their associated questions, dense.py) + BM25 over
words and over character bigrams, fused by reciprocal rank.

A `Snapshot` is one loaded generation of the index — its vectors (or, for a very large one,
its Chroma collections), every clause, its associated questions, and the BM25 matrices —
and never changes; a rebuild produces a new snapshot and readers switch by taking the new
reference.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .catalog import KIND_ORDER
from .clause import Clause, search_text
from .bm25 import BM25Index
from .dense import Vectors, vectors_of
from .lexical import STOPWORDS, bigrams, dictionary_version, tokenize
from .query import Analysis, QueryTerms, Vocabulary, analyze
from .spelling import Spelling
from .store import IndexStore
from .thesaurus import Thesaurus

log = logging.getLogger(__name__)

CANDIDATES = 30  # taken from each retriever before fusion
RRF_K = 60


@dataclass
class Hit:
    clause: Clause
    dense: float = 0.0  # cosine similarity of the clause (0 when not among the dense candidates)
    dense_rank: int | None = None
    question: float = 0.0  # best cosine similarity of one of its associated questions
    question_rank: int | None = None
    question_votes: int = 0  # how many of its associated questions are among the nearest
    bm25: float = 0.0  # words, with their thesaurus forms
    bm25_rank: int | None = None
    ngram: float = 0.0  # character bigrams
    ngram_rank: int | None = None
    fused: float = 0.0
    rerank: float | None = None

    @property
    def score(self) -> float:
        return self.rerank if self.rerank is not None else self.fused


@dataclass
class Retrieval:
    query: str
    tokens: list[str]
    hits: list[Hit]
    terms: QueryTerms
    degraded: str = ""  # why dense retrieval was skipped, if it was
    dense_scores: list[float] = field(default_factory=list)  # the clause similarities of the dense candidates
    question_scores: list[float] = field(default_factory=list)  # … and of the associated-question candidates


def evidence_text(clause: Clause, questions) -> str:
    """What speaks for a clause answering a question: its search text and the questions
    reviewers associated with it (document expansion, as doc2query does)."""
    return "\n".join([search_text(clause), *questions])


class Snapshot:
    """One generation of the index, loaded: vectors, clauses, their associated questions,
    and the lexical indexes (words and character bigrams) over both."""

    def __init__(self, name: str, pointer: dict, vectors: Vectors, question_vectors: Vectors | None,
                 clauses: list[Clause], questions_of: dict[str, list[str]], words: BM25Index, ngrams: BM25Index):
        self.name = name
        self.pointer = pointer
        self.vectors = vectors
        self.question_vectors = question_vectors
        self.clauses = clauses
        self.row_of = {c.id: i for i, c in enumerate(clauses)}
        self.questions_of = questions_of
        self.words = words
        self.ngrams = ngrams
        self.vocabulary = Vocabulary(words)
        # What the index holds, in the order a refusal lists it.
        firsts = {}
        for c in clauses:
            firsts.setdefault(c.cite_title, (KIND_ORDER.get(c.kind, len(KIND_ORDER)), c.doc_id))
        self.titles = sorted(firsts, key=firsts.get)

    def evidence_text(self, clause: Clause) -> str:
        return evidence_text(clause, self.questions_of.get(clause.id, ()))

    @cached_property
    def spelling(self) -> Spelling:
        """Homophone typos, read against the words of this generation (spelling.py) and the
        function words the index leaves out (多少, 这样: a typo in them makes a question's
        words look unknown too)."""
        return Spelling([*self.words.vocab, *(w for w in STOPWORDS if len(w) > 1)], self.vocabulary.idf)

    def has_questions(self, clause: Clause) -> bool:
        return clause.id in self.questions_of

    def without_questions(self) -> "Snapshot":
        """The same clauses as if no associated questions had been written — what an uploaded
        document looks like. Calibration fits the ranker and the gate on both."""
        texts = [search_text(c) for c in self.clauses]
        return Snapshot(self.name, self.pointer, self.vectors, None, self.clauses, {},
                        BM25Index.build([tokenize(t) for t in texts]), BM25Index.build([bigrams(t) for t in texts]))

    @classmethod
    def load(cls, store: IndexStore, model_id: str, cache_dir: Path | None) -> "Snapshot":
        collection, questions, pointer = store.open_active(model_id)
        clauses = sorted(IndexStore.read_clauses(collection), key=lambda c: c.id)
        questions_of = IndexStore.read_questions(questions)
        texts = [evidence_text(c, questions_of.get(c.id, ())) for c in clauses]
        words, ngrams = cls._lexical(store, pointer, texts, cache_dir)
        return cls(collection.name, pointer, vectors_of(collection), vectors_of(questions) if questions else None,
                   clauses, questions_of, words, ngrams)

    @staticmethod
    def _lexical(store: IndexStore, pointer: dict, texts: list[str],
                 cache_dir: Path | None) -> tuple[BM25Index, BM25Index]:
        """BM25 over words and over bigrams for this generation, from the cache folder when a
        process built them before (with the same tokenizer dictionary)."""
        key = hashlib.sha1(f"{store.settings.chroma_location}|{pointer['active']}|{pointer.get('built_at')}|"
                           f"{len(texts)}|{dictionary_version()}".encode()).hexdigest()[:16]
        folder = cache_dir / f"bm25-{key}" if cache_dir else None
        if folder is not None and folder.is_dir():
            try:
                return BM25Index.load(folder / "words"), BM25Index.load(folder / "ngrams")
            except (OSError, ValueError, KeyError) as exc:
                log.warning("BM25 cache %s unreadable (%s); rebuilding it", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
        words = BM25Index.build([tokenize(t) for t in texts])
        ngrams = BM25Index.build([bigrams(t) for t in texts])
        if folder is not None:
            for stale in cache_dir.glob("bm25-*"):
                shutil.rmtree(stale, ignore_errors=True)
            partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
            try:
                words.save(partial / "words")
                ngrams.save(partial / "ngrams")
                partial.rename(folder)
            except OSError as exc:  # another process saved it first, or the disk is full: serve anyway
                log.warning("could not cache BM25 in %s: %s", folder, exc)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
        return words, ngrams


def top_rows(scores: np.ndarray, k: int) -> list[int]:
    """Rows of the k best positive scores, best first (ties by row): a partial sort, so the
    cost grows with the number of clauses only linearly."""
    if len(scores) > k:
        candidates = np.argpartition(-scores, k)[:k]
    else:
        candidates = np.arange(len(scores))
    ordered = sorted(candidates.tolist(), key=lambda r: (-scores[r], r))
    return [r for r in ordered if scores[r] > 0]


class HybridRetriever:
    """Four rankings fused by reciprocal rank: the clause vectors, the associated-question
    vectors (a question phrased like the cadre's leads to its clause), BM25 over words with
    their thesaurus forms, and BM25 over character bigrams."""

    def __init__(self, snapshot: Snapshot, embeddings: Embeddings, thesaurus: Thesaurus, reranker=None):
        self.snapshot = snapshot
        self.embeddings = embeddings
        self.thesaurus = thesaurus
        self.reranker = reranker

    def search(self, query: str, k: int = 5, focus: str = "") -> Retrieval:
        snap = self.snapshot
        analysis = analyze(query, snap.vocabulary, self.thesaurus, focus)
        hits: dict[str, Hit] = {}

        def rank(field_: str, scored: list[tuple[str, float]]) -> None:
            for position, (cid, score) in enumerate(scored, 1):
                hit = hits.setdefault(cid, Hit(snap.clauses[snap.row_of[cid]]))
                setattr(hit, field_, score)
                setattr(hit, f"{field_}_rank", position)
                hit.fused += 1.0 / (RRF_K + position)

        degraded, dense_scores, question_scores = "", [], []
        try:
            vector = self.embeddings.embed_query(query)
            dense = self._dense(snap.vectors, vector)
            dense_scores = [score for _, score in dense]
            rank("dense", dense)
            if snap.question_vectors is not None:
                votes: dict[str, int] = {}
                asked = self._dense(snap.question_vectors, vector, votes)
                question_scores = [score for _, score in asked]
                rank("question", asked)
                for cid, n in votes.items():
                    hits[cid].question_votes = n
        except Exception as exc:  # the embedding model, or a Chroma server that went away: answer from BM25 alone
            log.warning("dense retrieval failed, using BM25 only: %s", exc)
            degraded = f"向量检索暂不可用，仅用关键词检索 / dense retrieval unavailable: {exc}"
        rank("bm25", self._lexical(snap.words, analysis.lexical))
        rank("ngram", self._lexical(snap.ngrams, ngram_query(analysis)))
        if question_scores:
            # Four rankings ran, and a clause without associated questions (an uploaded document)
            # can be seen by three: its fused score is scaled up to four, or it would lose to any
            # clause that all four see at middling ranks.
            for hit in hits.values():
                if not snap.has_questions(hit.clause):
                    hit.fused *= 4 / 3
        ranked = sorted(hits.values(), key=lambda h: (-h.fused, h.clause.id))
        if self.reranker is not None and ranked:
            ranked = self.reranker.rerank(query, ranked)
        return Retrieval(query, analysis.tokens, ranked[:max(k, 1)], analysis.terms, degraded, dense_scores,
                         question_scores)

    def _lexical(self, index: BM25Index, query: dict[str, float]) -> list[tuple[str, float]]:
        scores = index.scores(query)
        if not scores.any():
            return []
        return [(self.snapshot.clauses[row].id, float(scores[row])) for row in top_rows(scores, CANDIDATES)]

    def _dense(self, vectors: Vectors, vector: list[float],
               votes: dict[str, int] | None = None) -> list[tuple[str, float]]:
        """(clause id, similarity), best first, one entry per clause (a question's record id
        starts with its clause's id); `votes` counts the records found per clause."""
        best: dict[str, float] = {}
        for rid, similarity in vectors.nearest(vector, CANDIDATES):
            cid = rid.split("#", 1)[0]
            if cid in self.snapshot.row_of and cid not in best:
                best[cid] = similarity
            if votes is not None and cid in self.snapshot.row_of:
                votes[cid] = votes.get(cid, 0) + 1
        return list(best.items())


def ngram_query(analysis: Analysis) -> dict[str, float]:
    """The bigrams of the question's words and of their forms (never across two words)."""
    query: dict[str, float] = {}
    for form, weight in analysis.lexical.items():
        for gram in bigrams(form):
            query[gram] = max(query.get(gram, 0.0), weight)
    return query
