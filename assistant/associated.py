"""Associated questions (关联问题): the ways cadres ask what a clause answers.

They live beside the documents, one reviewable file per document,
`corpus/questions/<doc-id>.toml`, one table per clause keyed by the clause's local id
(`a64-k2` = 第六十四条第二款, `s3-p2` = the 2nd paragraph of the 3rd section):

    [a64-k2]
    label = "第六十四条第二款"            # for the reviewer; not read back
    questions = ["受了处分多久不能升职？"]  # indexed: each is a vector pointing to the clause
    draft = ["…"]                         # suggested by a model, not yet reviewed: never indexed

A question is never shown as a source; it only leads retrieval to its clause. Files are
written by this module (API, web UI, `policy-qa index --suggest-questions`) and read back
unchanged, so a reviewer's diff shows exactly what changed.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

FOLDER = "questions"
MAX_QUESTIONS = 20  # per clause
MAX_QUESTION_CHARS = 200
_LOCAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class QuestionFileError(ValueError):
    """A questions file or an edit that cannot be used; the message says where and why."""


@dataclass
class ClauseQuestions:
    label: str = ""
    questions: list[str] = field(default_factory=list)
    draft: list[str] = field(default_factory=list)


def folder(corpus_dir: Path) -> Path:
    return corpus_dir / FOLDER


def path_for(corpus_dir: Path, doc_id: str) -> Path:
    return folder(corpus_dir) / f"{doc_id}.toml"


def split_clause_id(clause_id: str) -> tuple[str, str]:
    """"civil-servant-law/a64-k2" -> ("civil-servant-law", "a64-k2")."""
    doc_id, _, local = clause_id.rpartition("/")
    if not doc_id or not local:
        raise QuestionFileError(f"条文编号格式错误 / malformed clause id {clause_id!r}")
    return doc_id, local


def clean(questions: list) -> list[str]:
    """Questions as they are stored: text, trimmed, no control characters, no duplicates."""
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise QuestionFileError("关联问题应为文字列表 / questions must be a list of strings")
    out = list(dict.fromkeys(q for q in (_CONTROL.sub(" ", q).strip() for q in questions) if q))
    if len(out) > MAX_QUESTIONS:
        raise QuestionFileError(f"每条条文最多 {MAX_QUESTIONS} 个关联问题 / at most {MAX_QUESTIONS} per clause")
    long = [q for q in out if len(q) > MAX_QUESTION_CHARS]
    if long:
        raise QuestionFileError(f"关联问题不能超过 {MAX_QUESTION_CHARS} 字：{long[0][:30]}… / question too long")
    return out


def load(path: Path) -> dict[str, ClauseQuestions]:
    """One document's file: local clause id -> its questions."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise QuestionFileError(f"{path.name} 无法读取 / cannot read: {exc}") from exc
    out: dict[str, ClauseQuestions] = {}
    for local, table in data.items():
        if not isinstance(table, dict) or not _LOCAL_ID.match(local):
            raise QuestionFileError(f"{path.name}: [{local}] 不是条文表 / not a clause table")
        try:
            out[local] = ClauseQuestions(str(table.get("label", "")), clean(table.get("questions", [])),
                                         clean(table.get("draft", [])))
        except QuestionFileError as exc:
            raise QuestionFileError(f"{path.name} [{local}]: {exc}") from None
    return out


def load_all(corpus_dir: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Reviewed questions of every document, keyed by full clause id, and the files that
    could not be read (reported, never fatal: a broken file costs its questions only)."""
    questions: dict[str, list[str]] = {}
    problems: list[str] = []
    base = folder(corpus_dir)
    if not base.is_dir():
        return questions, problems
    for path in sorted(base.glob("*.toml")):
        try:
            tables = load(path)
        except QuestionFileError as exc:
            problems.append(str(exc))
            continue
        for local, entry in tables.items():
            if entry.questions:
                questions[f"{path.stem}/{local}"] = entry.questions
    return questions, problems


def dumps(tables: dict[str, ClauseQuestions], title: str = "") -> str:
    """TOML text of one document's file (basic strings via JSON escaping, which TOML accepts)."""
    lines = [f"# {title}的关联问题：干部常用的问法，检索时指向对应条文，不作为出处显示。" if title else
             "# 关联问题：干部常用的问法，检索时指向对应条文，不作为出处显示。",
             "# questions 参与检索；draft 为大模型建议，审核后移入 questions 才生效。", ""]
    for local, entry in tables.items():
        if not (entry.questions or entry.draft):
            continue
        lines.append(f"[{local}]")
        if entry.label:
            lines.append(f"label = {json.dumps(entry.label, ensure_ascii=False)}")
        for key in ("questions", "draft"):
            values = getattr(entry, key)
            if values:
                lines.append(f"{key} = [")
                lines.extend(f"  {json.dumps(q, ensure_ascii=False)}," for q in values)
                lines.append("]")
        lines.append("")
    return "\n".join(lines)


def save(path: Path, tables: dict[str, ClauseQuestions], title: str = "") -> None:
    """Written aside and renamed into place, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(dumps(tables, title), encoding="utf-8")
    os.replace(partial, path)
