"""REST API under /api, and /healthz. Errors (web/errors.py) are JSON:
{"error": {"code", "message"}}, the message in Chinese and English, with the status that fits
(422 bad question, 401/403 admin token, 400/413/415 bad upload, 404 unknown document, 503 not ready)."""
from __future__ import annotations

import logging
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Header, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StrictBool

from .. import associated, downloads
from .deps import State, require_admin
from .errors import ApiError
from .requests import RequestModel

log = logging.getLogger(__name__)


class Message(RequestModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20000)


class AskRequest(RequestModel):
    question: str
    history: list[Message] = Field(default_factory=list, max_length=50)


class SearchRequest(RequestModel):
    query: str
    k: int = Field(default=10, ge=1, le=50)


class StudyRequest(RequestModel):
    topic: str = Field(max_length=50)
    docs: list[str] = Field(default_factory=list, max_length=50)
    questions: int = Field(default=10, ge=1, le=50)
    format: Literal["json", "md", "docx"] = "json"


class QuestionsRequest(RequestModel):
    questions: list[str] = Field(max_length=associated.MAX_QUESTIONS)
    draft: list[str] | None = Field(default=None, max_length=associated.MAX_QUESTIONS)


class SelfCheckRequest(RequestModel):
    situation: str = Field(default="", max_length=2000)
    answers: dict[str, StrictBool | None] = Field(default_factory=dict, max_length=200)  # "yes" or 1 is refused
    format: Literal["json", "md", "docx"] = "json"


class FeedbackRequest(RequestModel):
    question: str = Field(max_length=5000)
    answer: str = Field(max_length=50000)
    citations: list = Field(default_factory=list, max_length=20)
    rating: Literal[1, -1]
    comment: str = Field(default="", max_length=2000)


router = APIRouter()
ADMIN = [Depends(require_admin)]


def hit_json(rank: int, hit) -> dict:
    c = hit.clause
    return {
        "rank": rank, "clause_id": c.id, "doc_id": c.doc_id, "title": c.title, "label": c.label,
        "status": c.status, "text": c.text, "dense": round(hit.dense, 4), "bm25": round(hit.bm25, 4),
        "fused": round(hit.fused, 6), "rerank": None if hit.rerank is None else round(hit.rerank, 4),
    }


@router.get("/healthz", tags=["health"])
def healthz(state: State):
    info = state.health()
    return JSONResponse(info, status_code=200 if info["ready"] else 503)


@router.post("/api/ask", tags=["answers"])
async def ask(body: AskRequest, state: State, x_user_id: str = Header(default="")):
    """The `Answer` for a question and the conversation before it (oldest first)."""
    answer = await state.answer(body.question, [m.model_dump() for m in body.history], "api", x_user_id).aanswer()
    return answer.to_dict()


@router.post("/api/search", tags=["answers"])
def search(body: SearchRequest, state: State):
    """Ranked clauses with their dense, BM25 and fused scores (hit testing)."""
    retrieval = state.require().search(body.query, body.k)
    return {"query": retrieval.query, "tokens": retrieval.tokens, "degraded": retrieval.degraded,
            "hits": [hit_json(i, h) for i, h in enumerate(retrieval.hits, 1)]}


@router.get("/api/documents", tags=["knowledge base"])
def documents(state: State):
    kb = state.require_knowledge_base()
    return {"documents": [row.__dict__ for row in kb.documents()],
            "read_only": not state.settings.admin_token}


@router.post("/api/documents", tags=["knowledge base"], status_code=201, dependencies=ADMIN)
async def upload(state: State, file: UploadFile = File(...)):
    kb = state.require_knowledge_base()
    data = await file.read(state.settings.max_upload_mb * 1024 * 1024 + 1)
    info, report = await run_in_threadpool(kb.add, file.filename or "", data)
    return {"document": {"id": info.id, "title": info.title, "file": info.file}, "index": report.summary()}


@router.delete("/api/documents/{doc_id}", tags=["knowledge base"], dependencies=ADMIN)
def delete(doc_id: str, state: State):
    kb = state.require_knowledge_base()
    try:
        report = kb.delete(doc_id)
    except KeyError:
        raise ApiError(404, "not_found", f"知识库中没有文档 {doc_id} / no such document") from None
    return {"deleted": doc_id, "index": report.summary()}


@router.get("/api/clauses/{doc_id}/{local_id}/questions", tags=["knowledge base"])
def clause_questions(doc_id: str, local_id: str, state: State):
    """A clause's associated questions (indexed) and drafts (suggested, not yet reviewed)."""
    kb = state.require_knowledge_base()
    try:
        clause, entry = kb.clause_questions(f"{doc_id}/{local_id}")
    except KeyError:
        raise ApiError(404, "not_found", f"知识库中没有条文 {doc_id}/{local_id} / no such clause") from None
    return {"clause_id": clause.id, "label": clause.label, "text": clause.text,
            "questions": entry.questions, "draft": entry.draft}


@router.put("/api/clauses/{doc_id}/{local_id}/questions", tags=["knowledge base"], dependencies=ADMIN)
async def set_clause_questions(doc_id: str, local_id: str, body: QuestionsRequest, state: State):
    """Replace a clause's associated questions (and drafts, if given); only new ones are embedded."""
    kb = state.require_knowledge_base()
    try:
        entry, report = await run_in_threadpool(kb.set_clause_questions, f"{doc_id}/{local_id}",
                                                body.questions, body.draft)
    except KeyError:
        raise ApiError(404, "not_found", f"知识库中没有条文 {doc_id}/{local_id} / no such clause") from None
    except associated.QuestionFileError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return {"clause_id": f"{doc_id}/{local_id}", "questions": entry.questions, "draft": entry.draft,
            "index": report.summary()}


@router.get("/api/self-check/questions", tags=["self-check"])
def self_check_questions():
    """The questions of the 容错自查, red lines first, with the conditions they settle."""
    from ..self_check import default_data

    return {"questions": default_data().questions()}


@router.post("/api/self-check", tags=["self-check"])
async def self_check(body: SelfCheckRequest, state: State):
    """Provision by provision, which conditions the situation and answers meet — with
    citations, the procedure, and the notice that this is a self-check, not a determination."""
    from ..self_check import SelfCheckError, run

    assistant = state.require()
    try:
        result = await run_in_threadpool(run, assistant, body.situation, body.answers)
    except SelfCheckError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    if body.format == "json":
        return result.to_dict()
    return attachment(downloads.self_check(result, body.format))


@router.post("/api/study", tags=["study packs"])
def study(body: StudyRequest, state: State):
    """A study pack: JSON, Markdown, or a Word document to download."""
    from ..study import StudyPackBuilder, TopicNotFound

    try:
        pack = StudyPackBuilder(state.require()).build(body.topic, body.docs, body.questions)
    except TopicNotFound as exc:
        raise ApiError(404, "unknown_topic", str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    if body.format == "json":
        return pack.to_dict()
    return attachment(downloads.study_pack(pack, body.format))


@router.post("/api/feedback", tags=["feedback"], status_code=201)
def feedback(body: FeedbackRequest, state: State, x_user_id: str = Header(default="")):
    feedback_id = state.feedback.add_feedback(body.question, body.answer, body.citations, body.rating,
                                              body.comment, channel="api", user_id=x_user_id)
    return {"id": feedback_id}


def attachment(download: downloads.Download) -> Response:
    """A file the browser saves under its (UTF-8, percent-encoded) name."""
    disposition = f"attachment; filename*=UTF-8''{quote(download.filename)}"
    return Response(download.data, media_type=download.media_type, headers={"Content-Disposition": disposition})
