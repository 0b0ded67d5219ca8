"""Vectors shipped beside the corpus, so that a first index build does not embed again what
the same model already embedded for the same text.

`corpus/vectors/<model>.npz` holds, for one embedding model, the vector of every clause
text and associated question of the shipped corpus, keyed by the SHA-1 of the text as the
model saw it (a clause's `vector_key`, a question's `hash`) and by how it was embedded
(passage or query). A build looks each text up and embeds only what is missing — a changed
clause, an uploaded document, another model — so a stale file costs time, never a wrong
vector. `policy-qa index --save-vectors` writes the file from the index just built.
"""
from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .clause import search_text
from .embeddings import embed_queries
from .store import IndexStore, question_records

log = logging.getLogger(__name__)

FOLDER = "vectors"  # inside the corpus folder; the corpus scan reads files only


def seed_path(corpus_dir: Path, model_id: str) -> Path:
    return corpus_dir / FOLDER / f"{re.sub(r'[^0-9A-Za-z._-]+', '-', model_id)}.npz"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class VectorSeed:
    """Vectors by (how embedded, SHA-1 of the text), for one model."""

    def __init__(self, model_id: str, keys: list[str], vectors: np.ndarray):
        self.model_id = model_id
        self.vectors = vectors
        self.row = {key: i for i, key in enumerate(keys)}

    @classmethod
    def load(cls, path: Path, model_id: str) -> "VectorSeed | None":
        """The seed at `path` if it exists, is readable and was made by `model_id`."""
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                seed = cls(str(data["model"]), [str(k) for k in data["keys"]], np.asarray(data["vectors"]))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("shipped vectors %s unreadable (%s): embedding everything", path, exc)
            return None
        return seed if seed.model_id == model_id else None

    @staticmethod
    def save(path: Path, model_id: str, entries: dict[str, list[float]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(entries)
        partial = path.with_name(path.name + ".partial.npz")
        np.savez_compressed(partial, model=np.array(model_id), keys=np.array(keys),
                            vectors=np.array([entries[k] for k in keys], dtype=np.float32))
        partial.replace(path)

    def get(self, key: str) -> list[float] | None:
        row = self.row.get(key)
        return None if row is None else self.vectors[row].tolist()


class SeededEmbeddings(Embeddings):
    """The model, asked only for the texts the seed does not hold; counts what it took from
    the seed. Used for building the index, never for questions asked."""

    def __init__(self, inner: Embeddings, seed: VectorSeed):
        self.inner = inner
        self.seed = seed
        self.model_id = inner.model_id
        self.taken = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._seeded(texts, "passage", self.inner.embed_documents)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._seeded(texts, "query", lambda missing: embed_queries(self.inner, missing))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_queries([text])[0]

    def _seeded(self, texts: list[str], way: str, embed) -> list[list[float]]:
        found = [self.seed.get(f"{way}:{text_key(t)}") for t in texts]
        missing = [t for t, v in zip(texts, found) if v is None]
        fresh = iter(embed(missing) if missing else [])
        self.taken += len(texts) - len(missing)
        return [v if v is not None else next(fresh) for v in found]


def seeded(embeddings: Embeddings, corpus_dir: Path) -> Embeddings:
    """`embeddings` with the corpus's shipped vectors for its model in front, if there are any."""
    seed = VectorSeed.load(seed_path(corpus_dir, embeddings.model_id), embeddings.model_id)
    return embeddings if seed is None else SeededEmbeddings(embeddings, seed)


def save_from_index(store: IndexStore, model_id: str, corpus_dir: Path) -> tuple[Path, int]:
    """Write the seed for `model_id` from the active generation: every clause and associated
    question vector under the key a build looks it up by. The path written and the number of
    vectors."""
    clauses, questions, _ = store.open_active(model_id)
    embedded = {c.id: ("passage", search_text(c)) for c in IndexStore.read_clauses(clauses)}
    if questions is not None:
        records = question_records(IndexStore.read_questions(questions), set(embedded))
        embedded.update({rid: ("query", q.text) for rid, q in records.items()})
    entries: dict[str, list[float]] = {}
    for collection in filter(None, (clauses, questions)):
        ids, vectors = IndexStore.read_vectors(collection)
        for rid, vector in zip(ids, vectors):
            way, text = embedded[rid]
            entries[f"{way}:{text_key(text)}"] = vector
    path = seed_path(corpus_dir, model_id)
    VectorSeed.save(path, model_id, entries)
    return path, len(entries)
