"""Knowledge-base management behind the web UI and the REST API: list, upload, delete, and
the associated questions of a clause.

An upload is parsed in a scratch folder first; only a file that loads and yields clauses
is moved into the corpus (atomically) and indexed, so a bad file changes nothing. Edited
associated questions are written to the document's questions file (reviewable, in the
corpus) and indexed incrementally: only the new questions are embedded.
"""
from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from . import associated
from .catalog import KIND_ORDER, DocInfo, load_catalog
from .corpus import read_document
from .loaders import SUPPORTED_SUFFIXES, LoadError
from .service import Assistant
from .store import BuildReport, Progress


class UploadError(ValueError):
    """An upload that is refused; `status` is the HTTP status that says why."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DocumentRow:
    id: str
    title: str
    kind: str
    status: str
    date: str
    clauses: int
    file: str
    catalogued: bool
    held: bool = True  # False: a document cadres name that the corpus does not hold (未收录)


class KnowledgeBase:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.settings = assistant.settings
        self._lock = threading.Lock()

    def documents(self) -> list[DocumentRow]:
        """What the index holds now, one row per document, with catalog details where known."""
        catalog = load_catalog(self.settings.corpus_dir)
        counts: dict[str, int] = {}
        first: dict[str, object] = {}
        for clause in self.assistant.index.snapshot().clauses:
            counts[clause.doc_id] = counts.get(clause.doc_id, 0) + 1
            first.setdefault(clause.doc_id, clause)
        rows = []
        for doc_id, clause in sorted(first.items(), key=lambda item: (KIND_ORDER.get(item[1].kind, len(KIND_ORDER)),
                                                                        item[0])):
            info: DocInfo | None = catalog.get(clause.source)
            rows.append(DocumentRow(
                id=doc_id, title=clause.title, kind=(info.kind_name if info else "未登记"), status=clause.status,
                date=info.date if info else "", clauses=counts[doc_id], file=clause.source,
                catalogued=info is not None,
            ))
        for absent in self.assistant.index.library.absent:
            rows.append(DocumentRow(id="", title=absent.title, kind="未收录", status="未收录：知识库中没有此文件",
                                    date=absent.issued, clauses=0, file="", catalogued=True, held=False))
        return rows

    def add(self, filename: str, data: bytes, progress: Progress | None = None) -> tuple[DocInfo, BuildReport]:
        name = Path(filename or "").name
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UploadError(f"不支持的文件类型 {suffix or '（无扩展名）'}，支持 {' '.join(SUPPORTED_SUFFIXES)} / "
                              f"unsupported file type", 415)
        if name.startswith("."):
            raise UploadError("文件名不能以“.”开头 / the file name must not start with a dot", 400)
        limit = self.settings.max_upload_mb * 1024 * 1024
        if len(data) > limit:
            raise UploadError(f"文件超过 {self.settings.max_upload_mb} MB / file larger than the limit", 413)
        with self._lock:
            catalog = load_catalog(self.settings.corpus_dir)
            with tempfile.TemporaryDirectory() as scratch:
                trial = Path(scratch) / name
                trial.write_bytes(data)
                try:
                    info, _ = read_document(trial, catalog)
                except LoadError as exc:  # a library may name the file by its path: show the name only
                    raise UploadError(str(exc).replace(str(trial), name).replace(scratch, ""), 400) from exc
            target = self.settings.corpus_dir / name
            partial = self.settings.corpus_dir / f".{name}.uploading"
            partial.write_bytes(data)
            os.replace(partial, target)
            report, _ = self.assistant.index.reindex(progress=progress)
            return info, report

    def clause_questions(self, clause_id: str) -> tuple[object, associated.ClauseQuestions]:
        """The clause (KeyError if the index has no such clause) and its questions, reviewed and draft."""
        snapshot = self.assistant.index.snapshot()
        row = snapshot.row_of.get(clause_id)
        if row is None:
            raise KeyError(clause_id)
        doc_id, local = associated.split_clause_id(clause_id)
        path = associated.path_for(self.settings.corpus_dir, doc_id)
        tables = associated.load(path) if path.exists() else {}
        return snapshot.clauses[row], tables.get(local, associated.ClauseQuestions())

    def set_clause_questions(self, clause_id: str, questions: list[str], draft: list[str] | None = None,
                             progress: Progress | None = None) -> tuple[associated.ClauseQuestions, BuildReport]:
        """Replace a clause's reviewed questions (and, if given, its drafts), then index them.
        Raises KeyError for an unknown clause, QuestionFileError for bad questions."""
        questions = associated.clean(questions)
        with self._lock:
            clause, current = self.clause_questions(clause_id)
            doc_id, local = associated.split_clause_id(clause_id)
            path = associated.path_for(self.settings.corpus_dir, doc_id)
            tables = associated.load(path) if path.exists() else {}
            entry = associated.ClauseQuestions(clause.short_locator.strip("·"), questions,
                                               associated.clean(draft) if draft is not None else current.draft)
            tables[local] = entry
            associated.save(path, tables, clause.cite_title)
            report, _ = self.assistant.index.reindex(progress=progress)
            return entry, report

    def delete(self, doc_id: str, progress: Progress | None = None) -> BuildReport:
        with self._lock:
            sources = {c.source for c in self.assistant.index.snapshot().clauses if c.doc_id == doc_id}
            if not sources:
                raise KeyError(doc_id)
            for source in sources:
                (self.settings.corpus_dir / source).unlink(missing_ok=True)
            report, _ = self.assistant.index.reindex(progress=progress)
            return report
