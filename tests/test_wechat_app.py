"""The WeChat and WeCom callbacks end to end: real HTTP against `python app.py`, signed and
encrypted with the official sample credentials, and a local customer-service API."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from assistant.web.wechat.bot import HOLDING, NOT_TEXT, RATE_LIMITED, WELCOME
from assistant.web.wechat.crypto import MessageCrypto, signature
from assistant.web.wechat.messages import parse_fields

from conftest import DATA, serve, start_app

VECTORS = json.loads((DATA / "wechat-test-vectors.json").read_text(encoding="utf-8"))
OA, WECOM = VECTORS["official_account"], VECTORS["wecom"]


class CustomerServiceApi:
    """A local stand-in for api.weixin.qq.com / qyapi.weixin.qq.com: tokens and sent messages."""

    def __init__(self):
        self.sent: list[dict] = []
        self.tokens_issued = 0
        self.revoked: set[str] = set()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, payload):
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if urlparse(self.path).path in ("/cgi-bin/token", "/cgi-bin/gettoken"):
                    api.tokens_issued += 1
                    self._json({"access_token": f"tok-{api.tokens_issued}", "expires_in": 7200})
                else:
                    self._json({"errcode": 404})

            def do_POST(self):
                url = urlparse(self.path)
                token = parse_qs(url.query).get("access_token", [""])[0]
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if token in api.revoked or not token.startswith("tok-"):
                    self._json({"errcode": 40001, "errmsg": "invalid credential"})
                    return
                api.sent.append({"path": url.path, **payload})
                self._json({"errcode": 0, "errmsg": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.sent if predicate(m)]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"no matching customer-service message; sent: {self.sent}")


def wechat_env(cs_url: str, **extra) -> dict:
    return {
        "POLICYQA_WECHAT_TOKEN": OA["token"], "POLICYQA_WECHAT_AES_KEY": OA["encoding_aes_key"],
        "POLICYQA_WECHAT_APPID": OA["appid"], "POLICYQA_WECHAT_SECRET": "oa-secret", "POLICYQA_WECHAT_API_BASE": cs_url,
        "POLICYQA_WECOM_TOKEN": WECOM["token"], "POLICYQA_WECOM_AES_KEY": WECOM["encoding_aes_key"],
        "POLICYQA_WECOM_CORPID": WECOM["corpid"], "POLICYQA_WECOM_AGENT_ID": "1000002",
        "POLICYQA_WECOM_SECRET": "wecom-secret", "POLICYQA_WECOM_API_BASE": cs_url, **extra,
    }


@pytest.fixture(scope="module")
def cs_api():
    api = CustomerServiceApi()
    yield api
    api.server.shutdown()


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory, cs_api, small_home):
    yield from serve(start_app(small_home, tmp_path_factory.mktemp("wechat"), wechat_env(cs_api.url)))


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory, cs_api, small_home):
    """Deadline 0: every answer takes the holding-reply path; messages of at most 200 bytes."""
    yield from serve(start_app(small_home, tmp_path_factory.mktemp("wechat-slow"), wechat_env(
        cs_api.url, POLICYQA_WECHAT_DEADLINE="0", POLICYQA_WECHAT_MAX_BYTES="200")))


_msg_ids = iter(range(7_000_000_000, 8_000_000_000))


def text_xml(content: str, user: str, msg_id: int | None = None, to: str = "gh_10f6c3c3ac5a") -> str:
    msg_id = next(_msg_ids) if msg_id is None else msg_id
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def plain_post(server, xml: str | bytes, good_signature: bool = True) -> httpx.Response:
    ts, nonce = str(int(time.time())), "778899"
    sig = signature(OA["token"], ts, nonce) if good_signature else "0" * 40
    return httpx.post(f"{server.url}/wechat", params={"signature": sig, "timestamp": ts, "nonce": nonce,
                                                      "openid": "o-user"},
                      content=xml if isinstance(xml, bytes) else xml.encode("utf-8"), timeout=30)


def plain_content(reply: httpx.Response) -> str:
    assert reply.status_code == 200, reply.text
    return parse_fields(reply.content)["Content"]




def test_official_account_url_verification(bot_server):
    q = {"signature": OA["get_signature_for_same_token_timestamp_nonce"], "timestamp": OA["timestamp"],
         "nonce": OA["nonce"], "echostr": "echo-123"}
    assert httpx.get(f"{bot_server.url}/wechat", params=q).text == "echo-123"
    assert httpx.get(f"{bot_server.url}/wechat", params={**q, "signature": "bad"}).status_code == 403


def test_plaintext_question_gets_the_clause(bot_server):
    content = plain_content(plain_post(bot_server, text_xml("单位安排不了年休假，没休的天数怎么给钱？", "o-plain")))
    assert "300%" in content and "依据：[1]《职工带薪年休假条例》第五条" in content


def test_safe_mode_question_is_answered_encrypted(bot_server):
    crypto = MessageCrypto(OA["token"], OA["encoding_aes_key"], OA["appid"])
    sealed = crypto.encrypt(text_xml("单位安排不了年休假，没休的天数怎么给钱？", "o-safe"))
    ts, nonce = str(int(time.time())), "5566"
    reply = httpx.post(f"{bot_server.url}/wechat", params={
        "signature": signature(OA["token"], ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
        "msg_signature": signature(OA["token"], ts, nonce, sealed)},
        content=f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>")
    assert reply.status_code == 200
    envelope = parse_fields(reply.content)
    assert envelope["MsgSignature"] == signature(OA["token"], envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"])
    inner = parse_fields(crypto.decrypt(envelope["Encrypt"]))
    assert inner["ToUserName"] == "o-safe" and "《职工带薪年休假条例》第五条" in inner["Content"]


def test_wecom_url_verification_with_the_official_sample(bot_server):
    v = WECOM["verify_url"]
    q = {"msg_signature": v["msg_signature"], "timestamp": v["timestamp"], "nonce": v["nonce"], "echostr": v["echostr"]}
    assert httpx.get(f"{bot_server.url}/wecom", params=q).text == v["plaintext"]
    assert httpx.get(f"{bot_server.url}/wecom", params={**q, "nonce": "1"}).status_code == 403


def test_wecom_question_is_answered_encrypted(bot_server):
    crypto = MessageCrypto(WECOM["token"], WECOM["encoding_aes_key"], WECOM["corpid"])
    sealed = crypto.encrypt(text_xml("干满十二年的职工一年有几天年休假？", "ChenJiaShun", to=WECOM["corpid"]))
    ts, nonce = str(int(time.time())), "1597212914"
    reply = httpx.post(f"{bot_server.url}/wecom", params={
        "msg_signature": signature(WECOM["token"], ts, nonce, sealed), "timestamp": ts, "nonce": nonce},
        content=f"<xml><ToUserName><![CDATA[{WECOM['corpid']}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
                f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>")
    envelope = parse_fields(reply.content)
    inner = parse_fields(crypto.decrypt(envelope["Encrypt"]))
    assert "年休假10天" in inner["Content"] and "《职工带薪年休假条例》第三条" in inner["Content"]


def test_three_retries_of_one_message_compute_one_answer(bot_server):
    question = "职工请事假累计多少天就不能休年休假？"
    xml = text_xml(question, "o-retry", msg_id=6_054_768_590_064_713_728)
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: plain_post(bot_server, xml), range(4)))
    contents = {plain_content(r) for r in replies}
    assert len(contents) == 1 and "20天以上" in contents.pop()
    assert bot_server.logged(question, expect=1) == 1


def test_a_slow_answer_is_held_then_delivered_by_the_customer_service_api(slow_server, cs_api):
    question = "单位不安排年休假又不给报酬怎么办？"
    assert plain_content(plain_post(slow_server, text_xml(question, "o-slow"))) == HOLDING
    sent = cs_api.wait_for(lambda m: m["touser"] == "o-slow")
    deadline = time.monotonic() + 60
    parts: list[str] = []
    while "《职工带薪年休假条例》第七条" not in "".join(parts) and time.monotonic() < deadline:  # all parts
        parts = [m["text"]["content"] for m in cs_api.sent if m["touser"] == "o-slow"]
        time.sleep(0.2)
    assert all(m["path"] == "/cgi-bin/message/custom/send" for m in sent)
    assert len(parts) > 1 and all(len(p.encode("utf-8")) <= 200 for p in parts)
    assert "《职工带薪年休假条例》第七条" in "".join(parts)


def test_wecom_slow_answer_goes_through_message_send_after_a_token_refresh(slow_server, cs_api):
    cs_api.revoked.update(f"tok-{n}" for n in range(1, cs_api.tokens_issued + 1))  # force a refresh
    crypto = MessageCrypto(WECOM["token"], WECOM["encoding_aes_key"], WECOM["corpid"])
    sealed = crypto.encrypt(text_xml("单位安排不了年休假，没休的天数怎么给钱？", "wecom-slow", to=WECOM["corpid"]))
    ts, nonce = str(int(time.time())), "42"
    reply = httpx.post(f"{slow_server.url}/wecom", params={
        "msg_signature": signature(WECOM["token"], ts, nonce, sealed), "timestamp": ts, "nonce": nonce},
        content=f"<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>")
    assert parse_fields(crypto.decrypt(parse_fields(reply.content)["Encrypt"]))["Content"] == HOLDING
    sent = cs_api.wait_for(lambda m: m["touser"] == "wecom-slow")
    assert sent[0]["path"] == "/cgi-bin/message/send" and sent[0]["agentid"] == 1000002


def test_a_bad_signature_is_refused_and_nothing_is_processed(bot_server):
    question = "签名错误时不应处理的问题？"
    assert plain_post(bot_server, text_xml(question, "o-bad"), good_signature=False).status_code == 403
    assert bot_server.logged(question, expect=0) == 0


@pytest.mark.parametrize("body", [
    b"<xml><FromUserName>broken",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><FromUserName>x</FromUserName><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>",
    "<xml><FromUserName>x</FromUserName><MsgType>text</MsgType><Content>\x07\x08</Content></xml>".encode(),
])
def test_malformed_and_hostile_xml_is_a_400_never_a_500(bot_server, body):
    reply = plain_post(bot_server, body)
    assert reply.status_code == 400
    assert "root:" not in reply.text


def test_oversized_body_is_refused(bot_server):
    assert plain_post(bot_server, b"<xml>" + b"x" * 70_000 + b"</xml>").status_code == 413


def test_a_10kb_message_gets_a_polite_reply(bot_server):
    content = plain_content(plain_post(bot_server, text_xml("年休假" * 1200, "o-long")))
    assert "问题太长" in content and "500" in content and " / " not in content  # the Chinese alone


def test_emoji_message(bot_server):
    content = plain_content(plain_post(bot_server, text_xml("😀单位安排不了年休假，没休的天数怎么给钱？🙏🏽", "o-emoji")))
    assert "300%" in content


def test_non_text_messages_and_subscribe(bot_server):
    image = ("<xml><ToUserName>gh</ToUserName><FromUserName>o-img</FromUserName><CreateTime>1</CreateTime>"
             "<MsgType>image</MsgType><PicUrl>http://x</PicUrl><MsgId>123</MsgId></xml>")
    assert plain_content(plain_post(bot_server, image)) == NOT_TEXT
    subscribe = ("<xml><ToUserName>gh</ToUserName><FromUserName>o-new</FromUserName><CreateTime>2</CreateTime>"
                 "<MsgType>event</MsgType><Event>subscribe</Event></xml>")
    assert plain_content(plain_post(bot_server, subscribe)) == WELCOME
    unsubscribe = subscribe.replace("subscribe", "unsubscribe")
    assert plain_post(bot_server, unsubscribe).text == "success"


def test_follow_up_in_wechat(bot_server):
    plain_content(plain_post(bot_server, text_xml("职工一年能休几天年休假？", "o-turns")))
    content = plain_content(plain_post(bot_server, text_xml("那干满二十年的呢？", "o-turns")))
    assert "已满20年的，年休假15天" in content


def test_a_self_check_message_is_routed_to_the_self_check(bot_server):
    content = plain_content(plain_post(bot_server, text_xml("容错自查 改革试点中出了失误", "o-check")))
    # The small corpus holds none of the provisions on 容错: the bot says so instead of answering.
    assert content.startswith("容错自查") and "没有关于容错" in content


def test_rate_limit_per_user(bot_server):
    replies = [plain_content(plain_post(bot_server, text_xml(f"年休假第{i}问怎么休？", "o-busy"))) for i in range(11)]
    assert replies[-1] == RATE_LIMITED and RATE_LIMITED not in replies[:10]
    other = plain_content(plain_post(bot_server, text_xml("年休假怎么休？", "o-calm")))
    assert other != RATE_LIMITED


def test_unconfigured_endpoints_are_404_and_the_log_says_why(readonly_server):
    assert httpx.get(f"{readonly_server.url}/wechat").status_code == 404
    assert httpx.post(f"{readonly_server.url}/wecom", content=b"<xml/>").status_code == 404
    log = readonly_server.log_path.read_text()
    assert "缺少 POLICYQA_WECHAT_TOKEN" in log and "POLICYQA_WECOM_CORPID" in log
