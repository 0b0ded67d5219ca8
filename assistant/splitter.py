"""Clause-aware splitting: statutes by 章/节/条/款/项, prose by section and paragraph.

A document whose lines start 第一条, 第二条 … is a statute: one clause per 条, a long 条
split by 款 (never inside a sentence), 款 and 项 recorded as units, 章/节 kept as the path.
Anything else is prose: one clause per paragraph under its section heading, where a
heading is a `#` line or a short line without punctuation; consecutive heading lines form
one heading (a news report's title line and its subtitle).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .catalog import DocInfo
from .clause import Clause, Unit
from .numerals import cn_to_int, int_to_cn
from .sentences import sentence_spans

MAX_CLAUSE_CHARS = 400  # a longer 条 with several 款 is split by 款
INFO_END = "<!-- INFO END -->"  # LawRefBook: ends the header with adoption history

_NUM = "零〇一二三四五六七八九十百千"
ARTICLE = re.compile(rf"^第([{_NUM}]+)条(?:之([一二三四五六七八九十]+))?[ \t\u3000]*")
DIVISION = re.compile(rf"^第([{_NUM}]+)(编|章|节)(?:[ \t\u3000]+|$)")
ITEM = re.compile(r"^[（(]([一二三四五六七八九十]+)[）)]")
_SENTENCE_PUNCT = re.compile(r"[。！？!?；;，,：:]")
_META_LINE = re.compile(r"^(时间|来源|作者|编辑|责任编辑|记者|发布时间|发布日期|日期)\s*[:：]")
_MAX_HEADING_CHARS = 24


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str


def split_document(doc: DocInfo, text: str, max_chars: int = MAX_CLAUSE_CHARS) -> list[Clause]:
    begin = text.find(INFO_END)
    begin = 0 if begin < 0 else begin + len(INFO_END)
    lines = _lines(text, begin)
    if _is_statute(lines):
        return _StatuteSplitter(doc, text, max_chars).split(lines)
    return _ProseSplitter(doc, text, max_chars).split(lines)


def _lines(text: str, begin: int) -> list[_Line]:
    out, pos = [], begin
    for raw in text[begin:].split("\n"):
        s, e = pos, pos + len(raw)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(_Line(s, e, text[s:e]))
        pos += len(raw) + 1
    return out


def _is_statute(lines: list[_Line]) -> bool:
    return sum(1 for line in lines if ARTICLE.match(line.text)) >= 2


def _heading_text(line: _Line) -> str | None:
    return line.text.lstrip("#").strip() if line.text.startswith("#") else None


class _Base:
    def __init__(self, doc: DocInfo, text: str, max_chars: int):
        self.doc, self.text, self.max_chars = doc, text, max_chars

    def clause(self, cid: str, path: str, locator: str, short_locator: str, start: int, end: int,
               body_start: int = 0, units: tuple[Unit, ...] = ()) -> Clause:
        d = self.doc
        return Clause(
            id=f"{d.id}/{cid}", doc_id=d.id, source=d.file, title=d.title, cite_title=d.cite_title,
            cite_short=d.cite_short, kind=d.kind, status=d.status, path=path, locator=locator,
            short_locator=short_locator, text=self.text[start:end], start=start, end=end,
            body_start=body_start, units=units, note=d.note, applies_to=d.applies_to,
        )


class _StatuteSplitter(_Base):
    def split(self, lines: list[_Line]) -> list[Clause]:
        divisions: dict[str, tuple[str, str]] = {}  # 编/章/节 -> (number, heading)
        articles: list[tuple[dict, list[_Line]]] = []
        preamble: list[_Line] = []
        last_number = 0
        for line in lines:
            heading = _heading_text(line)
            candidate = heading if heading is not None else line.text
            division = DIVISION.match(candidate)
            if division and (heading is not None or self._looks_like_heading(candidate)):
                level = division.group(2)
                number = f"第{division.group(1)}{level}"
                divisions = {k: v for k, v in divisions.items() if "编章节".index(k) < "编章节".index(level)}
                divisions[level] = (number, candidate)
                continue
            if heading is not None:
                continue  # the document title or an unnumbered heading
            article = ARTICLE.match(line.text)
            if article and self._next_article(article, last_number):
                last_number = cn_to_int(article.group(1))
                articles.append(({"match": article, "divisions": dict(divisions)}, [line]))
            elif articles:
                articles[-1][1].append(line)
            else:
                preamble.append(line)
        clauses = _ProseSplitter(self.doc, self.text, self.max_chars).split(preamble, default_section="前言")
        for info, paras in articles:
            clauses.extend(self._article(info, paras))
        return clauses

    @staticmethod
    def _looks_like_heading(line: str) -> bool:
        return len(line) <= 40 and not line.endswith(("。", "；", ";", "，", ","))

    @staticmethod
    def _next_article(match: re.Match, last: int) -> bool:
        """Only the next number starts a 条, so a 款 opening with "第十条规定……" stays a 款."""
        number = cn_to_int(match.group(1))
        return last == 0 or number == last + 1 or (number == last and match.group(2) is not None)

    def _article(self, info: dict, paras: list[_Line]) -> list[Clause]:
        match: re.Match = info["match"]
        name = match.group(0).strip()
        number = cn_to_int(match.group(1))
        cid = f"a{number}" + (f"-{cn_to_int(match.group(2))}" if match.group(2) else "")
        divs = [info["divisions"][k] for k in "编章节" if k in info["divisions"]]
        path = " / ".join(heading for _, heading in divs)
        prefix = "".join(number for number, _ in divs)  # 第二编第六章: 编 above 章, 章 above 节
        body_start = paras[0].start + match.end()
        # 款: each plain paragraph opens one; 项 lines belong to the 款 above them.
        kuan: list[list[_Line]] = []
        for para in paras:
            if ITEM.match(para.text) and kuan:
                kuan[-1].append(para)
            else:
                kuan.append([para])
        start, end = paras[0].start, paras[-1].end
        if end - start <= self.max_chars or len(kuan) == 1:
            units = self._units(kuan, start, body_start, numbered=len(kuan) > 1)
            locator = f"{prefix} {name}" if prefix else name
            return [self.clause(cid, path, locator, name, start, end, body_start - start, units)]
        clauses = []
        for i, group in enumerate(kuan, 1):
            suffix = f"第{int_to_cn(i)}款"
            g_start = group[0].start
            g_body = body_start if i == 1 else g_start
            units = self._units([group], g_start, g_body, numbered=False)
            locator = f"{prefix} {name}{suffix}" if prefix else name + suffix
            clauses.append(self.clause(f"{cid}-k{i}", path, locator, name + suffix, g_start, group[-1].end,
                                       g_body - g_start, units))
        return clauses

    def _units(self, kuan: list[list[_Line]], base: int, body_start: int, numbered: bool) -> tuple[Unit, ...]:
        units: list[Unit] = []
        for i, group in enumerate(kuan, 1):
            kuan_suffix = f"第{int_to_cn(i)}款" if numbered else ""
            if numbered:
                units.append(Unit(kuan_suffix, group[0].start - base, group[-1].end - base))
            lead_para = group[0]
            lead_spans = sentence_spans(self.text, max(lead_para.start, body_start), lead_para.end, semicolons=False)
            lead = lead_spans[-1] if lead_spans else (lead_para.start, lead_para.end)
            for para in group[1:]:
                item = ITEM.match(para.text)
                suffix = f"{kuan_suffix}第（{item.group(1)}）项"
                units.append(Unit(suffix, para.start - base, para.end - base, lead[0] - base, lead[1] - base))
        return tuple(units)


class _ProseSplitter(_Base):
    def split(self, lines: list[_Line], default_section: str | None = None) -> list[Clause]:
        if default_section is None:
            default_section = "导语" if self.doc.kind == "news report" else ""
        lines = self._drop_front_matter(lines)
        clauses: list[Clause] = []
        section, path, number, stack = default_section, default_section, 0, []
        section_index, in_heading = 0, False
        for line in lines:
            heading = _heading_text(line)
            if heading is not None:
                level = len(line.text) - len(line.text.lstrip("#"))
                stack = [(lv, h) for lv, h in stack if lv < level] + [(level, heading)]
                section, path = heading, " / ".join(h for _, h in stack)
                section_index, number, in_heading = section_index + 1, 0, False
                continue
            if self._is_plain_heading(line.text):
                if in_heading:  # a subtitle under the heading just read
                    path = f"{path} / {line.text}"
                else:
                    section, path = line.text, line.text
                    section_index, number, in_heading = section_index + 1, 0, True
                continue
            in_heading = False
            number += 1
            clauses.extend(self._paragraph(line, section, path, section_index, number))
        return clauses

    def _drop_front_matter(self, lines: list[_Line]) -> list[_Line]:
        """A leading title line (the document's own name) and byline/date lines are not content."""
        out = list(lines)
        if out and (out[0].text.startswith("#") or self._is_plain_heading(out[0].text, limit=60)):
            out = out[1:]
        return [line for line in out if not _META_LINE.match(line.text)]

    @staticmethod
    def _is_plain_heading(text: str, limit: int = _MAX_HEADING_CHARS) -> bool:
        return len(text) <= limit and not _SENTENCE_PUNCT.search(text) and not ITEM.match(text) \
            and not text.startswith(("“", "\"", "「"))

    def _paragraph(self, line: _Line, section: str, path: str, section_index: int, number: int) -> list[Clause]:
        where = f"·{section}·第{number}段" if section else f"·第{number}段"
        cid = f"s{section_index}-p{number}"
        if line.end - line.start <= 2 * self.max_chars:
            return [self.clause(cid, path, where, where, line.start, line.end)]
        parts = self._sentence_groups(line)
        return [
            self.clause(f"{cid}-{i}", path, f"{where}（第{i}部分）", f"{where}（第{i}部分）", s, e)
            for i, (s, e) in enumerate(parts, 1)
        ]

    def _sentence_groups(self, line: _Line) -> list[tuple[int, int]]:
        """A very long paragraph in parts of whole sentences, each at most max_chars where possible."""
        groups: list[tuple[int, int]] = []
        for s, e in sentence_spans(self.text, line.start, line.end):
            if groups and e - groups[-1][0] <= self.max_chars:
                groups[-1] = (groups[-1][0], e)
            else:
                groups.append((s, e))
        return groups
