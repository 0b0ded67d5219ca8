"""Every error under /api is {"error": {"code", "message"}} and every error under /v1 is in
OpenAI's shape, which the `openai` client parses — bodies that are not UTF-8, unknown paths,
wrong methods, bad requests, overload and unexpected failures alike."""
from __future__ import annotations

import tempfile

import httpx
import openai
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from assistant.web import errors
from assistant.web.admission import AdmissionControl

from conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def server(admin_server):
    return admin_server


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def llm(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def project_error(reply: httpx.Response, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert " / " in message and any("\u4e00" <= ch <= "\u9fff" for ch in message)
    return message


def openai_error(reply: httpx.Response, status: int, code: str) -> dict:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "code", "param"} and error["code"] == code
    assert " / " in error["message"]
    return error


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/api/ask", "/api/search", "/api/feedback", "/api/study"])
def test_a_body_that_is_not_utf8_is_a_400_in_the_project_shape(client, path):
    reply = client.post(path, content=b'{"question": "\xff\xfe\xc0"}', headers={"Content-Type": "application/json"})
    assert "UTF-8" in project_error(reply, 400, "invalid_body")


@pytest.mark.slow
def test_a_body_that_is_not_utf8_is_a_400_in_the_openai_shape(client):
    reply = client.post("/v1/chat/completions", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert openai_error(reply, 400, "invalid_body")["type"] == "invalid_request_error"


@pytest.mark.slow
@pytest.mark.parametrize("method, path", [("GET", "/api/nothing-here"), ("POST", "/api/ask/more"),
                                          ("DELETE", "/api/"), ("GET", "/api/documents/x/y/z")])
def test_unknown_paths_under_api_are_404_in_the_project_shape(client, method, path):
    project_error(client.request(method, path), 404, "not_found")


@pytest.mark.slow
@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/api/ask", "POST"), ("GET", "/api/search", "POST"), ("DELETE", "/api/documents", "GET, POST"),
    ("POST", "/api/documents/paid-annual-leave-regulation", "DELETE"), ("GET", "/api/feedback", "POST"),
])
def test_wrong_methods_under_api_are_405_with_allow(client, method, path, allowed):
    reply = client.request(method, path)
    project_error(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == allowed


@pytest.mark.slow
def test_v1_unknown_paths_and_methods_in_the_openai_shape(client):
    assert openai_error(client.get("/v1/embeddings"), 404, "not_found")["type"] == "not_found_error"
    reply = client.get("/v1/chat/completions")
    assert openai_error(reply, 405, "method_not_allowed")["type"] == "invalid_request_error"
    assert reply.headers["allow"] == "POST"


@pytest.mark.slow
def test_the_web_ui_and_the_api_still_answer(client):
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert client.get("/api/documents").json()["documents"]
    assert client.post("/api/search", json={"query": "年休假"}).status_code == 200


@pytest.mark.slow
def test_the_openai_client_parses_our_errors(llm):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        llm.chat.completions.create(model="policy-qa", messages=[{"role": "user", "content": "   "}])
    assert caught.value.code == "invalid_question" and caught.value.type == "invalid_request_error"
    assert "问题不能为空" in caught.value.body["message"]

    with pytest.raises(openai.UnprocessableEntityError) as caught:
        llm.chat.completions.create(model="policy-qa", messages=[{"role": "assistant", "content": "您好"}])
    assert caught.value.code == "invalid_request" and caught.value.param == "messages"

    with pytest.raises(openai.UnprocessableEntityError) as caught:
        llm.chat.completions.create(model="policy-qa", messages=[])
    assert caught.value.param == "messages" and "请求格式错误" in caught.value.body["message"]

    with pytest.raises(openai.UnprocessableEntityError) as caught:  # streaming: refused before the stream
        llm.chat.completions.create(model="policy-qa", messages=[{"role": "user", "content": "问" * 600}],
                                    stream=True)
    assert caught.value.code == "invalid_question" and "问题太长" in caught.value.body["message"]

    with pytest.raises(openai.NotFoundError) as caught:
        llm.models.retrieve("gpt-4o")
    assert caught.value.code == "not_found" and caught.value.type == "not_found_error"


@pytest.mark.slow
def test_request_validation_errors_name_the_field(client):
    message = project_error(client.post("/api/search", json={"query": "年休假", "k": 500}), 422, "invalid_request")
    assert message.startswith("请求格式错误 / invalid request: k:")
    project_error(client.post("/api/ask", content=b"{not json", headers={"Content-Type": "application/json"}),
                  422, "invalid_request")
    project_error(client.post("/api/ask", json=["年休假"]), 422, "invalid_request")


@pytest.mark.slow
def test_an_upload_error_names_the_file_not_the_servers_temporary_path(client):
    reply = client.post("/api/documents", files={"file": ("report.docx", b"PK\x03\x04 not really a zip")},
                        headers=ADMIN)
    message = project_error(reply, 400, "invalid_upload")
    assert message.startswith("report.docx：不是有效的 Word 文档")
    assert tempfile.gettempdir() not in message and "/" not in message.replace(" / ", "")
    assert not any("report" in d["file"] for d in client.get("/api/documents").json()["documents"])


# ---- the error module on its own app: overload and unexpected failures --------------
def toy_app(**admission) -> TestClient:
    app = FastAPI()

    @app.post("/api/ask")
    @app.post("/v1/chat/completions")
    def fail():
        raise RuntimeError("a bug")

    errors.install(app)
    if admission:
        app.add_middleware(AdmissionControl, **admission)
    return TestClient(app, raise_server_exceptions=False)


def test_an_unexpected_failure_is_a_500_in_the_shape_of_its_api():
    client = toy_app()
    project_error(client.post("/api/ask"), 500, "internal_error")
    assert openai_error(client.post("/v1/chat/completions"), 500, "internal_error")["type"] == "server_error"


def test_overload_is_a_503_in_the_shape_of_its_api():
    client = toy_app(max_concurrent=1, max_queue=0, queue_timeout=1)
    reply = client.post("/api/ask")
    project_error(reply, 503, "overloaded")
    assert reply.headers["retry-after"] == "1"
    assert openai_error(client.post("/v1/chat/completions"), 503, "overloaded")["type"] == "server_error"
