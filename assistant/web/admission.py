"""Admission control for the question endpoints: a bounded number of questions computed at
once, a bounded line of waiting ones, and a clear 503 beyond — so a burst (a whole class
asking after a meeting) queues briefly instead of piling up threads until nothing answers."""
from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response

log = logging.getLogger(__name__)

GUARDED = ("/api/ask", "/api/search", "/v1/chat/completions")
OVERLOADED = "服务繁忙，请稍后再试 / the service is busy, please retry shortly"


class AdmissionControl:
    def __init__(self, app: ASGIApp, max_concurrent: int, max_queue: int, queue_timeout: float):
        self.app = app
        self.max_concurrent, self.max_queue, self.queue_timeout = max_concurrent, max_queue, queue_timeout
        self._slots: asyncio.Semaphore | None = None  # made in the serving loop
        self.waiting = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in GUARDED:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        if self.waiting >= self.max_queue:
            await self._refuse(scope, receive, send, "queue full")
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_timeout)
        except asyncio.TimeoutError:
            await self._refuse(scope, receive, send, "waited too long")
            return
        finally:
            self.waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        self.refused += 1
        if self.refused % 100 == 1:
            log.warning("overloaded (%s): %d requests refused so far", why, self.refused)
        response = error_response(scope["path"], 503, "overloaded", OVERLOADED, headers={"Retry-After": "1"})
        await response(scope, receive, send)
