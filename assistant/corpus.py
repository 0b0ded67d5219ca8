"""Read the corpus folder: every supported file, its catalog entry, its clauses, and the
associated questions reviewed for them (corpus/questions/, see associated.py)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from . import associated
from .catalog import CATALOG_FILE, DocInfo, load_catalog, uncatalogued
from .clause import Clause
from .loaders import SUPPORTED_SUFFIXES, LoadError, load_document
from .splitter import split_document


@dataclass
class CorpusScan:
    documents: list[DocInfo] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)
    # Files that could not be read: file name -> reason. Their clauses already in the
    # index are kept, so a damaged file never silently removes a document.
    failed: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # files of a type the corpus does not hold
    questions: dict[str, list[str]] = field(default_factory=dict)  # clause id -> associated questions
    # Questions files that could not be read, and questions whose clause no longer exists.
    question_problems: list[str] = field(default_factory=list)


def corpus_files(corpus_dir: Path) -> list[Path]:
    return sorted(
        p for p in corpus_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name != CATALOG_FILE
    )


def read_document(path: Path, catalog: dict[str, DocInfo], taken_ids: set[str] = frozenset()) -> tuple[DocInfo, list[Clause]]:
    """Load and split one file; raises LoadError with a readable reason."""
    loaded = load_document(path)
    info = catalog.get(path.name)
    if info is None:
        info = uncatalogued(path.name, loaded.heading or path.stem)
        if info.id in taken_ids:
            info = replace(info, id=f"{info.id}-{path.suffix.lstrip('.').lower()}")
    clauses = split_document(info, loaded.text)
    if not clauses:
        raise LoadError(f"{path.name}：没有找到可以引用的条文或段落 / no clauses found")
    return info, clauses


def scan_corpus(corpus_dir: Path) -> CorpusScan:
    catalog = load_catalog(corpus_dir)
    scan = CorpusScan()
    taken = {info.id for info in catalog.values()}
    for path in corpus_files(corpus_dir):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            scan.ignored.append(path.name)
            continue
        try:
            info, clauses = read_document(path, catalog, taken)
        except LoadError as exc:
            scan.failed[path.name] = str(exc)
            continue
        except OSError as exc:
            scan.failed[path.name] = f"{path.name}：无法读取 / cannot read ({exc})"
            continue
        taken.add(info.id)
        scan.documents.append(info)
        scan.clauses.extend(clauses)
    scan.questions, scan.question_problems = associated.load_all(corpus_dir)
    known = {c.id for c in scan.clauses}
    loaded = {d.id for d in scan.documents}
    for clause_id in sorted(scan.questions):
        doc_id = clause_id.rpartition("/")[0]
        if clause_id not in known and doc_id in loaded:  # a failed file keeps its questions with its clauses
            scan.question_problems.append(f"关联问题指向不存在的条文 {clause_id}（文档已修改？）/ "
                                          f"questions for a clause that no longer exists")
    return scan
