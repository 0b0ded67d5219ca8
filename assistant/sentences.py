"""Sentence segmentation for Chinese policy text, by offsets so quotes stay verbatim.

A sentence ends at 。！？ (or their ASCII forms, which news copy often uses), at a line
break (every 项 is its own line), and — inside a long sentence — at ；, which in statutes
separates self-contained provisions ("已满10年不满20年的，年休假10天；").
"""
from __future__ import annotations

import re

_END = re.compile(r"[。！？!?]+[”’」』）)\"']*|\n+")
_SEMI = re.compile(r"[；;][”’」』）)]*")
LONG_SENTENCE = 80


def sentence_spans(text: str, start: int = 0, end: int | None = None,
                   semicolons: bool = True) -> list[tuple[int, int]]:
    """Spans [s, e) of the sentences in text[start:end], whitespace trimmed, in order.
    With semicolons=False a long sentence is kept whole."""
    end = len(text) if end is None else end
    split = _split_long if semicolons else _whole
    spans: list[tuple[int, int]] = []
    pos = start
    for match in _END.finditer(text, start, end):
        cut = match.start() if match.group().startswith("\n") else match.end()
        spans.extend(split(text, pos, cut))
        pos = match.end()
    spans.extend(split(text, pos, end))
    return spans


def _whole(text: str, start: int, end: int) -> list[tuple[int, int]]:
    s, e = _trim(text, start, end)
    return [(s, e)] if e > s else []


def _split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    s, e = _trim(text, start, end)
    if e <= s:
        return []
    if e - s <= LONG_SENTENCE:
        return [(s, e)]
    out, pos = [], s
    for match in _SEMI.finditer(text, s, e):
        piece = _trim(text, pos, match.end())
        if piece[1] > piece[0]:
            out.append(piece)
        pos = match.end()
    tail = _trim(text, pos, e)
    if tail[1] > tail[0]:
        out.append(tail)
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
