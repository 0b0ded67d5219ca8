"""What the WeChat bot does with a message: answer each message once, within WeChat's
5-second window or else through the customer-service API, per-user rate limit and memory.

WeChat retries a message it got no reply to (same MsgId) up to three times; a retry waits
for the first computation and gets the same reply. When the answer is not ready by the
deadline, the reply is a short holding message and the answer follows as a
customer-service message once it is ready.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from ..app_state import AppState, NotReady
from ...bounded import BoundedCache
from ...condense import Turn
from ...render import EXAMPLE_QUESTIONS, SELF_CHECK, phone_text, self_check_text
from ...service import QuestionError
from .customer_service import CustomerService, DeliveryError
from .messages import Incoming
from .split import split_utf8, truncate_utf8

log = logging.getLogger(__name__)


WELCOME = ("您好！我是干部政策问答助手，只依据收录的政策文件回答，并注明出处。可以这样问：\n"
           + "\n".join(f"· {example}" for example in EXAMPLE_QUESTIONS)
           + "\n发送“容错自查”加上情况描述，可对照容错相关条款逐条自查。")
NOT_TEXT = "目前只能回答文字提问。\n" + WELCOME.split("\n", 1)[1]
HOLDING = "正在查询相关规定，请稍候，答案将随后发送。"
SLOW = "查询用时较长，请稍后重新发送您的问题。"
RATE_LIMITED = "您提问有些频繁，请稍等一分钟再问。"
NOT_READY = "助手正在启动，请稍后再问。"
FAILED = "抱歉，暂时无法回答，请稍后再试。"
TRUNCATED = "\n（内容较长，完整回答请到网页版查看）"

SEEN_TTL = 300  # seconds a MsgId is remembered at least (WeChat retries within ~15 s)
MEMORY_TTL = 1800  # a conversation is forgotten after 30 idle minutes
MEMORY_TURNS = 3  # question/answer pairs kept per user
MAX_USERS = 10000  # bound on users tracked by memory and the rate limiter


@dataclass
class _Entry:
    ready: threading.Event = field(default_factory=threading.Event)
    reply: str | None = None  # the passive reply; None: reply "success" (nothing)


class WeChatBot:
    def __init__(self, state: AppState, channel: str, sender: CustomerService | None, *,
                 deadline: float, rate_limit: int, max_bytes: int, replay_window: int, workers: int = 4):
        self.state, self.channel, self.sender = state, channel, sender
        self.deadline, self.rate_limit, self.max_bytes = deadline, rate_limit, max_bytes
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{channel}-answer")
        # A signed message is accepted while its timestamp is within ±replay_window of now, so up
        # to 2 × replay_window after it first came: remembered that long, a replay gets the first
        # reply and is not answered (or logged) again.
        self._seen: BoundedCache[_Entry] = BoundedCache(MAX_USERS * 4, ttl=max(SEEN_TTL, 2 * replay_window))
        self._asked: BoundedCache[deque] = BoundedCache(MAX_USERS)
        self._memory: BoundedCache[deque] = BoundedCache(MAX_USERS)
        self._lock = threading.Lock()

    # ---- the entry point -----------------------------------------------------------
    def reply_to(self, message: Incoming) -> str | None:
        """The text of the passive reply, or None for no reply."""
        if message.msg_type == "event":
            return WELCOME if message.event == "subscribe" else None
        if message.msg_type != "text":
            return NOT_TEXT
        entry, first = self._seen.get_or_create(message.dedupe_key, _Entry)
        if not first:  # a retry: same reply as the first delivery, no second computation
            entry.ready.wait(self.deadline + 1)
            return entry.reply
        try:
            entry.reply = self._first_reply(message)
        finally:
            entry.ready.set()
        return entry.reply

    def _first_reply(self, message: Incoming) -> str:
        if self._too_many(message.from_user):
            return RATE_LIMITED
        future = self._pool.submit(self._answer_parts, message)
        try:
            parts = future.result(timeout=self.deadline)
        except FutureTimeout:
            if self.sender is None:
                log.warning("%s: answer not ready within %.1f s and no customer-service API configured",
                            self.channel, self.deadline)
                return SLOW
            future.add_done_callback(lambda f: self._deliver(message.from_user, f.result()))
            return HOLDING
        return self._passive(message.from_user, parts)

    def _passive(self, user: str, parts: list[str]) -> str:
        """The first part now; the rest through the customer-service API, or a truncation note."""
        if len(parts) == 1:
            return parts[0]
        if self.sender is None:
            return truncate_utf8("\n".join(parts), self.max_bytes, TRUNCATED)
        self._pool.submit(self._deliver, user, parts[1:])
        return parts[0]

    def _deliver(self, user: str, parts: list[str]) -> None:
        for part in parts:
            try:
                self.sender.send_text(user, part)
            except DeliveryError as exc:
                log.error("%s: could not deliver an answer to a user: %s", self.channel, exc)
                return

    # ---- answering -----------------------------------------------------------------
    def _answer_parts(self, message: Incoming) -> list[str]:
        user, question = message.from_user, message.content
        if question.strip().startswith(SELF_CHECK):
            return self._self_check(question.strip()[len(SELF_CHECK):].strip(" ：:，,"))
        try:
            answer = self.state.answer(question, self._history(user), self.channel, user).answer()
        except QuestionError as exc:
            return [exc.zh]
        except NotReady:
            return [NOT_READY]
        except Exception:  # never leave a user without a reply
            log.exception("%s: answering failed", self.channel)
            return [FAILED]
        self._remember(user, answer.question, answer.answer)
        return split_utf8(phone_text(answer), self.max_bytes)

    def _self_check(self, situation: str) -> list[str]:
        """A message starting with 容错自查: a short guide, what the situation already meets, and
        the questions still to answer — no links (a phone chat cannot fill a form)."""
        from ...self_check import SelfCheckError, run

        try:
            result = run(self.state.require(), situation)
        except NotReady:
            return [NOT_READY]
        except SelfCheckError as exc:
            return [exc.zh]
        return split_utf8(self_check_text(result), self.max_bytes)

    def _history(self, user: str) -> list[Turn]:
        with self._lock:
            turns = self._memory.get(user)
            if not turns or time.monotonic() - turns[-1][0] > MEMORY_TTL:
                return []
            return [t for _, q, a in turns for t in (Turn("user", q), Turn("assistant", a))]

    def _remember(self, user: str, question: str, answer: str) -> None:
        with self._lock:
            turns, _ = self._memory.get_or_create(user, lambda: deque(maxlen=MEMORY_TURNS))
            turns.append((time.monotonic(), question, answer))

    def _too_many(self, user: str) -> bool:
        with self._lock:
            now = time.monotonic()
            times, _ = self._asked.get_or_create(user, deque)
            while times and now - times[0] > 60:
                times.popleft()
            if len(times) >= self.rate_limit:
                return True
            times.append(now)
            return False
