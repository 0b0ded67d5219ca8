"""What a cadre says to the person rather than asks of the rules: a greeting and a request to
ask at the start ("领导好，想请教一下，"), thanks or urgency at the end ("谢谢！", "在线等"),
emoji and WeChat's bracketed emoji codes ("[捂脸]") anywhere. None of it is in any clause: to
retrieval it is noise, and to the gate words the corpus never uses, which make a question look
out of scope. The standalone question is read without it.
"""
from __future__ import annotations

import re

_PAUSE = r"[\s，,。.！!~～、:：；;]*"
_TITLE = r"(?:各位|诸位)?(?:领导|老师|同志|各位|大家|专家|师傅|科长|处长|局长|主任|书记|部长)们?"
_GREETING = (rf"(?:[您你]们?好|{_TITLE}[您你]?好|(?:hello|hi)(?![a-z])|嗨|在吗|打扰(?:一下|了|您了)?|不好意思|"
             r"麻烦(?:您|你)?(?:一下)?|请问(?:一下|下)?|(?:我?想|冒昧)?(?:请教|咨询)(?:您|你)?(?:一下|下|个问题|一个问题)?|"
             r"(?:我?想)?问(?:您|你)?(?:一下|下|个问题|一个问题)|我?想问|求助|请指教|"
             r"(?:好的|嗯+|明白了?|知道了|收到了?|ok)(?=[\s，,。.！!~～、:：；;]|$))")  # an acknowledgement, then a pause
_LEADING = re.compile(rf"^(?:{_GREETING}{_PAUSE})+", re.IGNORECASE)
# Only where the question has ended: 感谢 or 麻烦了 inside a sentence is what it is about.
_THANKS = (r"(?:(?:谢谢(?:您|你|领导|老师|大家)?|多谢|感谢(?:您|你)?)(?:了|啦)?|(?:辛苦|麻烦(?:您|你)?)(?:了|啦)|"
           r"拜托(?:了|啦)?|感激不尽|在线等|急+|求解答|求回复|求指教)")
_TRAILING = re.compile(rf"(?:^|(?<=[\s，,。.！!~～?？]))(?:{_PAUSE}{_THANKS})+{_PAUSE}$")
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]|\[[\u4e00-\u9fff]{1,4}\]")


def plain(text: str) -> str:
    """The question without courtesies (the text as it is when nothing but courtesy is left)."""
    return without_courtesy(text) or text.strip()


def without_courtesy(text: str) -> str:
    """The text without courtesies: "" for a turn that asks nothing ("好的，谢谢！")."""
    kept = _EMOJI.sub("", text).strip()
    return _TRAILING.sub("", _LEADING.sub("", kept)).strip()
