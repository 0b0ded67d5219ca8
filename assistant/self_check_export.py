"""A self-check result as Markdown or a Word document, for a talk with the organisation
department: red lines first, then each provision with its conditions and their state, the
procedure, and the notice that this is a self-check, not a determination."""
from __future__ import annotations

import io

from .self_check import MET, NOT_MET, SelfCheckResult

STATUS_NAMES = {"excluded": "触及红线，不适用", "may_apply": "条件已满足，可能适用", "open": "尚待确认",
                "not_met": "条件不满足"}
STATE_NAMES = {MET: "符合", NOT_MET: "不符合"}
TITLE = "容错自查结果"


def state_name(condition) -> str:
    if condition.red_line:
        return {MET: "触及", NOT_MET: "未触及"}.get(condition.state, "不清楚")
    return STATE_NAMES.get(condition.state, "不清楚")


def _lines(result: SelfCheckResult) -> list[tuple[str, str]]:
    """(kind, text) pairs both formats render: "h1", "h2", "h3", "p", "quote", "item"."""
    out = [("h1", TITLE), ("p", result.notice)]
    if result.situation:
        out += [("h2", "情况描述"), ("p", result.situation)]
    if result.red_lines:
        out.append(("h2", "触及的红线"))
        for line in result.red_lines:
            out.append(("item", f"{line.citation.short_label}：“{line.text}”——{line.reason}"))
    out.append(("h2", "逐条对照"))
    if not result.provisions:
        out.append(("p", "知识库中没有关于容错、从轻减轻或者免予处理的条款。"))
    for p in result.provisions:
        who = "、".join(p.applies_to)
        out.append(("h3", f"{p.citation.label}（{STATUS_NAMES[p.status]}）"))
        out.append(("quote", f"条件满足时：{p.outcome}。适用于：{who}。效力：{p.citation.status}"))
        for c in p.red_lines + p.conditions:
            prefix = "红线" if c.red_line else "条件"
            out.append(("item", f"[{state_name(c)}] {prefix}：“{c.text}”（{c.citation.short_label}）——{c.reason}"))
    out.append(("h2", "程序：谁申请、谁认定、谁决定、如何申诉"))
    for c in result.procedure:
        out.append(("item", f"{c.short_label}：“{c.quote}”"))
    return out


def to_markdown(result: SelfCheckResult) -> str:
    marks = {"h1": "# ", "h2": "## ", "h3": "### ", "p": "", "quote": "> ", "item": "- "}
    return "\n\n".join(marks[kind] + text for kind, text in _lines(result)) + "\n"


def to_docx(result: SelfCheckResult) -> bytes:
    import docx

    document = docx.Document()
    for kind, text in _lines(result):
        if kind in ("h1", "h2", "h3"):
            document.add_heading(text, level={"h1": 0, "h2": 1, "h3": 2}[kind])
        elif kind == "item":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "quote":
            document.add_paragraph(text, style="Intense Quote")
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
