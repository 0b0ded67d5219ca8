"""The web UI's endpoints called through gradio_client, as a script would: every listed
endpoint works or fails with a Chinese message the caller sees — never a server TypeError,
an empty result, gradio's own English, or a server path."""
from __future__ import annotations

import tempfile

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from conftest import ADMIN_TOKEN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(admin_server):
    return admin_server


@pytest.fixture(scope="module")
def client(server):
    client = Client(f"{server.url}/", verbose=False)
    yield client
    client.close()  # its open event stream would hold up the shared server's shutdown


def app_error(client, *args, api_name: str) -> str:
    with pytest.raises(AppError) as caught:
        client.predict(*args, api_name=api_name)
    return str(caught.value)


def chinese_only(message: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in message) and not any("a" <= ch.lower() <= "z" for ch in message)


def test_a_question_is_answered(client):
    chat = client.predict("年休假期间工资照发吗？", [], api_name="/respond")
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert 'class="answer"' in chat[1]["content"][0]["text"]


@pytest.mark.parametrize("question, says", [("", "问题不能为空"), ("   ", "问题不能为空"), ("问" * 501, "问题太长")])
def test_an_empty_or_over_long_question_is_an_error_the_caller_sees(client, question, says):
    message = app_error(client, question, [], api_name="/respond")
    assert message.startswith(says) and chinese_only(message)


def test_rate_through_the_api_says_what_to_do_instead_of_failing(client, server):
    note = client.predict(api_name="/rate")
    assert note == "请在对话中对一条回答点赞或点踩。"
    assert "TypeError" not in server.log_path.read_text()


def test_deleting_an_unknown_document_is_a_chinese_error(client):
    message = app_error(client, "no-such-document", ADMIN_TOKEN, api_name="/delete")
    assert message == "知识库中没有这个文档。"
    assert app_error(client, "no-such-document", "wrong", api_name="/delete") == "管理员口令错误。"


def test_an_upload_error_names_the_file_not_a_server_path(client, tmp_path):
    broken = tmp_path / "report.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    message = app_error(client, handle_file(str(broken)), ADMIN_TOKEN, api_name="/upload")
    assert message.startswith("report.docx：不是有效的 Word 文档")
    assert tempfile.gettempdir() not in message and str(tmp_path) not in message
    assert "/" not in message.replace(" / ", "")
