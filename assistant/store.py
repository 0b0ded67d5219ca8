"""The clause index in Chroma: built aside, then switched on by a pointer.

Each build writes a new collection `<prefix>-gNNNNNN`. Only when it is complete does the
pointer collection `<prefix>-active` (its metadata: active collection, model, size) name
it, so a reader always finds a whole index. Unchanged clauses (same content hash, same
model) take their vectors from the previous generation instead of being embedded again.
The previous generation is kept until the next build, for readers still holding it.

A build records itself in the pointer (`pending`) before it writes; a build killed at any
point is finished by the next build (or app start) from what it had written.

Works the same on the embedded store in index/ and on a Chroma server.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import chromadb
import chromadb.errors
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from langchain_core.embeddings import Embeddings

from .clause import Clause, search_text
from .config import Settings
from .embeddings import embed_queries

EMBED_BATCH = 16
WRITE_BATCH = 2000
FLUSH_SECONDS = 10.0  # embedded records are written at least this often: an interrupted build loses little
READ_BATCH = 5000
# Candidates explored per dense query. Chroma's default (100) let its approximate search miss a
# true top-30 neighbour, differently from one process to the next, so the same question could
# get another answer after a restart; at 1000 the top 30 equals exact search on this corpus
# (and its associated questions) for about 1 ms more per query (bench/latency.py).
EF_SEARCH = 1000

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
    questions: int = 0  # associated questions in the index
    questions_embedded: int = 0
    resumed: bool = False  # it finished a build that had been interrupted
    seeded: int = 0  # of the vectors to embed, those taken from the corpus's shipped vectors (vector_seed.py)

    def summary(self) -> str:
        if self.unchanged:
            return f"索引已是最新（{self.total} 条）/ index up to date ({self.total} clauses)"
        return (("已续完上次中断的索引构建。/ finished an interrupted build. " if self.resumed else "")
                + f"索引已更新：共 {self.total} 条，新嵌入 {self.embedded}，复用 {self.reused}，删除 {self.removed}"
                + (f"，保留读取失败文件的旧条文 {self.kept}" if self.kept else "")
                + f"，关联问题 {self.questions}（新嵌入 {self.questions_embedded}）"
                + (f"，其中 {self.seeded} 个向量取自随附的向量文件" if self.seeded else "")
                + f"，用时 {self.seconds:.1f} 秒 / index {self.collection}: {self.total} clauses,"
                  f" {self.embedded} embedded, {self.reused} reused, {self.removed} removed,"
                  f" {self.questions} associated questions"
                + (f", {self.seeded} vectors from the shipped file" if self.seeded else ""))


@dataclass(frozen=True)
class QuestionRecord:
    """An associated question as the index stores it: a vector that points to its clause."""

    id: str
    clause_id: str
    text: str

    @property
    def hash(self) -> str:
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()


def question_records(questions: dict[str, list[str]], clause_ids: set[str]) -> dict[str, QuestionRecord]:
    """Records of the questions whose clause is in the index (the id is stable per text, so
    an unchanged question keeps its vector however the list around it is edited)."""
    records = {}
    for clause_id, texts in questions.items():
        if clause_id in clause_ids:
            for text in texts:
                rid = f"{clause_id}#{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}"
                records[rid] = QuestionRecord(rid, clause_id, text)
    return records


def clause_metadata(clause: Clause) -> dict:
    """What the index stores with a clause: its metadata, what identifies its content (`hash`,
    for "nothing changed") and its embedded text (`vector_key`, for reusing the vector)."""
    return {**clause.to_metadata(), "hash": clause.content_hash, "vector_key": clause.vector_key}


def question_collection(name: str) -> str:
    """The collection of a generation's associated questions."""
    return f"{name}-q" if name else ""


def _generation(name: str) -> int:
    match = re.search(r"-g(\d+)$", name or "")
    return int(match.group(1)) if match else 0


def _stop_here(stage: str) -> None:
    """Test hook, the only reader of POLICYQA_TEST_KILL_AT: a build run with it set to a stage
    (before-write, mid-write, written, switched) is killed there with SIGKILL, as by a power
    cut (tests/test_interrupted_rebuild.py)."""
    if os.environ.get("POLICYQA_TEST_KILL_AT") == stage:
        os.kill(os.getpid(), signal.SIGKILL)


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

    def open_active(self, model_id: str) -> tuple[Collection, Collection | None, dict]:
        """The active generation: its clauses, its associated questions (None for an index
        built before they existed) and the pointer."""
        pointer = self.pointer()
        if pointer is None:
            raise IndexMissing("索引尚未建立，请先运行 `policy-qa index` / the index has not been built yet")
        if pointer.get("model") != model_id:
            raise IndexModelMismatch(
                f"索引由嵌入模型 {pointer.get('model')} 建立，当前设置的是 {model_id}，两者的向量不可比较。"
                f"请运行 `policy-qa index --rebuild` 用当前模型重建索引，或把 POLICYQA_EMBEDDING 改回原模型 / "
                f"the index was built with {pointer.get('model')}, the configured model is {model_id}"
            )
        collection = self._get(pointer["active"])
        if collection is None:
            raise IndexMissing(f"索引集合 {pointer['active']} 不存在，请运行 `policy-qa index --rebuild`")
        questions = self._get(question_collection(pointer["active"]))
        for searched in (collection, questions):
            if searched is not None and (searched.configuration.get("hnsw") or {}).get("ef_search", 0) < EF_SEARCH:  # built before EF_SEARCH
                searched.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        return collection, questions, pointer

    @staticmethod
    def read_clauses(collection: Collection) -> list[Clause]:
        clauses: list[Clause] = []
        total = collection.count()
        for offset in range(0, total, READ_BATCH):
            page = collection.get(include=["documents", "metadatas"], limit=READ_BATCH, offset=offset)
            clauses.extend(Clause.from_record(i, d, m)
                           for i, d, m in zip(page["ids"], page["documents"], page["metadatas"]))
        return clauses

    @staticmethod
    def read_vectors(collection: Collection) -> tuple[list[str], np.ndarray]:
        """Every record id of a collection and its vector, in one matrix."""
        ids: list[str] = []
        rows: list[np.ndarray] = []
        for offset in range(0, collection.count(), READ_BATCH):
            page = collection.get(include=["embeddings"], limit=READ_BATCH, offset=offset)
            ids.extend(page["ids"])
            rows.append(np.asarray(page["embeddings"], dtype=np.float32))
        return ids, (np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32))

    @staticmethod
    def read_questions(collection: Collection | None) -> dict[str, list[str]]:
        """Associated questions by clause id."""
        out: dict[str, list[str]] = {}
        if collection is None:
            return out
        for offset in range(0, collection.count(), READ_BATCH):
            page = collection.get(include=["documents", "metadatas"], limit=READ_BATCH, offset=offset)
            for text, meta in zip(page["documents"], page["metadatas"]):
                out.setdefault(meta["clause_id"], []).append(text)
        return out

    # ---- building ------------------------------------------------------------------
    def build(self, clauses: list[Clause], embeddings: Embeddings, *, questions: dict[str, list[str]] | None = None,
              keep_sources: Iterable[str] = (), rebuild: bool = False, progress: Progress | None = None,
              resume: bool = False) -> BuildReport:
        """Make the index hold exactly `clauses` (plus the old clauses of `keep_sources`) and
        the associated questions of those clauses. With resume=True, only if an interrupted
        build is recorded (another process may have finished it meanwhile).

        An interrupted build is finished, not redone: if its collections are complete it is
        switched on as it is; otherwise a new generation takes every vector it had written
        (an interrupted rebuild stays a rebuild). Other vectors are reused from the active
        generation unless `rebuild`."""
        model_id = embeddings.model_id
        started = time.monotonic()
        with self._exclusive():
            pointer = self.pointer() or {}
            pending = pointer.get("pending", "")
            if resume and not pending:
                return BuildReport(pointer.get("active", ""), model_id, int(pointer.get("clauses", 0)), 0, 0, 0, 0,
                                   True, 0.0)
            _stop_here("before-write")
            old = self._get(pointer["active"]) if pointer.get("model") == model_id else None
            interrupted = self._get(pending) if pending else None
            if interrupted is not None and ((interrupted.metadata or {}).get("model") != model_id
                                            or rebuild and not pointer.get("pending_rebuild")):
                interrupted = None  # another model's vectors, or a plain build's copies of the old ones
            rebuild = rebuild or bool(pending and pointer.get("pending_rebuild"))
            wanted = {c.id: c for c in clauses}
            old_hashes = self._hashes(old) if old is not None else {}
            keep_sources = set(keep_sources)
            kept = [cid for cid, (_, src) in old_hashes.items() if src in keep_sources and cid not in wanted]
            records = {c.id: c.content_hash for c in clauses}
            q_records = question_records(questions or {}, set(wanted) | set(kept))
            removed = len(set(old_hashes) - set(wanted) - set(kept))
            if old is not None and not pending and not rebuild and self._holds(old, records, kept, q_records):
                self._clean(pointer["active"], pointer.get("previous", ""))
                return BuildReport(old.name, model_id, len(old_hashes), 0, len(records), 0, len(kept), True,
                                   time.monotonic() - started, questions=len(q_records))
            if interrupted is not None and self._holds(interrupted, records, kept, q_records):
                # Killed after writing everything, before the switch: switch now.
                total = interrupted.count()
                self._switch(pending, pointer, model_id, _generation(pending), total, len(q_records))
                return BuildReport(pending, model_id, total, 0, total, removed, len(kept), False,
                                   time.monotonic() - started, questions=len(q_records), resumed=True)

            generation = max(int(pointer.get("generation", 0)), _generation(pending)) + 1
            name = f"{self.prefix}-g{generation:06d}"
            if pointer:  # recorded, so that a build killed half-way is finished at the next start
                self._pointer_collection().modify(metadata={**pointer, "pending": name, "pending_rebuild": rebuild})
            sources = [c for c in (interrupted, None if rebuild else old) if c is not None]
            target = self._create(name, model_id)
            reused = self._reuse_vectors(sources, target, clauses, progress)
            if kept and old is not None:
                self._copy(old, target, kept, progress, "保留读取失败文件的条文 / keeping clauses of unreadable files")
            fresh = [c for c in clauses if c.id not in reused]
            self._embed_into(target, fresh, embeddings, progress)
            q_target = self._create(question_collection(name), model_id)
            q_reused = self._reuse_questions([q for q in (self._get(question_collection(c.name)) for c in sources) if q],
                                             q_target, q_records, progress)
            self._embed_questions(q_target, [q for qid, q in q_records.items() if qid not in q_reused], embeddings,
                                  progress)
            total = target.count()
            _stop_here("written")
            self._switch(name, pointer, model_id, generation, total, q_target.count())
            return BuildReport(name, model_id, total, len(fresh), len(reused), removed, len(kept), False,
                               time.monotonic() - started, questions=q_target.count(),
                               questions_embedded=len(q_records) - len(q_reused), resumed=interrupted is not None)

    def tidy(self) -> None:
        """Drop what a build killed after its switch left behind. Skipped while a build is
        running here: it cleans up when it switches."""
        with self._exclusive(wait=False) as held:
            pointer = self.pointer() if held else None
            if pointer and not pointer.get("pending"):
                self._clean(pointer["active"], pointer.get("previous", ""))

    def _holds(self, collection: Collection, records: dict[str, str], kept: list[str],
               q_records: dict[str, "QuestionRecord"]) -> bool:
        """Whether a generation holds exactly these clauses (and the kept ones) and questions."""
        hashes = self._hashes(collection)
        if set(hashes) != set(records) | set(kept) or any(hashes[cid][0] != h for cid, h in records.items()):
            return False
        q_collection = self._get(question_collection(collection.name))
        q_hashes = self._hashes(q_collection) if q_collection is not None else {}
        return {qid: h for qid, (h, _) in q_hashes.items()} == {qid: q.hash for qid, q in q_records.items()}

    def _get(self, name: str) -> Collection | None:
        try:
            return self.client.get_collection(name)
        except (chromadb.errors.NotFoundError, ValueError):
            return None

    def _create(self, name: str, model_id: str) -> Collection:
        self._drop(name)
        return self.client.create_collection(name, embedding_function=None,
                                             configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
                                             metadata={"model": model_id})

    def _hashes(self, collection: Collection) -> dict[str, tuple[str, str]]:
        """Record id -> (content hash, source file)."""
        return {rid: (meta.get("hash", ""), meta.get("source", "")) for rid, meta in self._metadata(collection).items()}

    def _reuse_vectors(self, sources: list[Collection], target: Collection, clauses: list[Clause],
                       progress: Progress | None) -> set[str]:
        """Clauses whose embedded text a source already holds take its vector; what is stored
        with it (label, status, audiences …) is written afresh. The ids reused."""
        reused: set[str] = set()
        wanted = {c.id: c for c in clauses}
        for source in sources:
            keys = {cid: meta.get("vector_key", "") for cid, meta in self._metadata(source).items()}
            ids = [cid for cid, c in wanted.items() if cid not in reused and keys.get(cid) == c.vector_key]
            for i in range(0, len(ids), WRITE_BATCH):
                batch = ids[i:i + WRITE_BATCH]
                page = source.get(ids=batch, include=["embeddings"])
                clauses_ = [wanted[cid] for cid in page["ids"]]
                self._write(target, page["ids"], page["embeddings"], [c.text for c in clauses_],
                            [clause_metadata(c) for c in clauses_])
                if progress:
                    progress("复用未变条文 / reusing unchanged clauses", min(i + WRITE_BATCH, len(ids)), len(ids))
            reused.update(ids)
        return reused

    def _metadata(self, collection: Collection) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for offset in range(0, collection.count(), READ_BATCH):
            page = collection.get(include=["metadatas"], limit=READ_BATCH, offset=offset)
            out.update(zip(page["ids"], page["metadatas"]))
        return out

    def _reuse_questions(self, sources: list[Collection], target: Collection, wanted: dict[str, QuestionRecord],
                         progress: Progress | None) -> set[str]:
        """Copy every wanted question a source already holds; the ids copied."""
        copied: set[str] = set()
        stage = "复用关联问题 / reusing associated questions"
        for source in sources:
            hashes = self._hashes(source)
            ids = [rid for rid, want in wanted.items() if rid not in copied and hashes.get(rid, ("",))[0] == want.hash]
            self._copy(source, target, ids, progress, stage)
            copied.update(ids)
        return copied

    def _copy(self, source: Collection, target: Collection, ids: list[str], progress: Progress | None,
              stage: str) -> None:
        for i in range(0, len(ids), WRITE_BATCH):
            batch = ids[i:i + WRITE_BATCH]
            page = source.get(ids=batch, include=["embeddings", "documents", "metadatas"])
            self._write(target, page["ids"], page["embeddings"], page["documents"], page["metadatas"])
            if progress:
                progress(stage, min(i + WRITE_BATCH, len(ids)), len(ids))

    @staticmethod
    def _write(target: Collection, ids: list[str], vectors: list, documents: list[str], metadatas: list[dict]) -> None:
        target.add(ids=ids, embeddings=vectors, documents=documents, metadatas=metadatas)
        _stop_here("mid-write")

    def _embed_into(self, target: Collection, clauses: list[Clause], embeddings: Embeddings,
                    progress: Progress | None) -> None:
        self._embed_batches(target, clauses, lambda batch: embeddings.embed_documents([search_text(c) for c in batch]),
                            lambda c: (c.id, c.text, clause_metadata(c)),
                            progress, "嵌入新条文 / embedding new clauses")

    def _embed_questions(self, target: Collection, records: list["QuestionRecord"], embeddings: Embeddings,
                         progress: Progress | None) -> None:
        # A question is matched against questions: both sides are embedded as queries.
        self._embed_batches(target, records, lambda batch: embed_queries(embeddings, [q.text for q in batch]),
                            lambda q: (q.id, q.text, {"clause_id": q.clause_id, "hash": q.hash}),
                            progress, "嵌入关联问题 / embedding associated questions")

    def _embed_batches(self, target: Collection, items: list, embed, record, progress: Progress | None,
                       stage: str) -> None:
        """Embed in small batches (what the model handles well), write in large ones (what a
        Chroma server handles well: one request per WRITE_BATCH records, not per 16) but at
        least every FLUSH_SECONDS. The last progress report comes after the last write."""
        pending: list[tuple[tuple[str, str, dict], list[float]]] = []
        written = time.monotonic()
        for i in range(0, len(items), EMBED_BATCH):
            batch = items[i:i + EMBED_BATCH]
            pending.extend(zip(map(record, batch), embed(batch)))
            done = min(i + EMBED_BATCH, len(items))
            if len(pending) >= WRITE_BATCH or done == len(items) or time.monotonic() - written >= FLUSH_SECONDS:
                self._write(target, [r[0] for r, _ in pending], [v for _, v in pending],
                            [r[1] for r, _ in pending], [r[2] for r, _ in pending])
                pending.clear()
                written = time.monotonic()
            if progress:
                progress(stage, done, len(items))

    def _switch(self, name: str, pointer: dict, model_id: str, generation: int, total: int, questions: int) -> None:
        previous = pointer.get("active", "")
        meta = {"active": name, "previous": previous, "model": model_id, "generation": generation,
                "clauses": total, "questions": questions, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._pointer_collection().modify(metadata=meta)
        _stop_here("switched")
        self._clean(name, previous)

    def _clean(self, active: str, previous: str) -> None:
        """Generations older than the previous one, and leftovers of interrupted builds, go."""
        keep = {active, previous, question_collection(active), question_collection(previous)}
        for collection in self.client.list_collections():
            cname = collection if isinstance(collection, str) else collection.name
            if cname.startswith(f"{self.prefix}-g") and cname not in keep:
                self._drop(cname)

    def _pointer_collection(self) -> Collection:
        return self.client.get_or_create_collection(self.pointer_name, embedding_function=None)

    def _drop(self, name: str) -> None:
        try:
            self.client.delete_collection(name)
        except (chromadb.errors.NotFoundError, ValueError):
            pass

    @contextmanager
    def _exclusive(self, wait: bool = True) -> Iterator[bool]:
        """One build at a time: in this process (a lock) and on this machine (a file lock).
        Yields whether the lock is held (always, when waiting)."""
        if not self._build_lock.acquire(blocking=wait):
            yield False
            return
        try:
            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
            with open(self.settings.index_dir / ".build.lock", "w") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                try:
                    yield True
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            self._build_lock.release()
