"""The `Assistant`: one loaded model and index, shared by every front end, answering.

answer(question, history) -> Response (response.py) runs the whole pipeline when read:
validate -> request check -> read homophone typos, in the question and the cadre's earlier turns,
as the corpus words meant (spelling.py) ->
condense follow-ups (by rule, or by the model with the rule as fallback) -> hybrid retrieval ->
ranking -> coverage gate -> extractive composition -> the answerer (the extractive answer
itself, or an LLM's answer with its citations checked).
The index lifecycle (build, switch, reload) is live_index.py's.
"""
from __future__ import annotations

import logging
from dataclasses import replace
import re
from typing import Callable, Iterable

from .answer import Answer, noted
from .bilingual import BilingualError
from .compose import compose
from .condense import Condensed, Turn, as_follow_up, condense
from .config import Settings
from .courtesy import plain
from .embeddings import CachedQueries, load_embeddings
from .gate import DECLINED, MODEL_FILE as GATE_FILE, TENTATIVE, GateDecision, check_request, decide, decline, load_gate
from .lexical import set_cache_dir
from .live_index import LiveIndex
from .ranking import MODEL_FILE as RANKER_FILE, RANK_DEPTH, Candidate, load_ranker, rank
from .response import Answerer, Extractive, Prepared, Response
from .retrieval import HybridRetriever, Retrieval, Snapshot
from .spelling import Reading, Spelling
from .store import IndexStore
from .thesaurus import default_thesaurus
from .wellformed import INVALID_TEXT_EN, INVALID_TEXT_ZH, malformed

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Condenser = Callable[[str, list[Turn]], Condensed]


class QuestionError(BilingualError, ValueError):
    """A question that cannot be asked as given (empty, too long, malformed history)."""


def read_history(spelling: Spelling, turns: list[Turn]) -> list[Turn]:
    """The cadre's earlier turns with their typos read as meant, as each was read (and noted)
    when it was asked: a follow-up inherits the topic the cadre meant, not the one typed."""
    return [replace(t, content=spelling.read(t.content).text) if t.role == "user" else t for t in turns]


class Assistant:
    def __init__(self, settings: Settings, embeddings=None, store: IndexStore | None = None,
                 condenser: Condenser | None = None, answerer: Answerer | None = None, fitted: bool = True):
        """`fitted=False` leaves out the ranker and the gate: `policy-qa calibrate` only
        retrieves, and must run when their files are stale, to write them."""
        self.settings = settings
        self.embeddings = CachedQueries(embeddings or load_embeddings(settings.embedding))
        self.index = LiveIndex(settings, self.embeddings, store)
        set_cache_dir(self.index.cache_dir)
        self.reranker = None
        if settings.reranker:
            from .rerank import CrossEncoderReranker

            self.reranker = CrossEncoderReranker(settings.reranker)
        self.thesaurus = default_thesaurus()
        self.ranker = load_ranker(settings.models_dir / RANKER_FILE.name) if fitted else None
        self.gate = load_gate(settings.models_dir / GATE_FILE.name) if fitted else None
        calibrated_for = self.gate.provenance.get("embedding_model") if self.gate else None
        if self.gate and calibrated_for != self.embeddings.model_id:
            log.warning("the coverage gate in %s was calibrated for %s, not %s: answers are tentative, none is "
                        "declined for lack of coverage, until `policy-qa calibrate` is run for this model",
                        settings.models_dir, calibrated_for, self.embeddings.model_id)
        # With an LLM configured, the model condenses follow-ups and writes the answer; the
        # rules and the extractive answer remain its fallbacks.
        self.chat_model = None
        if settings.llm.base_url:
            from .llm import LLMAnswerer, ModelCondenser, chat_model

            self.chat_model = chat_model(settings)
            condenser = condenser or ModelCondenser(self.chat_model)
            answerer = answerer or LLMAnswerer(self.chat_model, settings.llm.concurrency)
        self.condenser: Condenser = condenser or condense
        self.answerer: Answerer = answerer or Extractive()

    # ---- answering -----------------------------------------------------------------
    def answer(self, question: str, history: Iterable[Turn | dict] = ()) -> Response:
        """The answer to read as events or as a whole (response.py). A question that cannot be
        asked as given raises QuestionError here, before anything is computed."""
        question, turns = self.validated(question), self._turns(history)
        return Response(lambda: self.prepare(question, turns), self.answerer)

    def ask(self, question: str, history: Iterable[Turn | dict] = ()) -> Answer:
        """The final answer at once, for callers that do not stream."""
        return self.answer(question, history).answer()

    def prepare(self, question: str, turns: list[Turn]) -> Prepared:
        """Everything up to the extractive answer: check the request, read typos, condense,
        retrieve, rank, gate, compose. `question` must already be validated."""
        reason = check_request(question)
        # Typos are read as the words meant before the condenser and retrieval read the question.
        reading = Reading(question)
        if not reason:
            spelling = self.index.snapshot().spelling
            reading, turns = spelling.read(question), read_history(spelling, turns)
        condensed = self.condenser(reading.text, turns)
        checks = [condensed.check] if condensed.check else []
        if reason:
            answer = decline(question, condensed.text, reason, self.index.titles())
            return Prepared(question, condensed.text, replace(answer, checks=checks), checks=checks)
        condensed, snapshot, retrieval, ranked, decision = self._read(reading.text, turns, condensed)
        library = self.index.library
        if decision.outcome == DECLINED:
            answer = decline(question, condensed.text, decision.reason, snapshot.titles,
                             [doc.notice for doc in decision.absent])
        else:
            answer = compose(question, condensed.text, retrieval, snapshot, library, ranked,
                             tentative=decision.outcome == TENTATIVE, absent=decision.absent)
        answer = noted(answer, reading.note)
        if checks:  # the extractive answer reports them too
            answer = replace(answer, checks=checks + answer.checks)
        return Prepared(question, condensed.text, answer, retrieval, decision, ranked, snapshot, library, checks,
                        reading.note)

    def search(self, query: str, k: int = 10) -> Retrieval:
        query = self.validated(query)
        return self._retriever(self.index.snapshot()).search(query, k)

    def _retriever(self, snapshot: Snapshot) -> HybridRetriever:
        return HybridRetriever(snapshot, self.embeddings, self.thesaurus, self.reranker)

    def retrieve(self, question: str, turns: list[Turn], condensed: Condensed | None = None,
                 snapshot: Snapshot | None = None) -> tuple[Condensed, Snapshot, Retrieval]:
        """The standalone question (typos read as meant) and what retrieval finds for it (no gate,
        no answer). A superseded document takes part only when the question names it, or when
        history is kept."""
        snapshot = snapshot or self.index.snapshot()
        if condensed is None:
            spelling = snapshot.spelling
            condensed = condense(spelling.read(question).text, read_history(spelling, turns))
        retrieval = self._retriever(snapshot).search(condensed.text, RANK_DEPTH, focus=condensed.focus)
        library = self.index.library
        hidden = set() if self.settings.keep_history else library.superseded() - library.named_in(condensed.text)
        if hidden:
            retrieval.hits = [h for h in retrieval.hits if h.clause.doc_id not in hidden]
        return condensed, snapshot, retrieval

    def judge(self, question: str, retrieval: Retrieval, snapshot: Snapshot) -> tuple[list[Candidate], GateDecision]:
        """The candidates ranked by how likely each answers, and the gate's decision."""
        ranked = rank(retrieval, snapshot, self.ranker)
        absent = self.index.library.absent_named_in(question, retrieval.query)
        return ranked, decide(retrieval, snapshot, ranked, self.gate, absent)

    def _read(self, question: str, turns: list[Turn], condensed: Condensed):
        """Retrieval, ranking and the gate's decision for the question as condensed — and, when
        the rules read a turn of a conversation as standalone, for it read as a follow-up too
        ("我个人能主动提出申请吗？" after a question on 容错): the follow-up reading wins when it
        leads to another clause, one that speaks to the turn's own words and that the gate finds
        better answered."""
        condensed, snapshot, retrieval = self.retrieve(question, turns, condensed)
        ranked, decision = self.judge(question, retrieval, snapshot)
        if turns and not condensed.focus and condensed.text == plain(question):
            other = as_follow_up(question, turns)
            if other.text != condensed.text:
                _, _, alt_retrieval = self.retrieve(question, turns, other, snapshot)
                alt_ranked, alt_decision = self.judge(question, alt_retrieval, snapshot)
                best = alt_ranked[0].hit.clause if alt_ranked else None
                if best is not None and alt_retrieval.terms.mentions_focus(snapshot.evidence_text(best)) \
                        and alt_decision.probability > decision.probability \
                        and (not ranked or ranked[0].hit.clause.id != best.id):
                    return other, snapshot, alt_retrieval, alt_ranked, alt_decision
        return condensed, snapshot, retrieval, ranked, decision

    def validated(self, question: str) -> str:
        """The question as it will be asked (control characters out, trimmed), or QuestionError."""
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

    def _turns(self, history: Iterable[Turn | dict]) -> list[Turn]:
        limit, turns = self.settings.max_question_chars, []
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
            if item["role"] == "user" and len(item["content"]) > limit:
                continue  # refused as too long when it was asked: no follow-up leans on it
            turns.append(Turn(item["role"], _CONTROL.sub("", item["content"])))
        return turns
