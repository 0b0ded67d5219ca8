"""What the catalog says beyond each document's own entry: how documents relate, and which
documents cadres name that the corpus does not hold.

Relations are data (`[[relation]]` in corpus/catalog.toml), never code:

- `subordinate_to`: an administrative regulation under a law — where they differ, the law prevails;
- `applies_with`: two systems that both apply to the same person (党纪处分 and 政务处分 for a
  Party member who is a public official);
- a document's `superseded_by`: the text that replaced it. A superseded document is searched
  only when a question names it (or when history is kept on), and its citations say so.

Each relation carries what it means for an answer (`note`) and why (`basis`, or a clause of
the corpus with its verbatim `basis_quote`). An answer citing a document gets the notes of its
relations (both documents cited, or the subordinate one alone). `[[absent]]` lists documents
the corpus does not hold; a question naming one gets a plain note saying so, whatever else
the corpus answers.
"""
from __future__ import annotations

import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import CATALOG_FILE, CatalogError, DocInfo, load_catalog
from .lexical import normalize

RELATION_KINDS = ("subordinate_to", "applies_with")


@dataclass(frozen=True)
class Relation:
    kind: str
    source: str  # doc id: the subordinate document / one of the two that apply together
    target: str  # doc id: the superior document / the other one
    note: str  # what the relation means for an answer
    basis: str = ""  # why, in words (a source outside the corpus is named as such)
    basis_clause: str = ""  # … or a clause of the corpus that says it
    basis_quote: str = ""  # its words, a verbatim span of that clause

    def involves(self, doc_id: str) -> bool:
        return doc_id in (self.source, self.target)


@dataclass(frozen=True)
class AbsentDocument:
    title: str
    names: tuple[str, ...]  # the title and the short names cadres use for it
    issued: str = ""
    note: str = ""

    @property
    def notice(self) -> str:
        return f"《{self.title}》不在知识库中，本助手不能依据它作答；以上内容出自知识库收录的其他文件，不能代替该文件。"


@dataclass
class Library:
    documents: dict[str, DocInfo] = field(default_factory=dict)  # by id
    relations: list[Relation] = field(default_factory=list)
    absent: list[AbsentDocument] = field(default_factory=list)

    @classmethod
    def load(cls, corpus_dir: Path) -> "Library":
        catalog = load_catalog(corpus_dir)
        path = corpus_dir / CATALOG_FILE
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        documents = {info.id: info for info in catalog.values()}
        relations = []
        for i, raw in enumerate(data.get("relation", []), 1):
            kind, source, target = raw.get("kind"), raw.get("from"), raw.get("to")
            if kind not in RELATION_KINDS or source not in documents or target not in documents or not raw.get("note"):
                raise CatalogError(f"{path}: relation #{i} needs kind (one of {RELATION_KINDS}), from and to "
                                   f"(document ids of the catalog) and note")
            relations.append(Relation(kind, source, target, raw["note"], raw.get("basis", ""),
                                      raw.get("basis_clause", ""), raw.get("basis_quote", "")))
        absent = []
        for i, raw in enumerate(data.get("absent", []), 1):
            if not raw.get("title"):
                raise CatalogError(f"{path}: absent document #{i} has no title")
            names = (raw["title"], *raw.get("aliases", ()))
            absent.append(AbsentDocument(raw["title"], tuple(names), str(raw.get("issued", "")), raw.get("note", "")))
        for info in documents.values():
            if info.superseded_by and info.superseded_by not in documents:
                raise CatalogError(f"{path}: {info.id} is superseded_by {info.superseded_by!r}, not a catalog id")
        return cls(documents, relations, absent)

    # ---- answers ---------------------------------------------------------------------
    def notes_for(self, cited: list[str]) -> list[Relation]:
        """Relations an answer citing these documents must state: both documents cited, or a
        subordinate document cited on its own (what prevails is said either way)."""
        cited_set = set(cited)
        out = []
        for relation in self.relations:
            both = relation.source in cited_set and relation.target in cited_set
            if both or (relation.kind == "subordinate_to" and relation.source in cited_set):
                out.append(relation)
        return out

    def companions(self, doc_id: str) -> list[str]:
        """Documents that apply together with this one (applies_with)."""
        return [r.target if r.source == doc_id else r.source for r in self.relations
                if r.kind == "applies_with" and r.involves(doc_id)]

    def absent_named_in(self, *texts: str) -> list[AbsentDocument]:
        """The absent documents any of the texts names, each once (the gate reads the cadre's
        own turn and the question as condensed, which may word a follow-up differently)."""
        norms = [normalize(text) for text in texts]
        return [doc for doc in self.absent if any(normalize(name) in norm for name in doc.names for norm in norms)]

    # ---- supersession ----------------------------------------------------------------
    def superseded_status(self, doc_id: str) -> str:
        """How a superseded document's citations are marked ("" when it is in force)."""
        info = self.documents.get(doc_id)
        if info is None or not info.superseded_by:
            return ""
        newer = self.documents[info.superseded_by]
        return f"已被{newer.cite_title}取代（历史文本，仅供参考）"

    def status_of(self, clause) -> str:
        """A citation's status as of today: superseded, not yet in force, or as catalogued."""
        superseded = self.superseded_status(clause.doc_id)
        if superseded:
            return superseded
        info = self.documents.get(clause.doc_id)
        return info.status_on(datetime.date.today().isoformat()) if info else clause.status

    def note_of(self, clause) -> str:
        """The document's caveat as the catalog says it now (the index keeps the one of its build)."""
        info = self.documents.get(clause.doc_id)
        return info.note if info else clause.note

    def superseded(self) -> set[str]:
        return {doc_id for doc_id, info in self.documents.items() if info.superseded_by}

    def named_in(self, question: str) -> set[str]:
        """Documents the question names by title or short title."""
        norm = normalize(question)
        return {doc_id for doc_id, info in self.documents.items()
                if any(name and normalize(name) in norm for name in (info.title, info.short_title))}
