"""Bad input everywhere: property-based tests on the splitter, the loaders, the query path
and the WeChat parser, and random corpus changes (a rebuild killed at each stage:
test_interrupted_rebuild.py)."""
from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from assistant.catalog import uncatalogued
from assistant.loaders import LoadError, load_document
from assistant.service import Assistant, QuestionError
from assistant.splitter import split_document
from assistant.web.wechat.messages import MessageError, parse_message

from conftest import make_settings

# Text that looks like policy documents in places and like noise in others.
FRAGMENTS = st.sampled_from([
    "第一条 ", "第二条 ", "第十条", "第一百零六条 ", "（一）", "(二)", "## 第一章 总则", "### 第一节 ", "# 标题",
    "<!-- INFO END -->", "\n", "\n\n", "。", "；", "：", "“", "”", "、", "公务员应当遵纪守法", "年休假5天",
    "\x00", "\x1b", "\u200d", "\ufeff", "😀", "🇨🇳", "ÿ", "عربي", "Русский", " ", "\t", "\r\n", "]]>", "<xml>",
])
POLICY_TEXT = st.lists(st.one_of(FRAGMENTS, st.text(max_size=30)), max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(POLICY_TEXT, st.sampled_from(["law", "news report", "other"]))
def test_the_splitter_never_crashes_and_every_clause_is_a_verbatim_span(text, kind):
    from dataclasses import replace

    doc = replace(uncatalogued("x.md", "测试"), kind=kind)
    for clause in split_document(doc, text):
        assert text[clause.start:clause.end] == clause.text and clause.text.strip()
        assert clause.label.startswith("《测试》")
        for unit in clause.units:
            assert 0 <= unit.start < unit.end <= len(clause.text)
            assert unit.lead_start < 0 or 0 <= unit.lead_start < unit.lead_end <= len(clause.text)


def test_the_splitter_on_a_huge_input():
    text = ("第一条 干部应当担当作为。\n\n（一）敢于负责；\n\n" * 20000) + "尾声" * 100000
    clauses = split_document(uncatalogued("big.md", "大文件"), text)
    assert len(clauses) >= 1 and all(text[c.start:c.end] == c.text for c in clauses)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".txt", ".md", ".html", ".pdf", ".docx"]))
def test_loaders_either_read_or_say_why(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    try:
        loaded = load_document(path)
    except LoadError as exc:
        assert str(exc)
    else:
        assert loaded.text.strip()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.one_of(POLICY_TEXT, st.text(max_size=700)),
       history=st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]),
                                                "content": st.text(max_size=100)}), max_size=4))
def test_the_query_path_answers_or_refuses_never_crashes(shipped, question, history):
    try:
        answer = shipped.ask(question, history)
    except QuestionError as exc:
        assert str(exc) == f"{exc.zh} / {exc.en}" and exc.zh  # a chat shows the Chinese alone
        return
    assert answer.answer
    for c in answer.citations:
        assert c.quote in c.text


def test_a_message_too_long_to_ask_is_no_context_and_a_long_chat_keeps_its_topic(shipped):
    limit = shipped.settings.max_question_chars
    pasted = {"role": "user", "content": "年" * (limit + 1)}  # refused when sent; a client keeps it
    answer = shipped.ask("那事业单位的呢？", [pasted, {"role": "assistant", "content": "问题太长"}])
    assert answer.standalone_question == "那事业单位的呢？"
    chat = [{"role": "user", "content": "年休假有几天？"}]
    chat += [{"role": "user", "content": f"那工作满{years}年的呢？"} for years in range(1, 41)]
    answer = shipped.ask("那公务员呢？", chat)
    assert answer.standalone_question.startswith("年休假") and "40年" in answer.standalone_question


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=3000),
                 POLICY_TEXT.map(lambda t: f"<xml><FromUserName>u</FromUserName><MsgType>text</MsgType>"
                                           f"<Content><![CDATA[{t}]]></Content></xml>".encode("utf-8", "replace"))))
def test_the_wechat_parser_refuses_or_parses_never_crashes(body):
    try:
        message = parse_message(body)
    except MessageError:
        return
    assert message.from_user and message.msg_type


@pytest.fixture(scope="module")
def mutable(tmp_path_factory, embeddings):
    from conftest import DATA

    tmp = tmp_path_factory.mktemp("mutable")
    shutil.copytree(DATA / "small_corpus", tmp / "corpus")
    assistant = Assistant(make_settings(tmp, tmp / "corpus"), embeddings=embeddings)
    assistant.index.reindex()
    return assistant


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["a.md", "b.txt", "c.html"]), content=POLICY_TEXT)
def test_random_corpus_changes_never_lose_or_corrupt_the_index(mutable, name, content):
    path = mutable.settings.corpus_dir / name
    path.write_text(content, encoding="utf-8", errors="replace")
    report, scan = mutable.index.reindex()
    indexed = {c.id for c in mutable.index.snapshot().clauses}
    expected = {c.id for c in scan.clauses}
    assert expected <= indexed and report.total == len(indexed)
    answer = mutable.ask("单位安排不了年休假，没休的天数怎么给钱？")
    assert not answer.refused and "300%" in answer.citations[0].quote
    path.unlink()
