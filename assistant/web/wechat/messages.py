"""WeChat message XML: parsed with a parser that refuses DTDs and entities (no XXE, no
billion laughs), replies built with every CDATA section kept valid."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BODY_BYTES = 64 * 1024
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class MessageError(ValueError):
    """A body that is not a WeChat message."""


@dataclass(frozen=True)
class Incoming:
    to_user: str
    from_user: str
    create_time: str
    msg_type: str
    content: str = ""
    msg_id: str = ""
    event: str = ""

    @property
    def dedupe_key(self) -> str:
        """WeChat retries a message with the same MsgId; events have none, so sender + time."""
        return self.msg_id or f"{self.from_user}:{self.create_time}:{self.event}"


def parse_fields(body: bytes | str) -> dict[str, str]:
    if len(body) > MAX_BODY_BYTES:
        raise MessageError("message body too large")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MessageError(f"not acceptable XML: {type(exc).__name__}: {exc}") from exc
    if root.tag != "xml":
        raise MessageError(f"unexpected root element <{root.tag}>")
    return {child.tag: (child.text or "") for child in root}


def parse_message(body: bytes | str) -> Incoming:
    fields = parse_fields(body)
    missing = [k for k in ("FromUserName", "MsgType") if not fields.get(k)]
    if missing:
        raise MessageError(f"missing {', '.join(missing)}")
    return Incoming(
        to_user=fields.get("ToUserName", ""), from_user=fields["FromUserName"],
        create_time=fields.get("CreateTime", ""), msg_type=fields["MsgType"].lower(),
        content=fields.get("Content", ""), msg_id=fields.get("MsgId", ""), event=fields.get("Event", "").lower(),
    )


def cdata(text: str) -> str:
    """A CDATA section for any text: "]]>" is split across two sections, and characters
    XML 1.0 forbids are dropped."""
    text = _XML_INVALID.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: Incoming, content: str) -> str:
    return (f"<xml><ToUserName>{cdata(message.from_user)}</ToUserName>"
            f"<FromUserName>{cdata(message.to_user)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(content)}</Content></xml>")


def encrypted_reply(encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
    return (f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>")
