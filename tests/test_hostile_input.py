"""Hostile input on every JSON endpoint, over real HTTP against `python app.py`: arbitrary
Unicode with lone surrogates and control characters, huge strings, wrong types, bytes that
are not UTF-8. Never a 500, always the project's (or OpenAI's) error shape, and the same
keep-alive connection keeps working; the question log keeps every well-formed question."""
from __future__ import annotations

import http.client
import json
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from assistant.feedback import FeedbackStore

from conftest import ADMIN_TOKEN

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CHINESE = ("\u4e00", "\u9fff")


@pytest.fixture(scope="module")
def server(admin_server):
    return admin_server


class Connection:
    """One keep-alive connection for the whole module: a request that breaks it fails the test."""

    def __init__(self, port: int):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.socket = None

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        if self.socket is not None:
            assert self.http.sock is self.socket, "the server closed the keep-alive connection"
        self.http.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        reply = self.http.getresponse()
        data = reply.read()
        assert not reply.will_close, f"the server ends the connection after {method} {path}: {reply.status}"
        self.socket = self.http.sock
        return reply.status, data


@pytest.fixture(scope="module")
def connection(server):
    conn = Connection(server.port)
    yield conn
    conn.http.close()


# ---- what a hostile client sends ---------------------------------------------------
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
CONTROL = st.characters(max_codepoint=0x1F)
ANY_CHAR = st.one_of(st.characters(), SURROGATE, CONTROL, st.sampled_from("年休假\u200d\ufeff\U0001F600"))
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.builds(lambda piece, n: piece * n, st.sampled_from(["年", "a", "\x00", "\ud800", "\udfff\ud800", "😀"]),
              st.integers(400, 120_000)),  # around and far beyond every length limit
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
VALUE = st.one_of(TEXT, JSON)  # mostly text, sometimes the wrong type
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system"]) | TEXT, "content": VALUE})

# Each JSON endpoint with bodies of its own shape; the clause id is unknown, so a body that
# passes validation is a 404 and the knowledge base is never changed.
BODIES = {
    ("POST", "/api/ask"): st.fixed_dictionaries({"question": VALUE}, optional={"history": st.lists(MESSAGE, max_size=3)}),
    ("POST", "/api/search"): st.fixed_dictionaries({"query": VALUE}, optional={"k": SCALAR}),
    ("POST", "/api/feedback"): st.fixed_dictionaries(
        {"question": VALUE, "answer": VALUE, "rating": st.sampled_from([1, -1]) | SCALAR},
        optional={"citations": VALUE, "comment": VALUE}),
    ("POST", "/api/study"): st.fixed_dictionaries(
        {"topic": VALUE}, optional={"docs": st.lists(VALUE, max_size=3), "questions": SCALAR,
                                    "format": st.sampled_from(["json", "md", "docx"]) | TEXT}),
    ("PUT", "/api/clauses/no-such-doc/1/questions"): st.fixed_dictionaries(
        {"questions": st.lists(VALUE, max_size=3)}, optional={"draft": st.lists(VALUE, max_size=3)}),
    ("POST", "/v1/chat/completions"): st.fixed_dictionaries(
        {"messages": st.lists(MESSAGE, min_size=1, max_size=3)},
        optional={"stream": st.booleans(), "user": VALUE, "model": VALUE,
                  "stream_options": st.fixed_dictionaries({"include_usage": st.booleans() | SCALAR})}),
}


def encoded(payload, how: str) -> bytes:
    if how == "escaped":  # a lone surrogate as "\ud800"
        return json.dumps(payload).encode("ascii")
    # raw UTF-8; a surrogate becomes the bytes ED A0 80, which json.loads lets through
    return json.dumps(payload, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b'{"question": "\xff\xfe"}', b"\xc0\xaf", b'{"query": "\xed\xa0\x80"}', b"",
                     b"[" * 5000 + b"]" * 5000, b'{"question": ' + b"9" * 5000 + b"}", b'{"k": NaN}']),
)
HEADER_VALUE = st.binary(max_size=60).map(lambda b: bytes(c for c in b if c == 9 or 32 <= c != 127).strip())


def check_reply(path: str, status: int, data: bytes) -> None:
    assert status < 500, (status, data[:300])
    if status < 400:
        return
    error = json.loads(data)["error"]
    message = error["message"]
    assert " / " in message and any(CHINESE[0] <= ch <= CHINESE[1] for ch in message), message
    if path.startswith("/v1/"):
        assert {"message", "type", "code", "param"} <= error.keys()
    else:
        assert set(error) == {"code", "message"}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
@pytest.mark.parametrize("method, path", list(BODIES))
def test_no_json_endpoint_answers_500_or_drops_the_connection(connection, method, path, data):
    headers = {"X-User-Id": data.draw(HEADER_VALUE)} if path in ("/api/ask", "/api/feedback") else {}
    if path.startswith("/api/clauses/"):
        headers.update(ADMIN)
    if data.draw(st.integers(0, 9)) == 0:
        body = data.draw(RAW_BODIES)
    else:
        body = encoded(data.draw(BODIES[(method, path)] | JSON), data.draw(st.sampled_from(["escaped", "raw"])))
    status, reply = connection.send(method, path, body, headers)
    check_reply(path, status, reply)
    status, reply = connection.send("GET", "/healthz")
    assert status == 200 and json.loads(reply)["ready"] is True


def test_a_lone_surrogate_is_a_422_with_the_bilingual_message_everywhere(connection):
    bad = "年休假\ud800几天"
    cases = [
        ("POST", "/api/ask", {"question": bad}),
        ("POST", "/api/ask", {"question": "年休假几天？", "history": [{"role": "user", "content": bad}]}),
        ("POST", "/api/search", {"query": bad}),
        ("POST", "/api/feedback", {"question": bad, "answer": "……", "rating": 1}),
        ("POST", "/api/study", {"topic": bad}),
        ("PUT", "/api/clauses/no-such-doc/1/questions", {"questions": [bad]}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": bad}]}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": bad}], "stream": True}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "年休假几天？"}], "user": bad}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "text", "text": bad}]}]}),
    ]
    for method, path, payload in cases:
        for how in ("escaped", "raw"):
            status, reply = connection.send(method, path, encoded(payload, how), ADMIN)
            assert status == 422, (path, payload, reply)
            error = json.loads(reply)["error"]
            assert error["code"] == "invalid_text"
            assert error["message"].startswith("文字中含有无效字符") and "surrogate" in error["message"]


# ---- the question log -------------------------------------------------------------


MALFORMED = st.builds(lambda before, after: f"{before}\ud800{after}", st.text(max_size=10), st.text(max_size=10))
serial = count()


@settings(max_examples=40, deadline=None)
@given(bad=MALFORMED, where=st.sampled_from(["ask", "history", "openai", "stream", "user"]),
       good_via=st.sampled_from(["ask", "openai", "stream"]))
def test_the_question_log_never_loses_a_well_formed_question(server, connection, bad, where, good_via):
    n = next(serial)
    question = f"单位安排年休假要考虑哪些因素？（第{n}次）"
    ok = [{"role": "user", "content": "年休假几天？"}]
    malformed_body = {
        "ask": ("/api/ask", {"question": bad}),
        "history": ("/api/ask", {"question": "那病假呢？", "history": [{"role": "user", "content": bad}]}),
        "openai": ("/v1/chat/completions", {"messages": [{"role": "user", "content": bad}]}),
        "stream": ("/v1/chat/completions", {"messages": [{"role": "user", "content": bad}], "stream": True}),
        "user": ("/v1/chat/completions", {"messages": ok, "user": bad}),
    }[where]
    good_body = {
        "ask": ("/api/ask", {"question": question}),
        "openai": ("/v1/chat/completions", {"messages": [{"role": "user", "content": question}]}),
        "stream": ("/v1/chat/completions", {"messages": [{"role": "user", "content": question}], "stream": True}),
    }[good_via]
    before = server.logged()
    status, _ = connection.send("POST", malformed_body[0], encoded(malformed_body[1], "escaped"))
    assert status == 422
    status, _ = connection.send("POST", good_body[0], encoded(good_body[1], "raw"), {"X-User-Id": f"cadre-{n}"})
    assert status == 200
    assert server.logged(question, expect=1) == 1 and server.logged(expect=before + 1) == before + 1


def test_the_store_keeps_a_record_with_a_lone_surrogate_repaired(tmp_path):
    """The web UI's comment box reaches the store without the API's validation."""
    store = FeedbackStore(tmp_path / "log.sqlite3")
    feedback_id = store.add_feedback("年休假\ud800几天？", "5天", ["《条例》第三条\udc00"], 1, user_id="\ud800")
    store.set_comment(feedback_id, "很有用\udfff")
    _, rows = store.rows("feedback")
    assert rows[0][4] == "年休假\ufffd几天？" and rows[0][8] == "很有用\ufffd" and "\ufffd" in rows[0][6]
