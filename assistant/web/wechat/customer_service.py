"""Messages sent outside the 5-second reply window: 公众号 `message/custom/send`, WeCom
`message/send`, with a cached access token that is refreshed before it expires and once
more when the API says it is no longer valid."""
from __future__ import annotations

import logging
import threading
import time

import httpx

from ...config import ChannelSettings

log = logging.getLogger(__name__)

TOKEN_MARGIN = 300  # refresh this many seconds before the token expires
_STALE_TOKEN = {40001, 40014, 42001}


class DeliveryError(RuntimeError):
    pass


class CustomerService:
    def __init__(self, kind: str, settings: ChannelSettings, timeout: float = 10.0):
        if kind not in ("wechat", "wecom"):
            raise ValueError(kind)
        self.kind, self.settings = kind, settings
        self._http = httpx.Client(base_url=settings.api_base.rstrip("/"), timeout=timeout)
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()

    def _fetch_token(self) -> tuple[str, float]:
        s = self.settings
        if self.kind == "wechat":
            reply = self._http.get("/cgi-bin/token", params={"grant_type": "client_credential", "appid": s.receive_id,
                                                              "secret": s.secret})
        else:
            reply = self._http.get("/cgi-bin/gettoken", params={"corpid": s.receive_id, "corpsecret": s.secret})
        data = reply.json()
        if not data.get("access_token"):
            raise DeliveryError(f"access token refused: {data.get('errcode')} {data.get('errmsg')}")
        return data["access_token"], time.monotonic() + int(data.get("expires_in", 7200)) - TOKEN_MARGIN

    def token(self, refresh: bool = False) -> str:
        with self._lock:
            if refresh or not self._token or time.monotonic() >= self._expires:
                self._token, self._expires = self._fetch_token()
            return self._token

    def send_text(self, user: str, text: str) -> None:
        if self.kind == "wechat":
            path, payload = "/cgi-bin/message/custom/send", {"touser": user, "msgtype": "text", "text": {"content": text}}
        else:
            path = "/cgi-bin/message/send"
            payload = {"touser": user, "msgtype": "text", "agentid": int(self.settings.agent_id or 0),
                       "text": {"content": text}}
        for attempt in range(2):
            try:
                data = self._http.post(path, params={"access_token": self.token(refresh=attempt > 0)},
                                       json=payload).json()
            except (httpx.HTTPError, ValueError) as exc:
                raise DeliveryError(f"customer-service API unreachable: {exc}") from exc
            code = data.get("errcode", 0)
            if code == 0:
                return
            if code not in _STALE_TOKEN:
                break
        raise DeliveryError(f"customer-service API refused the message: {data.get('errcode')} {data.get('errmsg')}")
