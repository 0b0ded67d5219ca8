"""The callback endpoints: GET/POST /wechat (公众号, plaintext or safe mode) and
GET/POST /wecom (企业微信, always encrypted). An endpoint whose settings are missing
answers 404, and start-up logs which setting is missing and what is unavailable without it.
A signed message whose timestamp is outside the replay window is refused (403) unread.

The channels are made once per app (`make_channels`, from create_app, which puts them on
`app.state.wechat`); a route is given its channel by dependency injection."""
from __future__ import annotations

import logging
import time

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from ..app_state import AppState
from ...config import ChannelSettings, Settings
from .bot import WeChatBot
from .crypto import CryptoError, MessageCrypto, SignatureError, StaleRequest, check_signature, check_timestamp
from .customer_service import CustomerService
from .messages import MAX_BODY_BYTES, MessageError, encrypted_reply, parse_fields, parse_message, text_reply

log = logging.getLogger(__name__)

NAMES = {"wechat": "微信公众号", "wecom": "企业微信"}
ID_SETTING = {"wechat": "APPID", "wecom": "CORPID"}
REQUIRED = {"wechat": ["TOKEN"], "wecom": ["TOKEN", "AES_KEY", "CORPID"]}
# What an enabled endpoint cannot do without further settings.
OPTIONAL = {
    "wechat": [(["AES_KEY", "APPID"], "安全模式/兼容模式（加密消息）不可用"),
               (["SECRET", "APPID"], "超时的回答无法通过客服消息补发")],
    "wecom": [(["SECRET", "AGENT_ID"], "超时的回答无法通过应用消息补发")],
}


class Channel:
    """One callback: verify the sender, decrypt, let the bot reply, encrypt the reply."""

    def __init__(self, kind: str, config: ChannelSettings, bot: WeChatBot, crypto: MessageCrypto | None,
                 replay_window: int):
        self.kind, self.config, self.bot, self.crypto = kind, config, bot, crypto
        self.replay_window = replay_window

    def verify_url(self, q: dict) -> str:
        ts, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if self.kind == "wechat":
            check_signature(q.get("signature", ""), self.config.token, ts, nonce)
            return q.get("echostr", "")
        echostr = q.get("echostr", "")
        check_signature(q.get("msg_signature", ""), self.config.token, ts, nonce, echostr)
        return self.crypto.decrypt(echostr)

    def receive(self, q: dict, body: bytes) -> str:
        ts, nonce = q.get("timestamp", ""), q.get("nonce", "")
        encrypted = self.kind == "wecom" or q.get("encrypt_type", "").lower() == "aes"
        if not encrypted:
            check_signature(q.get("signature", ""), self.config.token, ts, nonce)
            check_timestamp(ts, self.replay_window)
            message = parse_message(body)
        else:
            if self.crypto is None:
                raise CryptoError("safe mode needs POLICYQA_WECHAT_AES_KEY and POLICYQA_WECHAT_APPID")
            envelope = parse_fields(body)
            check_signature(q.get("msg_signature", ""), self.config.token, ts, nonce, envelope.get("Encrypt", ""))
            check_timestamp(ts, self.replay_window)
            message = parse_message(self.crypto.decrypt(envelope["Encrypt"]))
        reply = self.bot.reply_to(message)
        if reply is None:
            return "success"
        xml = text_reply(message, reply)
        if not encrypted:
            return xml
        sealed = self.crypto.encrypt(xml)
        now = str(int(time.time()))
        return encrypted_reply(sealed, self.crypto.sign(now, nonce, sealed), now, nonce)


def _missing(kind: str, config: ChannelSettings, names: list[str]) -> list[str]:
    fields = {"TOKEN": "token", "AES_KEY": "aes_key", ID_SETTING[kind]: "receive_id", "SECRET": "secret",
              "AGENT_ID": "agent_id"}  # WeCom only
    return [f"POLICYQA_{kind.upper()}_{name}" for name in names if not getattr(config, fields[name])]


def make_channel(kind: str, state: AppState) -> Channel | None:
    settings: Settings = state.settings
    config: ChannelSettings = getattr(settings, kind)
    required = _missing(kind, config, REQUIRED[kind])
    if required:
        log.info("%s接入未启用（/%s 返回 404）：缺少 %s", NAMES[kind], kind, ", ".join(required))
        return None
    crypto = None
    if config.aes_key and config.receive_id:
        try:
            crypto = MessageCrypto(config.token, config.aes_key, config.receive_id)
        except ValueError as exc:
            log.error("%s接入未启用：POLICYQA_%s_AES_KEY 无效（%s）", NAMES[kind], kind.upper(), exc)
            return None
    for names, unavailable in OPTIONAL[kind]:
        missing = _missing(kind, config, names)
        if missing:
            log.warning("%s：缺少 %s —— %s", NAMES[kind], ", ".join(missing), unavailable)
    can_send = config.secret and config.receive_id and (kind == "wechat" or config.agent_id)
    sender = CustomerService(kind, config) if can_send else None
    bot = WeChatBot(state, kind, sender, deadline=settings.wechat_deadline, rate_limit=settings.wechat_rate_limit,
                    max_bytes=settings.wechat_max_bytes, replay_window=settings.wechat_replay_window)
    log.info("%s接入已启用：/%s", NAMES[kind], kind)
    return Channel(kind, config, bot, crypto, settings.wechat_replay_window)


def make_channels(state: AppState) -> dict[str, Channel | None]:
    """Each endpoint's channel, None where its settings are missing; the log says which."""
    return {kind: make_channel(kind, state) for kind in NAMES}


def get_channels(request: Request) -> dict[str, Channel | None]:
    return request.app.state.wechat


Channels = Annotated[dict[str, Channel | None], Depends(get_channels)]
router = APIRouter(tags=["WeChat"])


def _register(kind: str) -> None:
    not_configured = PlainTextResponse(f"{NAMES[kind]}接入未配置 / not configured", status_code=404)

    @router.get(f"/{kind}", summary=f"{NAMES[kind]} URL verification")
    def verify(request: Request, channels: Channels):
        channel = channels[kind]
        if channel is None:
            return not_configured
        try:
            return PlainTextResponse(channel.verify_url(dict(request.query_params)))
        except SignatureError as exc:
            log.warning("%s: URL verification refused: %s", kind, exc)
            return PlainTextResponse("forbidden", status_code=403)
        except CryptoError as exc:
            log.warning("%s: URL verification with an undecryptable echostr: %s", kind, exc)
            return PlainTextResponse("bad request", status_code=400)

    @router.post(f"/{kind}", summary=f"{NAMES[kind]} message callback")
    async def receive(request: Request, channels: Channels):
        channel = channels[kind]
        if channel is None:
            return not_configured
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            log.warning("%s: refused a %d-byte body", kind, len(body))
            return PlainTextResponse("too large", status_code=413)
        query = dict(request.query_params)
        try:
            reply = await run_in_threadpool(channel.receive, query, body)
        except StaleRequest as exc:
            log.warning("%s: refused a message outside the replay window: %s", kind, exc)
            return PlainTextResponse("forbidden", status_code=403)
        except SignatureError as exc:
            log.warning("%s: refused an unsigned message: %s", kind, exc)
            return PlainTextResponse("forbidden", status_code=403)
        except (CryptoError, MessageError) as exc:
            log.warning("%s: refused a malformed message: %s", kind, exc)
            return PlainTextResponse("bad request", status_code=400)
        except Exception:  # WeChat must never see a 500: it would retry the same failure
            log.exception("%s: unexpected error", kind)
            return PlainTextResponse("success")
        media = "text/plain" if reply == "success" else "application/xml"
        return Response(reply, media_type=media)


for _kind in NAMES:
    _register(_kind)
