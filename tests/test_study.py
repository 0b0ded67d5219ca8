"""Study packs: every quiz answer verbatim in the clause its key cites, real blanks, real
falsehoods, deterministic output, Word and Markdown exports, unknown topics refused."""
from __future__ import annotations

import io
import os
import re

import pytest

from assistant.quiz import NUMBER, load_categories
from assistant.study import StudyPackBuilder, TopicNotFound, _domain_terms
from assistant.study_export import to_docx, to_markdown

from conftest import CORPUS, run_cli

TOPICS = ["容错纠错", "干部考核", "选拔任用", "关心关爱", "年休假", "政务处分", "公务员辞职"]


@pytest.fixture(scope="module")
def packs(shipped):
    builder = StudyPackBuilder(shipped)
    return {topic: builder.build(topic, questions=12) for topic in TOPICS}


@pytest.fixture(scope="module")
def clauses(shipped):
    return {c.id: c for c in shipped.index.snapshot().clauses}


@pytest.mark.parametrize("topic", TOPICS)
def test_every_quiz_answer_is_verbatim_in_the_clause_its_key_cites(packs, clauses, topic):
    pack = packs[topic]
    assert len(pack.quiz) >= (8 if topic != "公务员辞职" else 5)  # a free topic has fewer clauses to draw on
    for item in pack.quiz:
        clause = clauses[item.clause_id]
        assert item.quote in clause.text and item.answer_text in item.quote, item
        assert item.label.startswith(clause.label)
    for theme in pack.themes:
        for key in theme.clauses:
            assert key.quote in clauses[key.clause_id].text


@pytest.mark.parametrize("topic", TOPICS)
def test_blanks_take_out_numbers_quoted_domain_or_category_words(packs, topic):
    domain = set(_domain_terms()) | {w for words in load_categories()[0].values() for w in words}
    for item in packs[topic].quiz:
        if item.kind not in ("blank", "choice"):
            continue
        words = item.answer_text
        is_number = bool(NUMBER.fullmatch(words))
        is_quoted = f"“{words}”" in item.quote
        assert is_number or is_quoted or words in domain, f"trivial blank {words!r} in {item.stem}"
        assert "（　　）" in item.stem and words not in item.stem.replace("……", "").split("（　　）")[0][-len(words):]


@pytest.mark.parametrize("topic", TOPICS)
def test_true_false_items_marked_false_really_differ(packs, clauses, topic):
    kinds = {"正确": 0, "错误": 0}
    for item in packs[topic].quiz:
        if item.kind != "truefalse":
            continue
        kinds[item.answer] += 1
        statement = item.stem.split("……")[-1]
        text = clauses[item.clause_id].text
        if item.answer == "正确":
            assert statement in text
        else:
            assert statement not in text and statement != item.quote
            # One fact changed: outside the altered words, statement and sentence are identical.
            prefix = len(os.path.commonprefix([statement, item.quote]))
            suffix = len(os.path.commonprefix([statement[prefix:][::-1], item.quote[prefix:][::-1]]))
            changed = item.quote[prefix:len(item.quote) - suffix]
            assert changed and changed in item.answer_text, (statement, item.quote)
    assert sum(kinds.values()) >= 2


@pytest.mark.parametrize("topic", TOPICS)
def test_choices_have_four_distinct_options_and_the_key_points_at_the_answer(packs, topic):
    for item in packs[topic].quiz:
        if item.kind == "choice":
            assert len(set(item.options)) == 4
            assert item.options["ABCD".index(item.answer)] == item.answer_text
            assert sum(o == item.answer_text for o in item.options) == 1


def test_the_same_input_gives_the_same_pack(shipped, packs):
    again = StudyPackBuilder(shipped).build("容错纠错", questions=12)
    assert again.to_dict() == packs["容错纠错"].to_dict()
    assert to_markdown(again) == to_markdown(packs["容错纠错"])


def test_a_comparison_where_documents_speak_to_the_same_point(packs):
    rows = {row.point: row for row in packs["干部考核"].comparison}
    grades = rows["考核等次"]
    documents = {doc for doc, _, _ in grades.cells}
    assert {"《公务员法》", "《事业单位人事管理条例》"} <= documents
    quotes = " ".join(q for _, _, q in grades.cells)
    assert "优秀、称职、基本称职和不称职" in quotes and "优秀、合格、基本合格和不合格" in quotes


def test_discussion_questions_are_tied_to_clauses(packs):
    for pack in packs.values():
        labels = {k.label for t in pack.themes for k in t.clauses}
        assert pack.discussion and all(d.label in labels and d.question.endswith("？") for d in pack.discussion)


def test_the_news_report_caveat_travels_with_the_pack(packs):
    assert any("原文不在知识库中" in note for note in packs["容错纠错"].notes)


def test_documents_can_be_restricted(shipped):
    pack = StudyPackBuilder(shipped).build("干部考核", docs=["civil-servant-law"], questions=5)
    assert pack.documents == ["《公务员法》"]
    with pytest.raises(TopicNotFound):
        StudyPackBuilder(shipped).build("容错纠错", docs=["paid-annual-leave-regulation"])


@pytest.mark.parametrize("topic", ["手机摄影技巧", "高铁票退改签"])
def test_an_unknown_topic_is_refused_clearly(shipped, topic):
    with pytest.raises(TopicNotFound, match="知识库中没有这个主题的材料"):
        StudyPackBuilder(shipped).build(topic)


def test_bad_parameters(shipped):
    with pytest.raises(ValueError):
        StudyPackBuilder(shipped).build("   ")
    with pytest.raises(ValueError):
        StudyPackBuilder(shipped).build("容错纠错", questions=0)


def test_word_export_has_every_section_quotes_a_table_and_the_key_on_its_own_page(packs):
    import docx

    pack = packs["干部考核"]
    document = docx.Document(io.BytesIO(to_docx(pack)))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]
    assert headings[0] == "学习备课材料：干部考核"
    for section in ("一、学习提纲", "二、重点条文", "三、对照", "四、研讨题", "测验答案"):
        assert any(h.startswith(section) for h in headings), section
    quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
    assert any("优秀、称职、基本称职和不称职四个等次" in q for q in quotes)
    assert document.tables and document.tables[0].rows[0].cells[0].text == "要点"
    body = [p for p in document.paragraphs]
    key_at = next(i for i, p in enumerate(body) if p.text == "测验答案")
    assert any('w:br w:type="page"' in p._p.xml for p in body[key_at - 2:key_at])
    answers_text = "\n".join(p.text for p in body[key_at:])
    assert all(item.label in answers_text for item in pack.quiz)


def test_markdown_export_has_the_same_content(packs):
    md = to_markdown(packs["干部考核"])
    assert md.startswith("# 学习备课材料：干部考核")
    for section in ("## 一、学习提纲", "## 二、重点条文", "## 三、对照", "## 四、研讨题", "## 五、测验题", "## 测验答案"):
        assert section in md
    assert "> 定期考核的结果分为优秀、称职、基本称职和不称职四个等次。" in md
    assert len(re.findall(r"^\d+\. 答案：", md, flags=re.M)) == len(packs["干部考核"].quiz)


def test_cli_writes_a_docx_and_refuses_an_unknown_topic(shipped, tmp_path):
    import docx

    env = {"POLICYQA_CORPUS_DIR": str(CORPUS), "POLICYQA_INDEX_DIR": str(shipped.settings.index_dir),
           "POLICYQA_DATA_DIR": str(tmp_path)}
    out = tmp_path / "pack.docx"
    run_cli(["study", "年休假", "--questions", "5", "--format", "docx", "-o", str(out)], env)
    assert docx.Document(str(out)).paragraphs[0].text == "学习备课材料：年休假"
    assert "知识库中没有这个主题的材料" in run_cli(["study", "手机摄影技巧"], env, check_rc=2).stderr
