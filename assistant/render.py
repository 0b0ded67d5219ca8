"""Every way an answer is shown: HTML for the web chat, plain text for chat clients, and the
short plain text of a phone (WeChat) — for an `Answer` and for a 容错自查 result."""
from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from .answer import Answer, Citation

if TYPE_CHECKING:
    from .self_check import SelfCheckResult

_MARKER = re.compile(r"\[(\d+)\]")

# Offered to a new user by the web chat and the WeChat welcome (written for the product, not
# taken from any evaluation set).
EXAMPLE_QUESTIONS = (
    "受了记过处分，多长时间不能提拔？",
    "推进改革时因为缺乏经验出了失误，能不能容错？",
    "参加工作十二年了，一年有几天带薪年假？",
    "事业单位工作人员年度考核不合格会有什么后果？",
)


def clause_html(c: Citation) -> str:
    """The whole clause, with the quoted sentences (and a 项's lead-in) highlighted."""
    text = c.text
    marks: list[tuple[int, int, str]] = []
    q = text.find(c.quote)
    if q >= 0:
        marks.append((q, q + len(c.quote), "quote"))
    if c.lead_in:
        li = text.find(c.lead_in)
        if 0 <= li and (q < 0 or li + len(c.lead_in) <= q):
            marks.append((li, li + len(c.lead_in), "lead-in"))
    out, pos = [], 0
    for start, end, cls in sorted(marks):
        out.append(html.escape(text[pos:start]))
        out.append(f'<mark class="{cls}">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n\n", "<br>").replace("\n", "<br>")


def citation_heading(c: Citation) -> str:
    """[n], the short label the answer text uses, then the full label: the reader sees which
    mention in the text this citation is, and exactly where it stands in the document."""
    heading = f'<span class="ref">[{c.n}]</span> {html.escape(c.short_label or c.label)}'
    if c.short_label and c.short_label != c.label:
        heading += f'<span class="full-label">（{html.escape(c.label)}）</span>'
    return heading


def answer_html(answer: Answer) -> str:
    body = html.escape(answer.answer).replace("\n", "<br>")
    body = _MARKER.sub(r'<sup class="ref">[\1]</sup>', body)
    if answer.confidence == "low":  # a tentative answer is marked as such before anything else
        body = f'<span class="tentative-label" title="依据不够确定，请核对原文">仅供参考</span>{body}'
    css = "answer tentative" if answer.confidence == "low" else "answer"
    if not answer.citations:
        return f'<div class="{css}">{body}</div>'
    parts = [f'<div class="{css}">{body}</div>', '<div class="citations">']
    for c in answer.citations:
        parts.append(
            f'<details class="citation"><summary>{citation_heading(c)} · '
            f'<span class="status">{html.escape(c.status)}</span></summary>'
            f'<div class="clause">{clause_html(c)}</div></details>'
        )
    parts.append("</div>")
    if answer.checks:
        items = "".join(f"<li>{html.escape(c)}</li>" for c in answer.checks)
        parts.append(f'<details class="checks"><summary>引用核对：{len(answer.checks)} 项处理</summary>'
                     f"<ul>{items}</ul></details>")
    return "".join(parts)


def answer_plain(answer: Answer) -> str:
    """Answer text followed by its sources, for clients that show plain text."""
    if not answer.citations:
        return answer.answer
    sources = "\n".join(f"[{c.n}] {c.label}（{c.status}）" for c in answer.citations)
    return f"{answer.answer}\n\n依据：\n{sources}"


def phone_text(answer: Answer) -> str:
    """For a phone: the answer and its sources by their short labels."""
    if not answer.citations:
        return answer.answer
    sources = "；".join(f"[{c.n}]{c.short_label}" for c in answer.citations)
    return f"{answer.answer}\n依据：{sources}"


SELF_CHECK = "容错自查"  # also what a WeChat message starts with to ask for one
SELF_CHECK_QUESTIONS = 8  # questions listed in a phone message; the web page has them all
SELF_CHECK_PROVISIONS = 4


def self_check_text(result: SelfCheckResult) -> str:
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
