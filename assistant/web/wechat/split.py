"""Text cut to the byte limit of one WeChat message: split between characters (whole emoji
included), never inside one. What the text says is rendered by assistant/render.py."""
from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


def split_utf8(text: str, max_bytes: int) -> list[str]:
    """Parts of at most max_bytes UTF-8 bytes each, cut at a line break where one is near,
    otherwise between grapheme clusters (a flag or a family emoji is never cut)."""
    if max_bytes < 8:
        raise ValueError("max_bytes too small")
    parts: list[str] = []
    current, size, last_break = [], 0, -1
    for grapheme in _GRAPHEME.findall(text):
        width = len(grapheme.encode("utf-8"))
        if size + width > max_bytes and current:
            cut = last_break + 1 if last_break > len(current) // 2 else len(current)
            parts.append("".join(current[:cut]))
            current = current[cut:]
            size = sum(len(g.encode("utf-8")) for g in current)
            last_break = max((i for i, g in enumerate(current) if g == "\n"), default=-1)
        if width > max_bytes:  # a single cluster longer than a message: drop it rather than cut it
            continue
        current.append(grapheme)
        size += width
        if grapheme == "\n":
            last_break = len(current) - 1
    if current:
        parts.append("".join(current))
    return [p.strip("\n") for p in parts if p.strip()]


def truncate_utf8(text: str, max_bytes: int, note: str) -> str:
    """The first part that fits with `note` appended, when the rest cannot be sent."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    head = split_utf8(text, max_bytes - len(note.encode("utf-8")))[0]
    return head + note
