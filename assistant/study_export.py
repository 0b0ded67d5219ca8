"""A study pack as Markdown or as a Word document (python-docx): the same content — outline,
key clauses as quotations, the comparison table, discussion questions, the quiz, and the
answer key (on a page of its own in Word)."""
from __future__ import annotations

import io

from .quiz import LETTERS
from .study import StudyPack

KIND_NAMES = {"blank": "填空", "choice": "单选", "truefalse": "判断"}
NUMERALS = "一二三四五六七八九十"


def _sections(pack: StudyPack) -> list[str]:
    names = ["学习提纲", "重点条文"] + (["对照"] if pack.comparison else []) + ["研讨题", "测验题"]
    return [f"{NUMERALS[i]}、{name}" for i, name in enumerate(names)]


def _quote(lead_in: str, quote: str) -> str:
    return f"{lead_in}……{quote}" if lead_in else quote


def quoted(text: str) -> str:
    """Text in quotation marks, its own quotation marks nested as Chinese writing nests them
    (“……‘无会日’……”), so that no mark ever stands doubled."""
    return "“" + text.translate(_NESTED) + "”"


_NESTED = str.maketrans("“”", "‘’")


def _intro(pack: StudyPack) -> list[str]:
    lines = [f"依据知识库中的文件整理，条文均为原文摘录。涉及文件：{'、'.join(pack.documents)}。"]
    return ([pack.basis] if pack.basis else []) + lines


def to_markdown(pack: StudyPack) -> str:
    heads = dict(zip(["outline", "clauses", *(["comparison"] if pack.comparison else []), "discussion", "quiz"],
                     _sections(pack)))
    out = [f"# {pack.title}", ""]
    for line in _intro(pack):
        out += [f"> {line}", ""]
    out += [f"## {heads['outline']}", ""]
    for i, theme in enumerate(pack.themes, 1):
        out.append(f"{i}. {theme.name}：" + "；".join(k.label for k in theme.clauses))
    out += ["", f"## {heads['clauses']}", ""]
    for i, theme in enumerate(pack.themes, 1):
        out += [f"### {i}. {theme.name}", ""]
        for key in theme.clauses:
            out += [f"**{key.label}**（{key.status}）", "", "> " + _quote(key.lead_in, key.quote).replace("\n", "\n> "), ""]
    if pack.comparison:
        out += [f"## {heads['comparison']}", "", "| 要点 | 文件 | 条文 | 原文 |", "|---|---|---|---|"]
        for row in pack.comparison:
            for j, (doc, label, quote) in enumerate(row.cells):
                cell = quote.replace("|", "｜").replace("\n", " ")
                out.append(f"| {row.point if j == 0 else ''} | {doc} | {label} | {cell} |")
        out.append("")
    out += [f"## {heads['discussion']}", ""]
    out += [f"{i}. {d.question}（依据：{d.label}）" for i, d in enumerate(pack.discussion, 1)]
    out += ["", f"## {heads['quiz']}（共 {len(pack.quiz)} 题）", ""]
    for i, item in enumerate(pack.quiz, 1):
        out.append(f"{i}. 【{KIND_NAMES[item.kind]}】{item.stem}")
        if item.kind == "choice":
            out.append("   " + "　".join(f"{LETTERS[j]}. {o}" for j, o in enumerate(item.options)))
    out += ["", "---", "", "## 测验答案", ""]
    for i, item in enumerate(pack.quiz, 1):
        out.append(f"{i}. 答案：{_answer(item)}　依据：{item.label}　原文：{quoted(item.quote)}")
    if pack.notes:
        out += ["", "## 说明", ""] + [f"- {note}" for note in pack.notes]
    return "\n".join(out) + "\n"


def _answer(item) -> str:
    if item.kind == "choice":
        return f"{item.answer}（{item.answer_text}）"
    if item.kind == "truefalse" and item.answer == "错误":
        return f"错误（原文为{quoted(item.answer_text)}）"
    return item.answer


def to_docx(pack: StudyPack) -> bytes:
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    heads = _sections(pack)
    document.add_heading(pack.title, level=0)
    for line in _intro(pack):
        document.add_paragraph(line)
    h = iter(heads)

    document.add_heading(next(h), level=1)
    for theme in pack.themes:
        document.add_paragraph(f"{theme.name}：" + "；".join(k.label for k in theme.clauses), style="List Number")

    document.add_heading(next(h), level=1)
    for i, theme in enumerate(pack.themes, 1):
        document.add_heading(f"{i}. {theme.name}", level=2)
        for key in theme.clauses:
            label = document.add_paragraph()
            label.add_run(key.label).bold = True
            label.add_run(f"（{key.status}）")
            document.add_paragraph(_quote(key.lead_in, key.quote), style="Quote")

    if pack.comparison:
        document.add_heading(next(h), level=1)
        table = document.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("要点", "文件", "条文", "原文")):
            cell.text = text
        for row in pack.comparison:
            for j, (doc, label, quote) in enumerate(row.cells):
                cells = table.add_row().cells
                for cell, text in zip(cells, (row.point if j == 0 else "", doc, label, quote)):
                    cell.text = text

    document.add_heading(next(h), level=1)
    for d in pack.discussion:
        document.add_paragraph(f"{d.question}（依据：{d.label}）", style="List Number")

    document.add_heading(f"{next(h)}（共 {len(pack.quiz)} 题）", level=1)
    for i, item in enumerate(pack.quiz, 1):
        document.add_paragraph(f"{i}. 【{KIND_NAMES[item.kind]}】{item.stem}")
        if item.kind == "choice":
            document.add_paragraph("　".join(f"{LETTERS[j]}. {o}" for j, o in enumerate(item.options)))

    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_heading("测验答案", level=1)
    for i, item in enumerate(pack.quiz, 1):
        paragraph = document.add_paragraph(f"{i}. 答案：{_answer(item)}　")
        paragraph.add_run(f"依据：{item.label}").bold = True
        document.add_paragraph(item.quote, style="Quote")
    if pack.notes:
        document.add_heading("说明", level=1)
        for note in pack.notes:
            document.add_paragraph(note, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
