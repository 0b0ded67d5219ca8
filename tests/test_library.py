"""What the catalog says between documents, through a real index of a small corpus: a
superseded text is searched only when named and says so; a subordinate rule's citation
says which prevails and why; a document the corpus does not hold is named as such; whom a
document governs steers which clause answers."""
from __future__ import annotations

import shutil

import pytest

from assistant.service import Assistant

from conftest import DATA, make_settings


@pytest.fixture(scope="module")
def versions(tmp_path_factory, embeddings):
    home = tmp_path_factory.mktemp("versions")
    shutil.copytree(DATA / "versions_corpus", home / "corpus")
    assistant = Assistant(make_settings(home, home / "corpus"), embeddings=embeddings)
    assistant.index.ensure()
    return assistant


def test_a_superseded_text_is_not_searched_unless_named(versions):
    answer = versions.ask("干部每年脱产培训至少要多少天？")
    assert not answer.refused and answer.citations[0].doc_id == "training-new"
    assert all(c.doc_id != "training-old" for c in answer.citations)


def test_a_superseded_text_named_by_the_question_is_cited_as_superseded(versions):
    answer = versions.ask("培训规定（2015年）要求每年脱产培训多少天？")
    old = next(c for c in answer.citations if c.doc_id == "training-old")
    assert old.status.startswith("已被《干部教育培训规定》取代") and "七天" in old.text


def test_history_can_be_kept_on(versions, tmp_path):
    settings = make_settings(versions.settings.home, versions.settings.corpus_dir, keep_history=True)
    keeping = Assistant(settings, embeddings=versions.embeddings.inner, store=versions.index.store)
    hits = keeping.retrieve("干部每年脱产培训至少要多少天？", [])[2].hits
    assert "training-old" in {h.clause.doc_id for h in hits}


def test_a_subordinate_rule_says_what_prevails_quoting_the_relation_source(versions):
    answer = versions.ask("网络培训一个学时按多少分钟算？")
    assert answer.citations[0].doc_id == "training-detail"
    note = next(n for n in answer.notes if "以规定为准" in n)
    assert "《培训细则》第一条：「根据《干部教育培训规定》，制定本细则。」" in note


def test_a_document_the_corpus_does_not_hold_gets_a_plain_note(versions):
    answer = versions.ask("培训规划对干部脱产培训有什么要求？")
    assert "《全国干部教育培训规划》不在知识库中" in answer.answer
    assert all("规划" not in c.title for c in answer.citations)


def test_the_knowledge_base_lists_what_it_does_not_hold(versions):
    from assistant.knowledge_base import KnowledgeBase

    rows = KnowledgeBase(versions).documents()
    absent = [r for r in rows if not r.held]
    assert [r.title for r in absent] == ["全国干部教育培训规划"] and absent[0].status.startswith("未收录")
    assert {r.id for r in rows if r.held} == {"training-old", "training-new", "training-detail"}


def test_a_document_not_yet_in_force_says_so(versions, monkeypatch):
    import datetime

    class Before(datetime.date):
        @classmethod
        def today(cls):
            return cls(2023, 1, 1)

    monkeypatch.setattr(datetime, "date", Before)
    clause = next(c for c in versions.index.snapshot().clauses if c.doc_id == "training-new")
    assert versions.index.library.status_of(clause) == "尚未施行（2023-10-01起施行）"
