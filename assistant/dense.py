"""Nearest vectors of a query in one collection of a generation (clauses, or associated questions).

Up to EXACT_LIMIT vectors — every corpus of a few documents, the shipped one included — the
snapshot holds them as a matrix read once from Chroma and searches it exactly: one product
of a few thousand rows, well under a millisecond, where a Chroma query costs a few (its
client, its metadata store), and the loaded generation keeps answering if a Chroma server
goes away. Beyond that the matrix would weigh on every worker's memory and load time, and
Chroma's HNSW index answers instead (ef_search high enough to match exact search, store.py).
"""
from __future__ import annotations

import numpy as np
from chromadb.api.models.Collection import Collection

from .store import IndexStore

EXACT_LIMIT = 50_000


class ExactVectors:
    """The vectors of a collection in memory, unit length, searched by one matrix product."""

    def __init__(self, ids: list[str], vectors: np.ndarray):
        self.ids = ids
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(vectors) else 1.0
        self.matrix = np.ascontiguousarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)

    def nearest(self, vector: list[float], n: int) -> list[tuple[str, float]]:
        """(record id, cosine similarity), best first (ties by row)."""
        if not self.ids or n <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        scores = self.matrix @ (query / (np.linalg.norm(query) or 1.0))
        rows = np.argpartition(-scores, n)[:n] if len(scores) > n else np.arange(len(scores))
        return [(self.ids[r], float(scores[r])) for r in sorted(rows.tolist(), key=lambda r: (-scores[r], r))]


class ChromaVectors:
    """A collection too large to hold in memory: Chroma's own (HNSW) search."""

    def __init__(self, collection: Collection):
        self.collection = collection

    def nearest(self, vector: list[float], n: int) -> list[tuple[str, float]]:
        n = min(n, self.collection.count())
        if n <= 0:
            return []
        result = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        return [(rid, 1.0 - float(dist)) for rid, dist in zip(result["ids"][0], result["distances"][0])]


Vectors = ExactVectors | ChromaVectors


def vectors_of(collection: Collection) -> Vectors:
    """The search for a collection: exact in memory when it holds at most EXACT_LIMIT vectors."""
    if collection.count() <= EXACT_LIMIT:
        return ExactVectors(*IndexStore.read_vectors(collection))
    return ChromaVectors(collection)
