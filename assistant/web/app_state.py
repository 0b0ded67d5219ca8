"""What the app process holds: one Assistant (model, index, BM25 loaded once), its
knowledge-base manager and the feedback store — and whether it is ready yet.

Start-up builds the index in the background when it is missing, so /healthz can answer
at once; a Chroma server that is not reachable is retried, a wrong setting is reported.
"""
from __future__ import annotations

import hmac
import logging
import sqlite3
import threading
import time
from dataclasses import replace
from typing import AsyncIterator, Callable, Iterable

from ..answer import Answer
from ..bilingual import BilingualError
from ..bounded import BoundedCache
from ..config import Settings
from ..embeddings import EmbeddingError
from ..logistic import ModelFileError
from ..feedback import FeedbackStore
from ..knowledge_base import KnowledgeBase
from ..service import Assistant
from ..store import IndexModelMismatch, IndexUnavailable

log = logging.getLogger(__name__)

RETRY_SECONDS = 10


def answer_key(generation: str, question: str, history: Iterable) -> tuple:
    """Answers are reused for the same question, conversation and index generation."""
    turns = tuple((t.role, t.content) if hasattr(t, "role") else (t.get("role"), t.get("content"))
                  for t in history or ())
    return generation, question.strip(), turns


class NotReady(BilingualError, RuntimeError):
    """The assistant cannot answer yet (index being built) or at all (a setting is wrong)."""


class AppState:
    def __init__(self, settings: Settings, make_assistant: Callable[[Settings], Assistant] = Assistant):
        self.settings = settings
        self.feedback = FeedbackStore(settings.database)
        self._make_assistant = make_assistant
        self.assistant: Assistant | None = None
        self.knowledge_base: KnowledgeBase | None = None
        self.status = "starting"
        self.error = ""
        self.ready = threading.Event()
        self._last_logged = -1
        # A class asking the same thing, or a retry, is answered from here.
        self.answers: BoundedCache[Answer] = BoundedCache(settings.answer_cache_size, settings.answer_cache_ttl)
        self.cache_hits = 0  # answers given from the cache, shown by /healthz

    # ---- start-up ------------------------------------------------------------------
    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._boot, name="policyqa-boot", daemon=True)
        thread.start()
        return thread

    def _boot(self) -> None:
        while True:
            try:
                self.status = "正在加载模型 / loading the embedding model"
                assistant = self.assistant or self._make_assistant(self.settings)
                self.assistant = assistant
                self.status = "正在检查索引 / checking the index"
                if assistant.store.pointer() is None:  # first run: nothing to serve until it is built
                    log.info("%s", assistant.ensure_index(progress=self._progress).summary())
                snapshot = assistant.snapshot()
                self.knowledge_base = KnowledgeBase(assistant)
                self.status, self.error = "ready", ""
                log.info("ready: index %s, %d clauses, model %s", snapshot.name, len(snapshot.clauses),
                         assistant.embeddings.model_id)
                self.ready.set()
                # A build interrupted last time is finished now, while the previous one serves.
                report = assistant.ensure_index(progress=self._progress)
                if report is not None:
                    log.info("%s", report.summary())
                    self.status = "ready"
                return
            except (IndexModelMismatch, EmbeddingError, ModelFileError) as exc:  # needs an operator, not a retry
                self.status, self.error = "error", str(exc)
                log.error("cannot serve: %s", exc)
                return
            except IndexUnavailable as exc:
                self.status, self.error = "waiting", str(exc)
                log.warning("%s — retrying in %d s", exc, RETRY_SECONDS)
                time.sleep(RETRY_SECONDS)

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.status = f"正在建立索引 / building the index: {stage} {done}/{total}"
        decile = done * 10 // max(total, 1)
        if decile != self._last_logged:
            self._last_logged = decile
            log.info("index build: %s %d/%d", stage, done, total)

    # ---- serving -------------------------------------------------------------------
    def health(self) -> dict:
        info = {"ready": self.ready.is_set(), "status": self.status}
        if self.error:
            info["error"] = self.error
        if self.ready.is_set() and self.assistant is not None:
            snap = self.assistant.snapshot()
            info.update(index=snap.name, clauses=len(snap.clauses), model=self.assistant.embeddings.model_id,
                        answer_cache_hits=self.cache_hits,
                        chroma=self.settings.chroma_location)
        return info

    def admin_refusal(self, token: str) -> str:
        """Why `token` may not change the knowledge base: "read_only" (no admin token is
        configured), "forbidden" (wrong token), or "" when it may."""
        expected = self.settings.admin_token
        if not expected:
            return "read_only"
        return "" if hmac.compare_digest((token or "").strip().encode(), expected.encode()) else "forbidden"

    def require(self) -> Assistant:
        if not self.ready.is_set() or self.assistant is None:
            detail = self.error or self.status
            raise NotReady(f"助手尚未就绪（{detail}），请稍后再试", "the assistant is not ready yet")
        return self.assistant

    def require_knowledge_base(self) -> KnowledgeBase:
        self.require()
        assert self.knowledge_base is not None
        return self.knowledge_base

    def ask(self, question: str, history: Iterable = (), channel: str = "api", user_id: str = "") -> Answer:
        assistant, started = self.require(), time.perf_counter()
        history = list(history or ())
        key = answer_key(assistant.snapshot().name, question, history)
        cached = self._cached(key, started)
        answer = cached or assistant.ask(question, history)
        if cached is None:
            self._remember(key, answer)
        self.log(answer, channel, user_id)
        return answer

    async def astream(self, question: str, history: Iterable = (), channel: str = "api",
                      user_id: str = "") -> AsyncIterator[tuple[str, object]]:
        """Events of Assistant.astream (or the cached answer); the final answer is logged."""
        assistant, started = self.require(), time.perf_counter()
        history = list(history or ())
        key = answer_key(assistant.snapshot().name, question, history)
        cached = self._cached(key, started)
        events = _once(("final", cached)) if cached else assistant.astream(question, history)
        async for kind, value in events:
            if kind == "final":
                if cached is None:
                    self._remember(key, value)
                self.log(value, channel, user_id)
            yield kind, value

    def _remember(self, key: tuple, answer: Answer) -> None:
        if not answer.fallback_reason:  # a fallback is not worth keeping
            self.answers.put(key, answer)

    def _cached(self, key: tuple, started: float) -> Answer | None:
        answer = self.answers.get(key)
        if answer is None:
            return None
        self.cache_hits += 1
        return replace(answer, latency_ms=round((time.perf_counter() - started) * 1000, 1))

    async def aask(self, question: str, history: Iterable = (), channel: str = "api", user_id: str = "") -> Answer:
        async for kind, value in self.astream(question, history, channel, user_id):
            if kind == "final":
                return value
        raise RuntimeError("no answer")  # astream always ends with a final answer

    def log(self, answer: Answer, channel: str, user_id: str = "") -> None:
        try:
            self.feedback.log_question(answer, channel, user_id)
        except sqlite3.Error as exc:  # the log is a record, never a reason to fail an answer
            log.warning("could not log the question: %s", exc)


async def _once(item):
    yield item
