"""BM25 over a fixed list of token lists (clauses' words, or their character bigrams).

The BM25 weight of every (clause, term) pair is computed once per index generation and
kept as one compressed sparse matrix, so a query costs a column slice and a product — no
per-query rebuild. The arrays are saved once and memory-mapped by every process.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from scipy import sparse


class BM25Index:
    """BM25 (k1=1.2, b=0.75) over a fixed list of token lists."""

    def __init__(self, vocab: dict[str, int], weights: sparse.csc_matrix, idf: np.ndarray):
        self.vocab = vocab
        self.weights = weights  # clauses x terms, BM25 weight of each occurrence
        self.idf = idf
        self.max_idf = float(idf.max()) if len(idf) else 1.0

    @classmethod
    def build(cls, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> "BM25Index":
        vocab: dict[str, int] = {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, tokens in enumerate(docs):
            lengths[i] = len(tokens)
            tf: dict[int, int] = {}
            for tok in tokens:
                j = vocab.setdefault(tok, len(vocab))
                tf[j] = tf.get(j, 0) + 1
            rows.extend([i] * len(tf))
            cols.extend(tf.keys())
            counts.extend(tf.values())
        n = max(len(docs), 1)
        tf_matrix = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float32), (np.asarray(rows), np.asarray(cols))),
            shape=(len(docs), len(vocab)), dtype=np.float32,
        )
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab)).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if len(docs) else 1.0
        norm = k1 * (1.0 - b + b * lengths / max(avg, 1e-6))
        tf_matrix = tf_matrix.tocoo()
        data = tf_matrix.data * (k1 + 1.0) / (tf_matrix.data + norm[tf_matrix.row]) * idf[tf_matrix.col]
        weights = sparse.csc_matrix((data.astype(np.float32), (tf_matrix.row, tf_matrix.col)),
                                    shape=tf_matrix.shape)
        return cls(vocab, weights, idf)

    def scores(self, query: dict[str, float]) -> np.ndarray:
        """BM25 of every clause for terms with query-side weights (an expansion counts less
        than the word the cadre typed)."""
        known = [(self.vocab[t], w) for t, w in query.items() if t in self.vocab and w > 0]
        if not known:
            return np.zeros(self.weights.shape[0], dtype=np.float32)
        ids, weights = zip(*known)
        return np.asarray(self.weights[:, list(ids)] @ np.asarray(weights, dtype=np.float32)).ravel()

    def term_weight(self, token: str) -> float:
        """IDF of a term; a term the corpus never uses counts as maximally specific."""
        j = self.vocab.get(token)
        return float(self.idf[j]) if j is not None else self.max_idf

    def save(self, folder: Path) -> None:
        """As plain .npy arrays in a folder of their own, written aside then renamed into place."""
        partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
        partial.mkdir(parents=True, exist_ok=True)
        try:
            terms = sorted(self.vocab, key=self.vocab.get)
            (partial / "terms.txt").write_text("\n".join(terms), encoding="utf-8")
            for name, array in (("idf", self.idf), ("data", self.weights.data), ("indices", self.weights.indices),
                                ("indptr", self.weights.indptr), ("shape", np.asarray(self.weights.shape))):
                np.save(partial / f"{name}.npy", array)
            partial.rename(folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)  # only left if the rename did not happen

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        """Memory-mapped: worker processes on one machine share the pages instead of each
        holding a copy; only the term dictionary is per process."""
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r")
                  for name in ("idf", "data", "indices", "indptr", "shape")}
        terms = (folder / "terms.txt").read_text(encoding="utf-8").split("\n")
        vocab = {t: i for i, t in enumerate(terms)} if terms != [""] else {}
        weights = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                    shape=tuple(int(x) for x in arrays["shape"]), copy=False)
        return cls(vocab, weights, arrays["idf"])
