"""The `Assistant`: one loaded model, index and BM25, shared by every front end.

ask(question, history) -> Answer runs the whole pipeline:
validate -> condense follow-ups -> request check -> hybrid retrieval -> coverage gate ->
extractive composition -> (with an LLM configured) generation and citation check.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import AsyncIterator, Iterable

from .answer import Answer
from .bilingual import BilingualError
from .compose import compose, decline
from .condense import Condensed, Turn, as_follow_up, condense
from .config import Settings
from .corpus import CorpusScan, scan_corpus
from .embeddings import CachedQueries, load_embeddings
from .lexical import set_cache_dir
from .gate import DECLINED, MODEL_FILE as GATE_FILE, TENTATIVE, GateDecision, check_request, decide, load_gate
from .library import Library
from .ranking import MODEL_FILE as RANKER_FILE, RANK_DEPTH, Candidate, load_ranker, rank
from .retrieval import HybridRetriever, Retrieval, Snapshot
from .thesaurus import default_thesaurus
from .store import BuildReport, IndexStore, Progress
from .wellformed import INVALID_TEXT_EN, INVALID_TEXT_ZH, malformed

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0  # how often a reader looks whether another process switched the index
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Prepared:
    """A question taken as far as the extractive answer (or the decline)."""

    question: str
    standalone: str
    retrieval: Retrieval | None  # None when the request was declined before retrieval
    decision: GateDecision | None
    extractive: Answer
    ranked: list[Candidate] = field(default_factory=list)  # the clauses, most likely to answer first


@dataclass(frozen=True)
class Trace:
    answer: Answer  # what the user gets (LLM or extractive)
    prepared: Prepared  # how it came about: retrieval, gate decision, extractive draft


class QuestionError(BilingualError, ValueError):
    """A question that cannot be asked as given (empty, too long, malformed history)."""


class Assistant:
    def __init__(self, settings: Settings, embeddings=None, store: IndexStore | None = None):
        self.settings = settings
        self.embeddings = CachedQueries(embeddings or load_embeddings(settings.embedding))
        self.store = store or IndexStore(settings)
        self.reranker = None
        if settings.reranker:
            from .rerank import CrossEncoderReranker

            self.reranker = CrossEncoderReranker(settings.reranker)
        self.cache_dir = settings.index_dir / "cache"
        set_cache_dir(self.cache_dir)
        self.thesaurus = default_thesaurus()
        self.library = Library.load(settings.corpus_dir)
        self.ranker = load_ranker(settings.models_dir / RANKER_FILE.name)
        self.gate = load_gate(settings.models_dir / GATE_FILE.name)
        calibrated_for = self.gate.provenance.get("embedding_model")
        if calibrated_for != self.embeddings.model_id:
            log.warning("the coverage gate in %s was calibrated for %s, not %s: answers are tentative, none is "
                        "declined for lack of coverage, until `policy-qa calibrate` is run for this model",
                        settings.models_dir, calibrated_for, self.embeddings.model_id)
        self.llm = None
        if settings.llm_base_url:
            from .llm import LLMAnswerer

            self.llm = LLMAnswerer(settings, self)
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._load_lock = threading.Lock()

    # ---- index ---------------------------------------------------------------------
    def reindex(self, rebuild: bool = False, progress: Progress | None = None,
                resume: bool = False) -> tuple[BuildReport, CorpusScan]:
        """Bring the index in line with the corpus folder, then serve the new generation."""
        scan = scan_corpus(self.settings.corpus_dir)
        for name, reason in scan.failed.items():
            log.warning("skipped %s: %s", name, reason)
        for problem in scan.question_problems:
            log.warning("associated questions: %s", problem)
        report = self.store.build(scan.clauses, self.embeddings, questions=scan.questions, keep_sources=scan.failed,
                                  rebuild=rebuild, progress=progress, resume=resume)
        self.library = Library.load(self.settings.corpus_dir)
        self._checked = 0.0
        self.snapshot()
        return report, scan

    def ensure_index(self, progress: Progress | None = None) -> BuildReport | None:
        """Build the index if there is none yet (first run), or finish a build that was
        interrupted (the previous generation is served meanwhile) — also one killed after
        its switch, whose leftovers are dropped."""
        pointer = self.store.pointer()
        if pointer is None:
            log.info("no index yet: building it from %s", self.settings.corpus_dir)
            return self.reindex(progress=progress)[0]
        if pointer.get("pending"):
            log.warning("an index build was interrupted (%s): finishing it", pointer["pending"])
            return self.reindex(progress=progress, resume=True)[0]
        self.store.tidy()
        return None

    def snapshot(self) -> Snapshot:
        """The generation to read from, reloaded when a build anywhere has switched it."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < REFRESH_SECONDS:
            return snap
        # Readers never wait for a reload: while one thread loads, the others keep the old one.
        if not self._load_lock.acquire(blocking=snap is None):
            return snap
        try:
            snap = self._snapshot
            if snap is not None and time.monotonic() - self._checked < REFRESH_SECONDS:
                return snap
            try:
                pointer = self.store.pointer()
            except Exception as exc:  # a Chroma server that went away: keep serving what is loaded
                if snap is None:
                    raise
                log.warning("cannot read the index pointer, keeping %s: %s", snap.name, exc)
                pointer = snap.pointer
            if snap is None or pointer is None or pointer.get("active") != snap.name:
                snap = Snapshot.load(self.store, self.embeddings.model_id, self.cache_dir)
                self.library = Library.load(self.settings.corpus_dir)  # another process may have changed the catalog
                self._snapshot = snap
                log.info("serving index %s (%d clauses)", snap.name, len(snap.clauses))
            self._checked = time.monotonic()
            return snap
        finally:
            self._load_lock.release()

    def search(self, query: str, k: int = 10) -> Retrieval:
        query = self._validated(query)
        return self._retriever(self.snapshot()).search(query, k)

    def _retriever(self, snapshot: Snapshot) -> HybridRetriever:
        return HybridRetriever(snapshot, self.embeddings, self.thesaurus, self.reranker)

    def retrieve(self, question: str, turns: list[Turn], condensed: Condensed | None = None,
                 snapshot: Snapshot | None = None) -> tuple[Condensed, Snapshot, Retrieval]:
        """The standalone question and what retrieval finds for it (no gate, no answer). A
        superseded document takes part only when the question names it, or when history is kept."""
        condensed = condensed or condense(question, turns)
        snapshot = snapshot or self.snapshot()
        retrieval = self._retriever(snapshot).search(condensed.text, RANK_DEPTH, focus=condensed.focus)
        hidden = set() if self.settings.keep_history else \
            self.library.superseded() - self.library.named_in(condensed.text)
        if hidden:
            retrieval.hits = [h for h in retrieval.hits if h.clause.doc_id not in hidden]
        return condensed, snapshot, retrieval

    def titles(self) -> list[str]:
        return self.snapshot().titles

    # ---- answering -----------------------------------------------------------------
    def ask(self, question: str, history: Iterable[Turn | dict] = ()) -> Answer:
        return self.trace(question, history).answer

    def trace(self, question: str, history: Iterable[Turn | dict] = ()) -> "Trace":
        """The answer with what led to it (retrieval, gate decision) — for evaluation and hit testing."""
        started = time.perf_counter()
        question, turns = self._validated(question), self._turns(history)
        if self.llm is not None:
            prepared, answer = self.llm.answer(question, turns)
        else:
            prepared = self.prepare(question, turns)
            answer = prepared.extractive
        return Trace(self._timed(answer, started), prepared)

    async def astream(self, question: str, history: Iterable[Turn | dict] = ()) -> AsyncIterator[tuple[str, object]]:
        """For front ends that stream: ("token", str) and ("sentence", str) while an LLM writes,
        then ("final", Answer). Without an LLM, only the final answer."""
        from fastapi.concurrency import run_in_threadpool

        started = time.perf_counter()
        question, turns = self._validated(question), self._turns(history)
        if self.llm is None:
            prepared = await run_in_threadpool(self.prepare, question, turns)
            yield "final", self._timed(prepared.extractive, started)
            return
        async for kind, value in self.llm.astream(question, turns):
            yield kind, (self._timed(value[1], started) if kind == "final" else value)

    def prepare(self, question: str, turns: list[Turn], condensed: Condensed | None = None) -> "Prepared":
        """Everything up to the extractive answer: condense, check the request, retrieve,
        gate, compose. `question` must already be validated."""
        reason = check_request(question)
        if reason:
            standalone = (condensed or condense(question, turns)).text
            return Prepared(question, standalone, None, None, decline(question, standalone, reason, self.titles()))
        condensed, snapshot, retrieval, ranked, decision = self._read(question, turns, condensed)
        if decision.outcome == DECLINED:
            absent = [doc.notice for doc in self.library.absent_named_in(condensed.text)]
            answer = decline(question, condensed.text, decision.reason, snapshot.titles, absent)
        else:
            answer = compose(question, condensed.text, retrieval, snapshot, self.library, ranked,
                             tentative=decision.outcome == TENTATIVE)
        return Prepared(question, condensed.text, retrieval, decision, answer, ranked)

    def judge(self, retrieval: Retrieval, snapshot: Snapshot) -> tuple[list[Candidate], GateDecision]:
        """The candidates ranked by how likely each answers, and the gate's decision."""
        ranked = rank(retrieval, snapshot, self.ranker)
        return ranked, decide(retrieval, snapshot, ranked, self.gate)

    def _read(self, question: str, turns: list[Turn], condensed: Condensed | None):
        """Retrieval, ranking and the gate's decision for the question as condensed — and, when
        the rules read a turn of a conversation as standalone, for it read as a follow-up too
        ("我个人能主动提出申请吗？" after a question on 容错): the follow-up reading wins when it
        leads to another clause, one that speaks to the turn's own words and that the gate finds
        better answered."""
        condensed, snapshot, retrieval = self.retrieve(question, turns, condensed)
        ranked, decision = self.judge(retrieval, snapshot)
        if turns and not condensed.focus and condensed.text == question.strip():
            other = as_follow_up(question, turns)
            if other.text != condensed.text:
                _, _, alt_retrieval = self.retrieve(question, turns, other, snapshot)
                alt_ranked, alt_decision = self.judge(alt_retrieval, snapshot)
                best = alt_ranked[0].hit.clause if alt_ranked else None
                if best is not None and alt_retrieval.terms.mentions_focus(snapshot.evidence_text(best)) \
                        and alt_decision.probability > decision.probability \
                        and (not ranked or ranked[0].hit.clause.id != best.id):
                    return other, snapshot, alt_retrieval, alt_ranked, alt_decision
        return condensed, snapshot, retrieval, ranked, decision

    @staticmethod
    def _timed(answer: Answer, started: float) -> Answer:
        return replace(answer, latency_ms=round((time.perf_counter() - started) * 1000, 1))

    def _validated(self, question: str) -> str:
        if not isinstance(question, str):
            raise QuestionError("问题必须是文字", "the question must be a string")
        if malformed(question):
            raise QuestionError(INVALID_TEXT_ZH, INVALID_TEXT_EN)
        question = _CONTROL.sub("", question).strip()
        if not question:
            raise QuestionError("问题不能为空", "the question is empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"问题太长（{len(question)} 字），请控制在 {limit} 字以内",
                                f"the question has {len(question)} characters; the limit is {limit}")
        return question

    @staticmethod
    def _turns(history: Iterable[Turn | dict]) -> list[Turn]:
        turns = []
        for item in history or ():
            if isinstance(item, Turn):
                turns.append(item)
                continue
            if not isinstance(item, dict) or item.get("role") not in ("user", "assistant") \
                    or not isinstance(item.get("content"), str):
                raise QuestionError('对话历史格式错误：每一项应为 {"role": "user"|"assistant", "content": "…"}',
                                    "malformed history item")
            if malformed(item["content"]):
                raise QuestionError(INVALID_TEXT_ZH, INVALID_TEXT_EN)
            turns.append(Turn(item["role"], _CONTROL.sub("", item["content"])))
        return turns
