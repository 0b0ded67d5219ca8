"""Quizzes a trainer would use, over every preset topic: options of one kind, items on rules
and not on a report's account of bad practice, no doubled quotation marks, answers verbatim
in the clause cited, and the key clauses a trainer expects for the topic."""
from __future__ import annotations

import re

import pytest

from assistant.quiz import CRITICISED, NUMBER, QuizMaker, load_categories, unit, unquoted
from assistant.study import StudyPackBuilder, find_topic, load_topics, preset_names
from assistant.study_export import quoted, to_markdown

PRESETS = preset_names()
CATEGORIES, _ = load_categories()
DOUBLED = re.compile(r"[“‘][“‘]|[”’][”’]")


@pytest.fixture(scope="module")
def packs(shipped):
    builder = StudyPackBuilder(shipped)
    return {topic: builder.build(topic, questions=20) for topic in PRESETS}


@pytest.fixture(scope="module")
def clauses(shipped):
    return {c.id: c for c in shipped.index.snapshot().clauses}


def same_kind(words: list[str]) -> bool:
    """All amounts in one unit, or all words of one category."""
    if all(NUMBER.fullmatch(w) for w in words):
        return len({unit(w) for w in words}) == 1
    return any(all(w in members for w in words) for members in CATEGORIES.values())


def replacement(item) -> str:
    """What a false statement says in place of the answer's words, the rest of the sentence unchanged."""
    statement, sentence = item.stem.split("……")[-1], item.quote
    a = sentence.index(item.answer_text)
    b = a + len(item.answer_text)
    assert statement.startswith(sentence[:a]) and statement.endswith(sentence[b:]), (statement, sentence)
    return statement[a:len(statement) - (len(sentence) - b)]


@pytest.mark.parametrize("topic", PRESETS)
def test_every_answer_is_a_verbatim_span_of_the_clause_it_cites(packs, clauses, topic):
    pack = packs[topic]
    assert len(pack.quiz) >= 10
    for item in pack.quiz:
        clause = clauses[item.clause_id]
        assert item.quote in clause.text and item.answer_text in item.quote, item
        assert item.label.startswith(clause.label)


@pytest.mark.parametrize("topic", PRESETS)
def test_choice_options_are_all_of_the_answers_kind(packs, topic):
    choices = [item for item in packs[topic].quiz if item.kind == "choice"]
    assert choices, "a pack of twenty items has single-choice items"
    for item in choices:
        assert item.blank_kind in ("number", "term"), item
        assert same_kind(item.options), (item.stem, item.options)
        assert all(option not in item.stem for option in item.options if option != item.answer_text)


@pytest.mark.parametrize("topic", PRESETS)
def test_a_false_statement_swaps_one_fact_for_another_of_its_kind(packs, topic):
    false = [item for item in packs[topic].quiz if item.kind == "truefalse" and item.answer == "错误"]
    for item in false:
        instead = replacement(item)
        assert instead and instead != item.answer_text
        if item.category != "modality":  # 应当 -> 可以 is a change of modality, not of a word's kind
            assert same_kind([item.answer_text, instead]), (item.answer_text, instead)


@pytest.mark.parametrize("topic", PRESETS)
def test_no_item_is_made_from_a_report_of_bad_practice(packs, topic):
    for item in packs[topic].quiz:
        assert not CRITICISED.search(item.quote), item.quote
        assert "轮流坐庄" not in item.stem


@pytest.mark.parametrize("topic", PRESETS)
def test_no_quotation_mark_stands_doubled(packs, topic):
    text = to_markdown(packs[topic])
    assert not DOUBLED.search(text), DOUBLED.search(text) and text[DOUBLED.search(text).start() - 40:][:80]
    for item in packs[topic].quiz:
        assert item.quote.count("“") == item.quote.count("”"), item.quote  # no half of a longer quotation


def test_the_criticised_practice_is_in_the_corpus_but_never_asked_about(shipped, clauses):
    """The report's paragraph on 轮流坐庄 is there to be found; a quiz over it makes nothing of it."""
    report = [c for c in clauses.values() if "轮流坐庄" in c.text]
    assert report
    items = QuizMaker(report, list(clauses.values()), []).make(10)
    assert all("轮流坐庄" not in item.quote for item in items)


def test_assessment_covers_the_consequences_of_an_unsatisfactory_grade(packs, clauses):
    """For 干部考核 a trainer expects 不称职's consequences: 公务员法 第五十条 (demotion) and
    第八十八条 (dismissal after two years), besides the grades of both laws."""
    keys = {k.clause_id for t in packs["干部考核"].themes for k in t.clauses}
    assert {"civil-servant-law/a50", "civil-servant-law/a88", "civil-servant-law/a38",
            "public-institution-personnel-regulation/a21"} <= keys
    text = to_markdown(packs["干部考核"])
    assert "连续两年被确定为不称职" in text and "降低一个职务或者职级层次任职" in text


def test_every_core_clause_of_every_preset_is_in_the_shipped_corpus_and_in_its_pack(packs, clauses):
    for topic in load_topics():
        keys = {k.clause_id for t in packs[topic["name"]].themes for k in t.clauses}
        for theme in topic["themes"]:
            for clause_id in theme.get("clauses", []):
                assert clause_id in clauses, clause_id
                assert clause_id in keys, (topic["name"], clause_id)


def test_a_topic_typed_as_another_name_of_a_preset_says_which_preset_it_got(shipped):
    builder = StudyPackBuilder(shipped)
    pack = builder.build("年度考核", questions=5)
    assert find_topic("年度考核")["name"] == "干部考核"
    assert pack.preset == "干部考核" and pack.basis == "输入的主题“年度考核”按预设主题“干部考核”编排。"
    assert pack.basis in to_markdown(pack)
    assert builder.build("干部考核", questions=5).basis == ""  # the preset's own name needs no note


def test_quoted_nests_inner_marks():
    assert quoted("推行“无会日”制度") == "“推行‘无会日’制度”"


@pytest.mark.parametrize("sentence, inner", [
    ("“坚持考用结合、奖惩并举。”", "坚持考用结合、奖惩并举。"),  # a speaker's words
    ("“建立健全机制是基础,关键是抓好落实。", "建立健全机制是基础,关键是抓好落实。"),  # opens a longer quotation
    ("推行“无会日”制度。", "推行“无会日”制度。"),
    ("“三个区分开来”和“八二分”。", "“三个区分开来”和“八二分”。"),  # two quotations, not one
])
def test_unquoted(sentence, inner):
    s, e = unquoted(sentence, 0, len(sentence))
    assert sentence[s:e] == inner
