"""Replayed WeChat and WeCom callbacks: a correctly signed message whose timestamp is outside
the replay window (POLICYQA_WECHAT_REPLAY_WINDOW, default 300 s either side) is refused with
403 and not processed; retries of one MsgId inside the window get the same reply. Messages
are signed and encrypted by wechatpy, an independent implementation of the protocol."""
from __future__ import annotations

import json
import logging
import time
from itertools import count
from xml.etree.ElementTree import fromstring

import httpx
import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.utils import WeChatSigner

from assistant.web.app_state import AppState
from assistant.config import Settings
from assistant.web.wechat.crypto import StaleRequest
from assistant.web.wechat.routes import make_channel

from conftest import DATA, serve, start_app

VECTORS = json.loads((DATA / "wechat-test-vectors.json").read_text(encoding="utf-8"))
OA, WECOM = VECTORS["official_account"], VECTORS["wecom"]
OA_CRYPTO = WeChatCrypto(OA["token"], OA["encoding_aes_key"], OA["appid"])
WECOM_CRYPTO = WeComCrypto(WECOM["token"], WECOM["encoding_aes_key"], WECOM["corpid"])
CHANNEL_SETTINGS = {
    "POLICYQA_WECHAT_TOKEN": OA["token"], "POLICYQA_WECHAT_AES_KEY": OA["encoding_aes_key"],
    "POLICYQA_WECHAT_APPID": OA["appid"],
    "POLICYQA_WECOM_TOKEN": WECOM["token"], "POLICYQA_WECOM_AES_KEY": WECOM["encoding_aes_key"],
    "POLICYQA_WECOM_CORPID": WECOM["corpid"],
}
msg_ids = count(9_100_000_000)


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_home):
    """Both channels, without the customer-service secrets, and the default replay window."""
    yield from serve(start_app(small_home, tmp_path_factory.mktemp("replay"), CHANNEL_SETTINGS))


def message_xml(kind: str, content: str, msg_id: int) -> str:
    to = OA["appid"] if kind != "wecom" else WECOM["corpid"]
    agent = "<AgentID>1000002</AgentID>" if kind == "wecom" else ""
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[cadre-{kind}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>{agent}</xml>")


def fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in fromstring(xml)}


def signed_request(kind: str, xml: str, timestamp: str, nonce: str = "20240901") -> tuple[str, dict, str]:
    """(path, query, body) as WeChat sends them: 公众号 plaintext or safe mode, or WeCom."""
    if kind == "plain":
        signer = WeChatSigner()
        signer.add_data(OA["token"], timestamp, nonce)
        return "/wechat", {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}, xml
    crypto = WECOM_CRYPTO if kind == "wecom" else OA_CRYPTO
    sealed = fields(crypto.encrypt_message(xml, nonce, timestamp))
    query = {"msg_signature": sealed["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    if kind == "wecom":
        return "/wecom", query, f"<xml><ToUserName>{WECOM['corpid']}</ToUserName><Encrypt>{sealed['Encrypt']}</Encrypt></xml>"
    return "/wechat", {**query, "encrypt_type": "aes"}, f"<xml><Encrypt>{sealed['Encrypt']}</Encrypt></xml>"


def send(server, kind: str, xml: str, timestamp: str) -> httpx.Response:
    path, query, body = signed_request(kind, xml, timestamp)
    return httpx.post(f"{server.url}{path}", params=query, content=body.encode("utf-8"), timeout=30)


def reply_text(kind: str, reply: httpx.Response) -> str:
    assert reply.status_code == 200, reply.text
    if kind == "plain":
        return fields(reply.text)["Content"]
    envelope = fields(reply.text)
    crypto = WECOM_CRYPTO if kind == "wecom" else OA_CRYPTO
    return fields(crypto.decrypt_message(reply.text, envelope["MsgSignature"], envelope["TimeStamp"],
                                         envelope["Nonce"]))["Content"]




def now(offset: int = 0) -> str:
    return str(int(time.time()) + offset)


@pytest.mark.slow
def test_the_official_samples_replayed_years_later_are_refused(server):
    """Genuine messages, correctly signed by WeChat and WeCom — in 2014 and 2016."""
    oa = httpx.post(f"{server.url}/wechat", content=f"<xml><Encrypt>{OA['encrypt']}</Encrypt></xml>".encode(),
                    params={"msg_signature": OA["msg_signature"], "timestamp": OA["timestamp"],
                            "nonce": OA["nonce"], "encrypt_type": "aes"})
    m = WECOM["decrypt_msg"]
    wecom = httpx.post(f"{server.url}/wecom", content=f"<xml><Encrypt>{m['encrypt']}</Encrypt></xml>".encode(),
                       params={"msg_signature": m["msg_signature"], "timestamp": m["timestamp"], "nonce": m["nonce"]})
    assert (oa.status_code, wecom.status_code) == (403, 403)
    assert server.logged("abcdteT", expect=0) == 0 and server.logged(m["content"], expect=0) == 0
    assert "outside the replay window" in server.log_path.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "aes", "wecom"])
@pytest.mark.parametrize("offset", [-330, 330, -86400])
def test_a_signed_message_outside_the_window_is_403_and_not_processed(server, kind, offset):
    question = f"年休假怎么安排？（{kind} {offset}）"
    reply = send(server, kind, message_xml(kind, question, next(msg_ids)), now(offset))
    assert reply.status_code == 403 and reply.text == "forbidden"
    assert server.logged(question, expect=0) == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "aes", "wecom"])
@pytest.mark.parametrize("offset", [-270, 270])
def test_a_signed_message_inside_the_window_is_answered(server, kind, offset):
    question = f"请病假两个月还能休年休假吗？（{kind} {offset}）"
    reply = send(server, kind, message_xml(kind, question, next(msg_ids)), now(offset))
    assert reply_text(kind, reply)
    assert server.logged(question, expect=1) == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "wecom"])
def test_a_signed_timestamp_that_is_not_a_number_is_refused(server, kind):
    question = f"年休假能不能跨年度安排？（{kind}）"
    assert send(server, kind, message_xml(kind, question, next(msg_ids)), "yesterday").status_code == 403
    assert server.logged(question, expect=0) == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "aes", "wecom"])
def test_retries_of_one_message_inside_the_window_get_the_same_reply(server, kind):
    question = f"职工在年休假期间工资怎么算？（{kind}）"
    xml = message_xml(kind, question, next(msg_ids))
    replies = [reply_text(kind, send(server, kind, xml, now(offset))) for offset in (-200, -100, 0, 250)]
    assert len(set(replies)) == 1 and replies[0]
    assert server.logged(question, expect=1) == 1


@pytest.mark.slow
def test_the_start_up_log_names_only_what_is_unavailable(server):
    warnings = [line for line in server.log_path.read_text().splitlines() if "WARNING" in line]
    oa = [line for line in warnings if "微信公众号" in line]
    assert len(oa) == 1 and "缺少 POLICYQA_WECHAT_SECRET —— 超时的回答无法通过客服消息补发" in oa[0]
    assert not any("安全模式" in line for line in warnings)  # it works: AES key and AppID are set
    assert any("缺少 POLICYQA_WECOM_SECRET, POLICYQA_WECOM_AGENT_ID —— 超时的回答无法通过应用消息补发" in line
               for line in warnings)


def settings_for(tmp_path, **env) -> Settings:
    return Settings.load({"POLICYQA_HOME": str(tmp_path), **env}, data_dir=tmp_path / "data",
                         corpus_dir=DATA / "small_corpus", index_dir=tmp_path / "index")


def test_without_the_aes_key_the_log_says_safe_mode_is_unavailable(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="assistant.web.wechat.routes")
    assert make_channel("wechat", AppState(settings_for(tmp_path, POLICYQA_WECHAT_TOKEN=OA["token"]))) is not None
    messages = [r.getMessage() for r in caplog.records]
    assert any("POLICYQA_WECHAT_AES_KEY, POLICYQA_WECHAT_APPID —— 安全模式" in m for m in messages)
    assert any("POLICYQA_WECHAT_SECRET, POLICYQA_WECHAT_APPID —— 超时的回答无法通过客服消息补发" in m for m in messages)


def test_the_replay_window_is_a_setting(tmp_path):
    settings = settings_for(tmp_path, POLICYQA_WECHAT_TOKEN=OA["token"], POLICYQA_WECHAT_REPLAY_WINDOW="60")
    channel = make_channel("wechat", AppState(settings))
    xml = message_xml("plain", "年休假几天？", next(msg_ids))
    _, query, body = signed_request("plain", xml, now(-90))
    with pytest.raises(StaleRequest):
        channel.receive(query, body.encode())
    _, query, body = signed_request("plain", xml, now(-30))
    assert "助手正在启动" in channel.receive(query, body.encode())  # accepted: the bot answers (not started here)
