"""Token usage on /v1, as OpenAI clients read it: `usage` on every non-streamed response, and
with stream_options={"include_usage": true} a last chunk with no choices and the usage —
through the real `openai` client and LangChain's ChatOpenAI(stream_usage=True). Tokens are
counted as characters: of every message sent, and of the answer."""
from __future__ import annotations

import pytest


pytestmark = pytest.mark.slow

SYSTEM = "你是一名人事干部。"
QUESTION = "工作满十二年的职工，一年能休几天年休假？"
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
PROMPT_CHARS = len(SYSTEM) + len(QUESTION)


@pytest.fixture(scope="module")
def server(admin_server):
    return admin_server


@pytest.fixture(scope="module")
def llm(server):
    from openai import OpenAI

    return OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_a_plain_response_carries_usage(llm):
    reply = llm.chat.completions.create(model="policy-qa", messages=MESSAGES)
    text = reply.choices[0].message.content
    assert text and reply.usage.prompt_tokens == PROMPT_CHARS
    assert reply.usage.completion_tokens == len(text)
    assert reply.usage.total_tokens == PROMPT_CHARS + len(text)


def test_a_stream_with_include_usage_ends_with_a_usage_chunk(llm):
    chunks = list(llm.chat.completions.create(model="policy-qa", messages=MESSAGES, stream=True,
                                              stream_options={"include_usage": True}))
    *answer, last = chunks
    text = "".join(c.choices[0].delta.content or "" for c in answer)
    assert last.choices == [] and last.usage is not None
    assert all(c.usage is None and len(c.choices) == 1 for c in answer)
    assert answer[-1].choices[0].finish_reason == "stop"
    assert last.usage.prompt_tokens == PROMPT_CHARS and last.usage.completion_tokens == len(text) > 0
    assert last.usage.total_tokens == PROMPT_CHARS + len(text)


def test_a_stream_without_include_usage_has_no_usage_chunk(llm):
    chunks = list(llm.chat.completions.create(model="policy-qa", messages=MESSAGES, stream=True))
    assert all(len(c.choices) == 1 and c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_langchain_chat_openai_gets_usage_streamed_and_not(server):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model="policy-qa", base_url=f"{server.url}/v1", api_key="unused", stream_usage=True,
                      max_retries=0)
    streamed = None
    for chunk in chat.stream([("system", SYSTEM), ("human", QUESTION)]):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed.content
    usage = streamed.usage_metadata
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == \
        (PROMPT_CHARS, len(streamed.content), PROMPT_CHARS + len(streamed.content))

    reply = chat.invoke([("system", SYSTEM), ("human", QUESTION)])
    assert reply.content == streamed.content
    assert reply.usage_metadata["input_tokens"] == PROMPT_CHARS
    assert reply.usage_metadata["output_tokens"] == len(reply.content)
