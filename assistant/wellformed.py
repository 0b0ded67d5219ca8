"""Text that Python can hold but UTF-8 cannot carry: a lone UTF-16 surrogate. JSON's
"\\ud800" (and raw bytes ED A0 80, which json.loads lets through) decode to one, and it
fails far from where it came in — in SQLite, in the JSON of the response. So text from
outside is checked once, on the way in: every API request body (web/requests.py) and every
question (Assistant), whatever the channel."""
from __future__ import annotations

import re

from .bilingual import bilingual

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a str holds a valid pair as one code point
INVALID_TEXT = "invalid_text"
INVALID_TEXT_ZH, INVALID_TEXT_EN = "文字中含有无效字符：不成对的 UTF-16 代理项", "the text contains a lone UTF-16 surrogate"
INVALID_TEXT_MESSAGE = bilingual(INVALID_TEXT_ZH, INVALID_TEXT_EN)


def malformed(value: object) -> bool:
    """Whether any string in `value` — nested lists and dicts, keys too — has a lone surrogate.
    Iterative, so JSON nested as deep as the parser allows cannot overflow the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def repaired(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, for records that must be kept."""
    return _LONE_SURROGATE.sub("\ufffd", text)
