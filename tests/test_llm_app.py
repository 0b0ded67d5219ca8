"""LLM mode through the running app: REST, the OpenAI-compatible stream, the web chat."""
from __future__ import annotations

import httpx
import pytest

from conftest import ask, open_app, serve, start_app, wait_for_answer
from fake_llm import QUESTION


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory, fake_llm, small_home):
    # No answer cache: the same question is asked while the model is told to behave differently.
    yield from serve(start_app(small_home, tmp_path_factory.mktemp("llm-app"), {
        "POLICYQA_LLM_BASE_URL": fake_llm.url, "POLICYQA_LLM_MODEL": "fake_llm-model", "POLICYQA_LLM_TIMEOUT": "2",
        "POLICYQA_ANSWER_CACHE_SIZE": "0"}))


def test_rest_answer_in_llm_mode_and_its_fallback(llm_server, fake_llm):
    fake_llm.set("good")
    answer = httpx.post(f"{llm_server.url}/api/ask", json={"question": QUESTION}, timeout=30).json()
    assert answer["mode"] == "llm" and answer["citations"][0]["label"].startswith("《职工带薪年休假条例》")
    fake_llm.set("error500")
    answer = httpx.post(f"{llm_server.url}/api/ask", json={"question": QUESTION}, timeout=30).json()
    assert answer["mode"] == "extractive" and answer["fallback_reason"] == "http_500" and answer["citations"]


def streamed(server) -> tuple[str, list]:
    """The question through the OpenAI client with stream=True: the text and the chunks."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{server.url}/v1", api_key="unused")
    chunks = list(client.chat.completions.create(model="policy-qa", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    return "".join(c.choices[0].delta.content or "" for c in chunks), chunks


def test_openai_stream_sends_checked_sentences_then_citations(llm_server, fake_llm):
    fake_llm.set("bad_citation")
    text, chunks = streamed(llm_server)
    last = chunks[-1].model_extra
    assert text.startswith("根据所给条文") and "[9]" not in text and "依据：\n[1] 《职工带薪年休假条例》" in text
    assert last["mode"] == "llm" and last["citations"] and any("[9]" in c for c in last["checks"])
    assert sum(1 for c in chunks if c.choices[0].delta.content) >= 3


def test_openai_stream_after_a_model_failure_carries_the_extract(llm_server, fake_llm):
    fake_llm.set("stall")
    text, chunks = streamed(llm_server)
    assert "300%" in text and chunks[-1].model_extra["fallback_reason"] == "timeout"


def test_web_chat_streams_then_shows_the_checked_answer(page, llm_server, fake_llm):
    fake_llm.set("unsupported")
    open_app(page, llm_server.url)
    answer = ask(page, QUESTION, 0)
    text = answer.inner_text()
    assert text.startswith("根据所给条文") and "天气晴朗" not in text
    assert page.locator("#chatbot details.citation").count() == 1
    assert "引用核对" in page.inner_text("#chatbot")


def test_what_is_typed_while_an_answer_streams_stays_in_the_box(page, llm_server, fake_llm):
    fake_llm.set("slow")
    open_app(page, llm_server.url)
    box = page.locator("#question textarea")
    box.fill(QUESTION)
    page.click("#ask")
    page.wait_for_selector("#chatbot .pending", timeout=60000)  # the model's words are streaming
    assert box.input_value() == ""  # the question left the box when it was sent
    box.fill("那病假期间呢")
    assert page.locator("#chatbot .answer").count() == 0  # typed before the answer was done
    wait_for_answer(page, 0)
    assert box.input_value() == "那病假期间呢"
