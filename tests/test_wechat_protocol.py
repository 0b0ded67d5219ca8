"""The WeChat/WeCom protocol pieces against the official published samples."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from assistant.answer import Answer, Citation
from assistant.render import phone_text
from assistant.web.wechat.crypto import CryptoError, MessageCrypto, SignatureError, check_signature, signature
from assistant.web.wechat.messages import MessageError, cdata, parse_fields, parse_message, text_reply
from assistant.web.wechat.split import split_utf8, truncate_utf8

from conftest import DATA

VECTORS = json.loads((DATA / "wechat-test-vectors.json").read_text(encoding="utf-8"))
OA, WECOM = VECTORS["official_account"], VECTORS["wecom"]


def oa_crypto():
    return MessageCrypto(OA["token"], OA["encoding_aes_key"], OA["appid"])


def wecom_crypto():
    return MessageCrypto(WECOM["token"], WECOM["encoding_aes_key"], WECOM["corpid"])


def test_official_account_signatures():
    assert signature(OA["token"], OA["timestamp"], OA["nonce"]) == OA["get_signature_for_same_token_timestamp_nonce"]
    assert signature(OA["token"], OA["timestamp"], OA["nonce"], OA["encrypt"]) == OA["msg_signature"]
    with pytest.raises(SignatureError):
        check_signature(OA["msg_signature"], OA["token"], OA["timestamp"], "1", OA["encrypt"])


def test_official_account_sample_decrypts():
    assert oa_crypto().decrypt(OA["encrypt"]) == OA["decrypts_to"]


def test_wecom_url_verification_sample():
    v = WECOM["verify_url"]
    check_signature(v["msg_signature"], WECOM["token"], v["timestamp"], v["nonce"], v["echostr"])
    assert wecom_crypto().decrypt(v["echostr"]) == v["plaintext"]


def test_wecom_message_sample():
    m = WECOM["decrypt_msg"]
    check_signature(m["msg_signature"], WECOM["token"], m["timestamp"], m["nonce"], m["encrypt"])
    xml = wecom_crypto().decrypt(m["encrypt"])
    assert xml == m["decrypts_to"]
    message = parse_message(xml)
    assert (message.content, message.msg_id, message.from_user) == (m["content"], "1456453720", "ChenJiaShun")


def test_a_payload_for_another_account_is_refused():
    other = MessageCrypto(OA["token"], OA["encoding_aes_key"], "wx0000000000000000")
    with pytest.raises(CryptoError, match="another account"):
        other.decrypt(OA["encrypt"])
    with pytest.raises(CryptoError):
        oa_crypto().decrypt("not base64!!")
    with pytest.raises(ValueError):
        MessageCrypto("t", "short", "id")


def test_encryption_with_a_fixed_prefix_is_deterministic_and_round_trips():
    crypto = oa_crypto()
    prefix = b"0123456789abcdef"
    first, second = crypto.encrypt("<xml>回复</xml>", prefix), crypto.encrypt("<xml>回复</xml>", prefix)
    assert first == second and crypto.decrypt(first) == "<xml>回复</xml>"
    assert crypto.encrypt("<xml>回复</xml>") != crypto.encrypt("<xml>回复</xml>")  # random prefix


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_round_trips(text):
    crypto = wecom_crypto()
    assert crypto.decrypt(crypto.encrypt(text)) == text


def test_cdata_survives_its_own_terminator_and_control_characters():
    message = parse_message(OA["decrypts_to"])
    xml = text_reply(message, "条文]]>引用\x01结束 😀")
    assert parse_fields(xml)["Content"] == "条文]]>引用结束 😀"
    assert cdata("a]]>b]]>c").count("<![CDATA[") == 3


@pytest.mark.parametrize("body", [
    b"not xml at all",
    b"<xml><FromUserName>a</FromUserName>",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><Content>&xxe;</Content></xml>",
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b"<xml><Content>&lol2;</Content></xml>",
    "<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><Content>\x01\x02</Content></xml>".encode(),
    b"<html><FromUserName>a</FromUserName></html>",
    b"<xml><Content>no sender</Content></xml>",
    b"<xml>" + b"<A>x</A>" * 10000 + b"</xml>",
])
def test_hostile_or_broken_xml_is_refused(body):
    with pytest.raises(MessageError):
        parse_message(body)


def test_splitting_respects_characters_emoji_and_the_byte_limit():
    text = "政策" * 300 + "👨‍👩‍👧" * 50 + "\n" + "🇨🇳" * 100
    parts = split_utf8(text, 2048)
    assert all(len(p.encode("utf-8")) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    for part in parts:
        assert not part.startswith("\u200d") and "\u200d" != part[-1]


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=4000), st.integers(min_value=16, max_value=600))
def test_split_never_exceeds_the_limit_nor_loses_text(text, limit):
    import regex

    parts = split_utf8(text, limit)
    assert all(len(p.encode("utf-8")) <= limit for p in parts)
    # Only whitespace at the cuts may go (and a single character cluster wider than a whole message).
    kept = "".join(g for g in regex.findall(r"\X", text) if len(g.encode("utf-8")) <= limit)
    visible = lambda s: "".join(ch for ch in s if not ch.isspace())  # noqa: E731
    assert visible("".join(parts)) == visible(kept)


def test_truncation_keeps_the_note_within_the_limit():
    out = truncate_utf8("字" * 2000, 2048, "\n（内容较长）")
    assert len(out.encode("utf-8")) <= 2048 and out.endswith("（内容较长）")


def test_phone_text_uses_short_labels():
    citation = Citation(n=1, doc_id="d", title="t", label="《中华人民共和国公务员法》第十四章 第九十三条",
                        short_label="《公务员法》第九十三条", status="现行有效", text="x", quote="x", lead_in="", score=1)
    text = phone_text(Answer(answer="……[1]", refused=False, citations=[citation]))
    assert text.endswith("依据：[1]《公务员法》第九十三条") and "|" not in text
