"""What a front-end process holds: one Assistant (model, index, BM25 loaded once), its
knowledge-base manager, the answer cache and the question log — and whether it is ready yet.

Every front end (web chat, REST, OpenAI-compatible API, WeChat, the CLI's `ask`) asks
through `answer()`, so each answer is cached, logged and refused while not ready alike.
The server boots in the background (the index is built when missing, so /healthz answers
at once; an unreachable Chroma server is retried, a wrong setting is reported); the CLI
boots in the foreground with a progress bar.
"""
from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import Callable, Iterable

from ..answer import Answer
from ..bilingual import BilingualError
from ..bounded import BoundedCache
from ..config import Settings
from ..embeddings import EmbeddingError
from ..feedback import FeedbackStore
from ..knowledge_base import KnowledgeBase
from ..logistic import ModelFileError
from ..response import Response
from ..service import Assistant
from ..store import IndexModelMismatch, IndexUnavailable, Progress

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
        """Boot in the background, retrying while the Chroma server cannot be reached."""
        thread = threading.Thread(target=self._boot_retrying, name="policyqa-boot", daemon=True)
        thread.start()
        return thread

    def _boot_retrying(self) -> None:
        while True:
            try:
                self.boot()
                return
            except (IndexModelMismatch, EmbeddingError, ModelFileError) as exc:  # needs an operator, not a retry
                self.status, self.error = "error", str(exc)
                log.error("cannot serve: %s", exc)
                return
            except IndexUnavailable as exc:
                self.status, self.error = "waiting", str(exc)
                log.warning("%s — retrying in %d s", exc, RETRY_SECONDS)
                time.sleep(RETRY_SECONDS)

    def boot(self, progress: Progress | None = None) -> None:
        """Load the model and the index (building it on a first run), then serve; a build
        interrupted last time is finished afterwards, while the previous generation serves."""
        progress = progress or self._progress
        self.status = "正在加载模型 / loading the embedding model"
        assistant = self.assistant = self.assistant or self._make_assistant(self.settings)
        self.status = "正在检查索引 / checking the index"
        if assistant.index.store.pointer() is None:  # first run: nothing to serve until it is built
            log.info("%s", assistant.index.ensure(progress=progress).summary())
        snapshot = assistant.index.snapshot()
        self.knowledge_base = KnowledgeBase(assistant)
        self.status, self.error = "ready", ""
        log.info("ready: index %s, %d clauses, model %s", snapshot.name, len(snapshot.clauses),
                 assistant.embeddings.model_id)
        self.ready.set()
        report = assistant.index.ensure(progress=progress)
        if report is not None:
            log.info("%s", report.summary())
            self.status = "ready"

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
            snap = self.assistant.index.snapshot()
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

    def answer(self, question: str, history: Iterable = (), channel: str = "api", user_id: str = "") -> Response:
        """The assistant's response (read it as events or as a whole), or the cached answer
        to the same question in the same conversation on the same index; the final answer is
        logged either way."""
        assistant = self.require()
        history = list(history or ())
        key = answer_key(assistant.index.snapshot().name, question, history)
        cached = self.answers.get(key)
        if cached is not None:
            self.cache_hits += 1
            response = Response.of(cached)
        else:
            response = assistant.answer(question, history).on_final(lambda answer: self._remember(key, answer))
        return response.on_final(lambda answer: self.feedback.log_question(answer, channel, user_id))

    def _remember(self, key: tuple, answer: Answer) -> None:
        if not answer.fallback_reason:  # a fallback is not worth keeping
            self.answers.put(key, answer)
