"""A clause: the unit the index stores and answers cite.

For laws and regulations a clause is one 条 (or one 款 of a long 条); for a report or
other prose it is one paragraph under its section heading. Its `text` is a contiguous,
verbatim span of the document's source text at [start, end). `units` mark the 款 and 项
inside it so that a quote can be labelled as precisely as it deserves
(`第四条第（四）项`), and a 项 is always shown after the lead-in sentence of its 款.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field

# Bump when the splitter's output for the same file changes, so the index re-embeds.
SPLITTER_VERSION = "4"


@dataclass(frozen=True, slots=True)
class Unit:
    """A 款 or 项 inside a clause; offsets are relative to the clause text."""

    suffix: str  # appended to the clause locator: "第二款", "第（四）项", "第一款第（四）项"
    start: int
    end: int
    lead_start: int = -1  # a 项's lead-in sentence ("……有下列情形之一的，……："), if any
    lead_end: int = -1

    @property
    def is_item(self) -> bool:
        return self.suffix.endswith("项")


def search_text(clause: "Clause") -> str:
    """What is embedded and tokenised: the clause with the document and heading it sits under."""
    return f"{clause.cite_short} {clause.path}\n{clause.text}"


@dataclass(frozen=True, slots=True)  # slots: a large index holds hundreds of thousands
class Clause:
    id: str
    doc_id: str
    source: str  # file name inside the corpus folder
    title: str
    cite_title: str  # 《中华人民共和国公务员法》 / 《意见》（新闻报道）
    cite_short: str  # 《公务员法》
    kind: str
    status: str
    path: str  # 章/节 or section heading(s): "第十四章 退休"
    locator: str  # "第十四章 第九十三条", "·深化容错纠错机制·第2段"
    short_locator: str  # "第九十三条"
    text: str
    start: int  # offsets of text in the source text
    end: int
    body_start: int = 0  # where the content begins after a "第九十三条 " prefix
    units: tuple[Unit, ...] = field(default_factory=tuple)
    note: str = ""  # the document's caveat, shown with any answer citing it
    applies_to: tuple[str, ...] = ()  # the document's audiences (data/audiences.toml)

    @property
    def label(self) -> str:
        return self.cite_title + self.locator

    @property
    def short_label(self) -> str:
        return self.cite_short + self.short_locator

    def unit_for(self, start: int, end: int) -> Unit | None:
        """The smallest 款/项 that contains the span [start, end), if any."""
        containing = [u for u in self.units if u.start <= start and end <= u.end]
        return min(containing, key=lambda u: u.end - u.start, default=None)

    def _locate(self, start: int, end: int) -> tuple[str, tuple[int, int] | None]:
        """(label suffix, lead-in span) for a quote: its 款 or 项, or a run of 项 under one lead-in."""
        unit = self.unit_for(start, end)
        if unit is not None:
            return unit.suffix, ((unit.lead_start, unit.lead_end) if unit.is_item and unit.lead_start >= 0 else None)
        items = [u for u in self.units if u.is_item and u.start < end and start < u.end]
        if len(items) < 2 or start < items[0].start or len({(u.lead_start, u.lead_end) for u in items}) > 1:
            return "", None
        first, last = items[0].suffix, items[-1].suffix
        kuan = first[:first.index("第（")]
        joiner = "、" if len(items) == 2 else "至"
        suffix = kuan + first[len(kuan):] + joiner + last[len(kuan):]
        lead = (items[0].lead_start, items[0].lead_end) if items[0].lead_start >= 0 else None
        return suffix, lead

    def label_for(self, start: int, end: int) -> str:
        return self.label + self._locate(start, end)[0]

    def short_label_for(self, start: int, end: int) -> str:
        return self.short_label + self._locate(start, end)[0]

    def lead_in_for(self, start: int, end: int) -> str:
        """The lead-in a quote of 项 must be shown after ("" when the quote needs none)."""
        lead = self._locate(start, end)[1]
        if lead is None or start <= lead[0]:
            return ""
        return self.text[lead[0]:lead[1]]

    @property
    def vector_key(self) -> str:
        """Identifies what is embedded (the clause under its document and heading): a clause
        whose key is unchanged keeps its vector, whatever else about it changed."""
        return hashlib.sha1(search_text(self).encode("utf-8")).hexdigest()

    @property
    def content_hash(self) -> str:
        """Identifies everything stored about the clause."""
        payload = json.dumps([SPLITTER_VERSION, self.to_metadata(), self.text], ensure_ascii=False)
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()

    def to_metadata(self) -> dict[str, str | int]:
        """Flat metadata as Chroma stores it (scalar values only)."""
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "cite_title": self.cite_title,
            "cite_short": self.cite_short,
            "kind": self.kind,
            "status": self.status,
            "path": self.path,
            "locator": self.locator,
            "short_locator": self.short_locator,
            "label": self.label,
            "note": self.note,
            "applies_to": ",".join(self.applies_to),
            "start": self.start,
            "end": self.end,
            "body_start": self.body_start,
            "units": json.dumps([[u.suffix, u.start, u.end, u.lead_start, u.lead_end] for u in self.units],
                                ensure_ascii=False),
        }

    @classmethod
    def from_record(cls, clause_id: str, text: str, meta: dict) -> "Clause":
        # Document-level strings repeat in every clause of a document: share one copy
        # (a 100,000-clause index would otherwise hold 100,000 copies of each title).
        shared = sys.intern
        return cls(
            id=clause_id,
            doc_id=shared(meta["doc_id"]),
            source=shared(meta["source"]),
            title=shared(meta["title"]),
            cite_title=shared(meta["cite_title"]),
            cite_short=shared(meta["cite_short"]),
            kind=shared(meta["kind"]),
            status=shared(meta["status"]),
            path=shared(meta["path"]),
            locator=meta["locator"],
            short_locator=meta["short_locator"],
            text=text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            body_start=int(meta["body_start"]),
            units=tuple(Unit(*u) for u in json.loads(meta["units"])),
            note=shared(meta.get("note", "")),
            applies_to=tuple(a for a in meta.get("applies_to", "").split(",") if a),
        )
