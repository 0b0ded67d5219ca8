"""Hybrid retrieval: dense (Chroma) + BM25 over jieba tokens, fused by reciprocal rank.

A `Snapshot` is one loaded generation of the index — its Chroma collection, every
clause, and the BM25 matrix — and never changes; a rebuild produces a new snapshot and
readers switch by taking the new reference.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from chromadb.api.models.Collection import Collection
from langchain_core.embeddings import Embeddings

from .catalog import KIND_ORDER
from .clause import Clause
from .lexical import BM25Index, alternatives, tokenize
from .store import IndexStore, search_text

log = logging.getLogger(__name__)

CANDIDATES = 30  # taken from each retriever before fusion
RRF_K = 60


@dataclass
class Hit:
    clause: Clause
    dense: float = 0.0  # cosine similarity (0 when not among the dense candidates)
    dense_rank: int | None = None
    bm25: float = 0.0
    bm25_rank: int | None = None
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
    degraded: str = ""  # why dense retrieval was skipped, if it was
    idf: dict[str, float] = field(default_factory=dict)  # query terms and their synonyms -> idf
    focus: frozenset[str] = frozenset()  # tokens of a follow-up's own words


class Snapshot:
    """One generation of the index, loaded: collection, clauses and BM25."""

    def __init__(self, name: str, pointer: dict, collection: Collection, clauses: list[Clause], bm25: BM25Index):
        self.name = name
        self.pointer = pointer
        self.collection = collection
        self.clauses = clauses
        self.row_of = {c.id: i for i, c in enumerate(clauses)}
        self.bm25 = bm25
        # What the index holds, in the order a refusal lists it.
        firsts = {}
        for c in clauses:
            firsts.setdefault(c.cite_title, (KIND_ORDER.get(c.kind, len(KIND_ORDER)), c.doc_id))
        self.titles = sorted(firsts, key=firsts.get)

    @classmethod
    def load(cls, store: IndexStore, model_id: str, cache_dir: Path | None) -> "Snapshot":
        collection, pointer = store.open_active(model_id)
        clauses = sorted(IndexStore.read_clauses(collection), key=lambda c: c.id)
        bm25 = cls._lexical(store, pointer, clauses, cache_dir)
        return cls(collection.name, pointer, collection, clauses, bm25)

    @staticmethod
    def _lexical(store: IndexStore, pointer: dict, clauses: list[Clause], cache_dir: Path | None) -> BM25Index:
        """BM25 for this generation, from the cache folder when a process built it before."""
        key = hashlib.sha1(f"{store.settings.chroma_location}|{pointer['active']}|{pointer.get('built_at')}|"
                           f"{len(clauses)}".encode()).hexdigest()[:16]
        folder = cache_dir / f"bm25-{key}" if cache_dir else None
        if folder is not None and folder.is_dir():
            try:
                return BM25Index.load(folder)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("BM25 cache %s unreadable (%s); rebuilding it", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
        bm25 = BM25Index.build([tokenize(search_text(c)) for c in clauses])
        if folder is not None:
            for stale in cache_dir.glob("bm25-*"):
                shutil.rmtree(stale, ignore_errors=True)
            try:
                bm25.save(folder)
            except OSError as exc:  # another process saved it first, or the disk is full: serve anyway
                log.warning("could not cache BM25 in %s: %s", folder, exc)
        return bm25


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
    def __init__(self, snapshot: Snapshot, embeddings: Embeddings, reranker=None):
        self.snapshot = snapshot
        self.embeddings = embeddings
        self.reranker = reranker

    def search(self, query: str, k: int = 5, focus: str = "") -> Retrieval:
        snap = self.snapshot
        tokens = tokenize(query)
        focus_tokens = frozenset(tokenize(focus)) if focus else frozenset()
        # BM25 sees the statute synonyms of each term, and a follow-up's own terms twice.
        lexical_query = [f for t in tokens for f in alternatives(t)] + [t for t in tokens if t in focus_tokens]
        hits: dict[str, Hit] = {}
        degraded = ""
        try:
            for rank, (cid, sim) in enumerate(self._dense(query), 1):
                hit = hits.setdefault(cid, Hit(snap.clauses[snap.row_of[cid]]))
                hit.dense, hit.dense_rank = sim, rank
                hit.fused += 1.0 / (RRF_K + rank)
        except Exception as exc:  # a Chroma server that went away: answer from BM25 alone
            log.warning("dense retrieval failed, using BM25 only: %s", exc)
            degraded = f"向量检索暂不可用，仅用关键词检索 / dense retrieval unavailable: {exc}"
        scores = snap.bm25.scores(lexical_query)
        if scores.any():
            for rank, row in enumerate(top_rows(scores, CANDIDATES), 1):
                clause = snap.clauses[row]
                hit = hits.setdefault(clause.id, Hit(clause))
                hit.bm25, hit.bm25_rank = float(scores[row]), rank
                hit.fused += 1.0 / (RRF_K + rank)
        ranked = sorted(hits.values(), key=lambda h: (-h.fused, h.clause.id))
        if self.reranker is not None and ranked:
            ranked = self.reranker.rerank(query, ranked)
        idf = {f: snap.bm25.term_weight(f) for t in tokens for f in alternatives(t)}
        return Retrieval(query, tokens, ranked[:max(k, 1)], degraded, idf, focus_tokens)

    def _dense(self, query: str) -> list[tuple[str, float]]:
        collection = self.snapshot.collection
        n = min(CANDIDATES, len(self.snapshot.clauses))
        if n == 0:
            return []
        vector = self.embeddings.embed_query(query)
        result = collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0])
                if cid in self.snapshot.row_of]
