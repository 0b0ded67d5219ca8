"""Optional cross-encoder rerank of the fused candidates (POLICYQA_RERANKER=<name-or-path>)."""
from __future__ import annotations

from pathlib import Path

from .embeddings import EmbeddingError
from .retrieval import Hit
from .clause import search_text

RERANK_DEPTH = 20


class CrossEncoderReranker:
    def __init__(self, name_or_path: str):
        if Path(name_or_path).exists():
            name_or_path = str(Path(name_or_path).resolve())
        try:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(name_or_path, device="cpu")
        except Exception as exc:
            raise EmbeddingError(
                f"无法加载重排序模型 {name_or_path!r}（运行时不联网下载），请设置本地路径 POLICYQA_RERANKER=/path / "
                f"cannot load cross-encoder {name_or_path!r} offline: {exc}"
            ) from exc
        self.model_id = name_or_path

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        head, tail = hits[:RERANK_DEPTH], hits[RERANK_DEPTH:]
        scores = self._model.predict([(query, search_text(h.clause)) for h in head], convert_to_numpy=True)
        for hit, score in zip(head, scores):
            hit.rerank = float(score)
        return sorted(head, key=lambda h: -h.rerank) + tail
