"""Answers as a phone shows them: plain text, short citation labels, within the byte limit
of one WeChat message — split between characters (whole emoji included), never inside one."""
from __future__ import annotations

import regex

from ...answer import Answer

_GRAPHEME = regex.compile(r"\X")


def phone_text(answer: Answer) -> str:
    if not answer.citations:
        return answer.answer
    sources = "；".join(f"[{c.n}]{c.short_label}" for c in answer.citations)
    return f"{answer.answer}\n依据：{sources}"


SELF_CHECK = "容错自查"
SELF_CHECK_QUESTIONS = 8  # questions listed in a phone message; the web page has them all
SELF_CHECK_PROVISIONS = 4


def self_check_text(result) -> str:
    """The self-check on a phone: what the situation meets, red lines first, then the questions
    still open for the provisions that may apply — each with its short citation, no links."""
    if not result.provisions:
        return f"{SELF_CHECK}：知识库中没有关于容错、从轻减轻或者免予处理的条款，无法自查。"
    lines = [f"{SELF_CHECK}（对照公开条文的自查，不是组织认定）"]
    for line in result.red_lines:
        lines.append(f"⚠ 触及红线：{line.citation.short_label}“{line.text}”")
    hopeful = [p for p in result.provisions if p.status in ("may_apply", "open")]
    for p in [p for p in hopeful if any(c.state == "met" for c in p.conditions)][:SELF_CHECK_PROVISIONS]:
        met = [c for c in p.conditions if c.state == "met"]
        lines.append(f"· {p.citation.short_label}（{p.outcome}）：已符合“{met[0].text}”等 {len(met)} 项，请确认")
    unanswered = sorted((c for p in hopeful for c in p.red_lines + p.conditions if c.state == "unknown"),
                        key=lambda c: not c.red_line)
    open_questions = list({c.id: c for c in unanswered}.values())
    if open_questions:
        lines.append("请对照回答（是/否/不清楚）：")
        lines += [f"{i}.{'【红线】' if c.red_line else ''}{c.question}"
                  for i, c in enumerate(open_questions[:SELF_CHECK_QUESTIONS], 1)]
        if len(open_questions) > SELF_CHECK_QUESTIONS:
            lines.append(f"另有 {len(open_questions) - SELF_CHECK_QUESTIONS} 个问题，可在网页版“容错自查”中逐题填写并导出。")
    lines.append(f"示例：{SELF_CHECK} 推进改革试点时因缺乏经验出现失误，没有谋取私利，损失已挽回")
    return "\n".join(lines)


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
