"""The one `Answer` type every front end renders (web chat, REST, WeChat, CLI, study packs)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .clause import Clause


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] marker in the answer text
    doc_id: str
    title: str  # the document's full title
    label: str  # exact place: 《中华人民共和国公务员法》第十四章 第九十三条 / …第四条第（四）项
    short_label: str  # for small screens: 《公务员法》第九十三条
    status: str  # 现行有效 / 新闻报道… — whether the text is in force
    text: str  # the whole clause, a contiguous verbatim span of the source document
    quote: str  # the sentences relied on, a contiguous verbatim substring of text
    lead_in: str  # for a quote of a 项: the lead-in sentence of its 款, shown before it; else ""
    score: float
    clause_id: str = ""
    source: str = ""  # file in the corpus
    start: int = 0  # offsets of text in the source document
    end: int = 0

    @classmethod
    def from_clause(cls, n: int, clause: "Clause", start: int, end: int, score: float,
                    status: str = "") -> "Citation":
        """The citation of clause.text[start:end]: the smallest 款/项 holding it, its lead-in."""
        return cls(n=n, doc_id=clause.doc_id, title=clause.title, label=clause.label_for(start, end),
                   short_label=clause.short_label_for(start, end), status=status or clause.status, text=clause.text,
                   quote=clause.text[start:end], lead_in=clause.lead_in_for(start, end), score=round(float(score), 6),
                   clause_id=clause.id, source=clause.source, start=clause.start, end=clause.end)


@dataclass(frozen=True)
class Answer:
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    mode: str = "extractive"
    question: str = ""
    standalone_question: str = ""  # the question after folding in earlier turns
    notes: list[str] = field(default_factory=list)  # caveats on the cited documents' status
    refusal_reason: str = ""  # "not_covered" | "out_of_scope" | "injection" | ""
    # "low": a tentative answer — no clause answers the question directly, these may be related.
    confidence: str = "high"
    fallback_reason: str = ""
    checks: list[str] = field(default_factory=list)
    latency_ms: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def with_notes(text: str, notes: list[str]) -> str:
    """The answer text with its caveats, each on a line of its own."""
    return text + "".join(f"\n注：{note}" for note in notes)


def noted(answer: Answer, note: str) -> Answer:
    """The answer with one more caveat, in its notes and at the end of its text."""
    if not note:
        return answer
    return replace(answer, notes=[*answer.notes, note], answer=with_notes(answer.answer, [note]))
