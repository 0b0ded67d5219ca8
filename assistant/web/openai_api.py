"""An OpenAI-compatible chat endpoint, so existing chat clients and bot frameworks can use
the assistant unchanged: messages in, the answer with its sources as text out.

The last user message is the question and earlier user/assistant messages the
conversation; system messages are ignored — a client cannot change the assistant's rules.
`stream: true` is answered with server-sent events: with an LLM, each sentence as soon as
it has passed the citation check; the citations (a `citations` field) come with the last chunk,
and with `stream_options: {"include_usage": true}` a usage chunk (no choices) follows, as OpenAI
sends it. Errors are in OpenAI's shape (web/errors.py).
"""
from __future__ import annotations

import json
import time
import uuid
from typing import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import ConfigDict, Field

from ..answer import Answer
from ..render import answer_plain
from .deps import State
from .errors import ApiError
from .requests import RequestModel

MODEL_NAME = "policy-qa"


class ChatMessage(RequestModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list | None = None


class StreamOptions(RequestModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(RequestModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens …: accepted, not needed
    model: str = MODEL_NAME
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str = ""


def text_of(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):  # content parts: keep the text ones
        return "".join(p.get("text", "") for p in message.content if isinstance(p, dict))
    return ""


def split_conversation(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    turns = [{"role": m.role, "content": text_of(m)} for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(422, "invalid_request", "最后一条消息应来自用户 / the last message must be from the user",
                       "messages")
    return turns[-1]["content"], turns[:-1]


def usage(messages: list[ChatMessage], completion_text: str) -> dict:
    """Tokens counted simply as characters — of the text of every message sent (system ones
    too, as a client would count its prompt) and of the answer — since no model tokenizes here."""
    prompt = sum(len(text_of(m)) for m in messages)
    return {"prompt_tokens": prompt, "completion_tokens": len(completion_text),
            "total_tokens": prompt + len(completion_text)}


def citations_json(answer: Answer) -> list[dict]:
    return [{"n": c.n, "label": c.label, "status": c.status, "quote": c.quote, "lead_in": c.lead_in}
            for c in answer.citations]


def completion(answer: Answer, body: ChatRequest) -> dict:
    text = answer_plain(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage(body.messages, text),
        "citations": citations_json(answer),
        "refused": answer.refused,
        "mode": answer.mode,
        "checks": answer.checks,
        "fallback_reason": answer.fallback_reason,
    }


def sse(payload: dict | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"


async def stream_chunks(events: AsyncIterator[tuple[str, object]], body: ChatRequest) -> AsyncIterator[str]:
    """Server-sent chat.completion.chunk events: the answer as it is checked, sentence by
    sentence (LLM mode) or line by line, then the sources and a last chunk with the citations;
    then, if asked for, the usage in a chunk of its own (as OpenAI: no choices, and
    `"usage": null` on every chunk before it)."""
    chunk_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    with_usage = body.stream_options is not None and body.stream_options.include_usage

    def chunk(choices: list, **extra) -> str:
        if with_usage:
            extra.setdefault("usage", None)
        return sse({"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": body.model,
                    "choices": choices, **extra})

    def delta(content: dict, finish_reason=None, **extra) -> str:
        return chunk([{"index": 0, "delta": content, "finish_reason": finish_reason}], **extra)

    yield delta({"role": "assistant", "content": ""})
    sent = ""
    async for kind, value in events:
        if kind == "sentence":
            sent += value
            yield delta({"content": value})
        elif kind == "final":
            text = answer_plain(value)
            if not sent:
                rest = text
            elif value.mode == "llm" and text.startswith(sent.rstrip()):
                rest = text[len(sent.rstrip()):]
            else:  # sentences already sent, then the model's answer was not used
                rest = "\n\n" + text
            for line in rest.splitlines(keepends=True):
                yield delta({"content": line})
            sent += rest
            yield delta({}, "stop", citations=citations_json(value), refused=value.refused, mode=value.mode,
                        checks=value.checks, fallback_reason=value.fallback_reason)
    if with_usage:
        yield chunk([], usage=usage(body.messages, sent))
    yield sse("[DONE]")


router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


@router.get("/models")
def models():
    return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "policy-qa"}]}


@router.post("/chat/completions")
async def chat(body: ChatRequest, state: State):
    question, history = split_conversation(body.messages)
    response = state.answer(question, history, "openai", body.user)  # a bad question or not ready: 422/503
    if not body.stream:
        return completion(await response.aanswer(), body)
    events = aiter(response)
    first = await anext(events)  # preparation fails before the stream starts, with a status code
    return StreamingResponse(stream_chunks(_prepend(first, events), body), media_type="text/event-stream")


async def _prepend(first, rest: AsyncIterator) -> AsyncIterator:
    yield first
    async for item in rest:
        yield item
