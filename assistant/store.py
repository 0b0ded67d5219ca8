"""The clause index in Chroma: built aside, then switched on by a pointer.

Each build writes a new collection `<prefix>-gNNNNNN`. Only when it is complete does the
pointer collection `<prefix>-active` (its metadata: active collection, model, size) name
it, so a reader always finds a whole index. Unchanged clauses (same content hash, same
model) take their vectors from the previous generation instead of being embedded again.
The previous generation is kept until the next build, for readers still holding it.

Works the same on the embedded store in index/ and on a Chroma server.
"""
from __future__ import annotations

import fcntl
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import chromadb
import chromadb.errors
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from langchain_core.embeddings import Embeddings

from .clause import Clause
from .config import Settings

EMBED_BATCH = 16
WRITE_BATCH = 2000
READ_BATCH = 5000

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class IndexUnavailable(RuntimeError):
    """The index cannot serve queries; the message says why and what to do."""


class IndexMissing(IndexUnavailable):
    pass


class IndexModelMismatch(IndexUnavailable):
    pass


@dataclass(frozen=True)
class BuildReport:
    collection: str
    model: str
    total: int
    embedded: int
    reused: int
    removed: int
    kept: int  # clauses of files that failed to load, kept from the previous index
    unchanged: bool
    seconds: float

    def summary(self) -> str:
        if self.unchanged:
            return f"索引已是最新（{self.total} 条）/ index up to date ({self.total} clauses)"
        return (f"索引已更新：共 {self.total} 条，新嵌入 {self.embedded}，复用 {self.reused}，删除 {self.removed}"
                + (f"，保留读取失败文件的旧条文 {self.kept}" if self.kept else "")
                + f"，用时 {self.seconds:.1f} 秒 / index {self.collection}: {self.total} clauses,"
                  f" {self.embedded} embedded, {self.reused} reused, {self.removed} removed")


def search_text(clause: Clause) -> str:
    """What is embedded and tokenised: the clause with the document and heading it sits under."""
    return f"{clause.cite_short} {clause.path}\n{clause.text}"


def connect(settings: Settings) -> ClientAPI:
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.uses_chroma_server:
        try:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                         settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise IndexUnavailable(
                f"无法连接 Chroma 服务器 {settings.chroma_location}（{exc}）。请确认服务器已启动，"
                f"或取消 POLICYQA_CHROMA_HOST 改用本地索引 / cannot reach the Chroma server"
            ) from exc
        return client
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir / "chroma"), settings=chroma_settings)


class IndexStore:
    def __init__(self, settings: Settings, client: ClientAPI | None = None):
        self.settings = settings
        self.client = client or connect(settings)
        self.prefix = settings.collection
        self.pointer_name = f"{self.prefix}-active"
        self._build_lock = threading.Lock()

    # ---- reading -------------------------------------------------------------------
    def pointer(self) -> dict | None:
        try:
            meta = self.client.get_collection(self.pointer_name).metadata or {}
        except chromadb.errors.NotFoundError:
            return None
        return meta if meta.get("active") else None

    def open_active(self, model_id: str) -> tuple[Collection, dict]:
        pointer = self.pointer()
        if pointer is None:
            raise IndexMissing("索引尚未建立，请先运行 `policy-qa index` / the index has not been built yet")
        if pointer.get("model") != model_id:
            raise IndexModelMismatch(
                f"索引由嵌入模型 {pointer.get('model')} 建立，当前设置的是 {model_id}，两者的向量不可比较。"
                f"请运行 `policy-qa index --rebuild` 用当前模型重建索引，或把 POLICYQA_EMBEDDING 改回原模型 / "
                f"the index was built with {pointer.get('model')}, the configured model is {model_id}"
            )
        try:
            return self.client.get_collection(pointer["active"]), pointer
        except chromadb.errors.NotFoundError as exc:
            raise IndexMissing(f"索引集合 {pointer['active']} 不存在，请运行 `policy-qa index --rebuild`") from exc

    @staticmethod
    def read_clauses(collection: Collection) -> list[Clause]:
        clauses: list[Clause] = []
        total = collection.count()
        for offset in range(0, total, READ_BATCH):
            page = collection.get(include=["documents", "metadatas"], limit=READ_BATCH, offset=offset)
            clauses.extend(Clause.from_record(i, d, m)
                           for i, d, m in zip(page["ids"], page["documents"], page["metadatas"]))
        return clauses

    # ---- building ------------------------------------------------------------------
    def build(self, clauses: list[Clause], embeddings: Embeddings, *, keep_sources: Iterable[str] = (),
              rebuild: bool = False, progress: Progress | None = None, resume: bool = False) -> BuildReport:
        """Make the index hold exactly `clauses` (plus the old clauses of `keep_sources`).
        With resume=True, only if an interrupted build is recorded (another process may
        have finished it meanwhile)."""
        model_id = embeddings.model_id
        started = time.monotonic()
        with self._exclusive():
            pointer = self.pointer()
            if resume and not (pointer or {}).get("pending"):
                total = int((pointer or {}).get("clauses", 0))
                return BuildReport((pointer or {}).get("active", ""), model_id, total, 0, 0, 0, 0, True, 0.0)
            old = None
            if pointer and not rebuild and pointer.get("model") == model_id:
                try:
                    old = self.client.get_collection(pointer["active"])
                except chromadb.errors.NotFoundError:
                    old = None
            existing = self._hashes(old) if old is not None else {}
            wanted = {c.id: c for c in clauses}
            keep_sources = set(keep_sources)
            kept = [cid for cid, (_, src) in existing.items() if src in keep_sources and cid not in wanted]
            reuse = [c for c in clauses if existing.get(c.id, ("",))[0] == c.content_hash]
            reuse_ids = {c.id for c in reuse}
            fresh = [c for c in clauses if c.id not in reuse_ids]
            removed = len(set(existing) - set(wanted) - set(kept))
            if old is not None and not fresh and not removed:
                return BuildReport(old.name, model_id, len(existing), 0, len(reuse), 0, len(kept), True,
                                   time.monotonic() - started)

            generation = int((pointer or {}).get("generation", 0)) + 1
            name = f"{self.prefix}-g{generation:06d}"
            if pointer:  # recorded, so that a build killed half-way is finished at the next start
                self._pointer_collection().modify(metadata={**pointer, "pending": name, "pending_rebuild": rebuild})
            self._drop(name)
            target = self.client.create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
                metadata={"model": model_id},
            )
            if old is not None:
                self._copy(old, target, [c.id for c in reuse] + kept, progress)
            self._embed_into(target, fresh, embeddings, progress)
            total = target.count()
            self._switch(name, pointer, model_id, generation, total)
            return BuildReport(name, model_id, total, len(fresh), len(reuse), removed, len(kept), False,
                               time.monotonic() - started)

    def _hashes(self, collection: Collection) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for offset in range(0, collection.count(), READ_BATCH):
            page = collection.get(include=["metadatas"], limit=READ_BATCH, offset=offset)
            for cid, meta in zip(page["ids"], page["metadatas"]):
                out[cid] = (meta.get("hash", ""), meta.get("source", ""))
        return out

    def _copy(self, source: Collection, target: Collection, ids: list[str], progress: Progress | None) -> None:
        for i in range(0, len(ids), WRITE_BATCH):
            batch = ids[i:i + WRITE_BATCH]
            page = source.get(ids=batch, include=["embeddings", "documents", "metadatas"])
            target.add(ids=page["ids"], embeddings=page["embeddings"], documents=page["documents"],
                       metadatas=page["metadatas"])
            if progress:
                progress("复用未变条文 / reusing unchanged clauses", min(i + WRITE_BATCH, len(ids)), len(ids))

    def _embed_into(self, target: Collection, clauses: list[Clause], embeddings: Embeddings,
                    progress: Progress | None) -> None:
        """Embed in small batches (what the model handles well), write in large ones (what a
        Chroma server handles well: one request per WRITE_BATCH clauses, not per 16)."""
        pending: list[tuple[Clause, list[float]]] = []

        def flush() -> None:
            if pending:
                target.add(ids=[c.id for c, _ in pending], embeddings=[v for _, v in pending],
                           documents=[c.text for c, _ in pending],
                           metadatas=[{**c.to_metadata(), "hash": c.content_hash} for c, _ in pending])
                pending.clear()

        for i in range(0, len(clauses), EMBED_BATCH):
            batch = clauses[i:i + EMBED_BATCH]
            pending.extend(zip(batch, embeddings.embed_documents([search_text(c) for c in batch])))
            if len(pending) >= WRITE_BATCH:
                flush()
            if progress:
                progress("嵌入新条文 / embedding new clauses", min(i + EMBED_BATCH, len(clauses)), len(clauses))
        flush()

    def _switch(self, name: str, pointer: dict | None, model_id: str, generation: int, total: int) -> None:
        previous = (pointer or {}).get("active", "")
        meta = {"active": name, "previous": previous, "model": model_id, "generation": generation,
                "clauses": total, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._pointer_collection().modify(metadata=meta)
        # Generations older than the previous one (and leftovers of interrupted builds) go.
        for collection in self.client.list_collections():
            cname = collection if isinstance(collection, str) else collection.name
            if cname.startswith(f"{self.prefix}-g") and cname not in (name, previous):
                self._drop(cname)

    def _pointer_collection(self) -> Collection:
        return self.client.get_or_create_collection(self.pointer_name, embedding_function=None)

    def _drop(self, name: str) -> None:
        try:
            self.client.delete_collection(name)
        except (chromadb.errors.NotFoundError, ValueError):
            pass

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One build at a time: in this process (a lock) and on this machine (a file lock)."""
        with self._build_lock:
            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
            with open(self.settings.index_dir / ".build.lock", "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
