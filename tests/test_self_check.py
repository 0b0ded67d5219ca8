"""容错自查: the evaluation on the shipped provisions (fast, from the corpus files), and the
API over real HTTP (slow)."""
from __future__ import annotations

import io

import httpx
import pytest

from assistant.corpus import scan_corpus
from assistant.library import Library
from assistant.self_check import MET, NOT_MET, UNKNOWN, SelfCheckError, default_data, evaluate, prefill

from conftest import CORPUS

SITUATION = "推进改革试点时因为缺乏经验出现了失误，没有谋取私利，造成的损失已经主动挽回了。"


@pytest.fixture(scope="module")
def clauses():
    return {c.id: c for c in scan_corpus(CORPUS).clauses}


def _provision(result, pid):
    return next(p for p in result.provisions if p.id == pid)


def _state(provision, cid):
    return next(c for c in provision.conditions + provision.red_lines if c.id == cid).state


def test_a_situation_fills_in_what_it_clearly_says_and_a_negation_means_no():
    suggested = prefill(SITUATION, default_data())
    assert suggested["reform-mistake"].value and "缺乏经验" in suggested["reform-mistake"].reason
    assert suggested["personal-gain"].value is False  # "没有谋取私利"
    assert "psl-remedy" in suggested and suggested["psl-remedy"].value


def test_a_cue_is_not_read_from_one_of_its_words_alone():
    # "损失较小" is a cue for a consequence that is not especially serious; a loss alone is not.
    suggested = prefill("项目推进中工期拖延，造成了一些损失。", default_data())
    assert "not-especially-serious" not in suggested


def test_a_piloting_mistake_with_the_loss_recovered(clauses):
    result = evaluate(default_data(), clauses, Library.load(CORPUS), SITUATION)
    handling = _provision(result, "organizational-handling-9")
    assert handling.citation.label.endswith("第九条") and _state(handling, "reform-mistake") == MET
    assert handling.status == "may_apply" and handling.outcome in handling.citation.text
    sanctions = _provision(result, "sanctions-law-11")
    assert _state(sanctions, "psl-remedy") == MET and sanctions.status == "may_apply"
    assert not result.red_lines
    for p in result.provisions:  # every condition is a verbatim span of the clause it cites
        for c in p.conditions + p.red_lines:
            assert c.text in c.citation.text and c.citation.text == clauses[c.citation.clause_id].text
    assert "不是组织认定" in result.notice and "新闻报道" in result.notice
    assert [c.clause_id for c in result.procedure] and all(c.quote in c.text for c in result.procedure)


def test_answering_yes_to_personal_gain_puts_that_red_line_first(clauses):
    result = evaluate(default_data(), clauses, Library.load(CORPUS), SITUATION, {"personal-gain": True})
    assert [r.id for r in result.red_lines] == ["personal-gain"]
    assert result.provisions[0].status == "excluded"
    assert _provision(result, "organizational-handling-9").status == "excluded"


def test_the_cadre_s_answer_wins_over_the_reading_of_the_situation(clauses):
    result = evaluate(default_data(), clauses, Library.load(CORPUS), SITUATION, {"reform-mistake": False})
    handling = _provision(result, "organizational-handling-9")
    assert _state(handling, "reform-mistake") == NOT_MET and handling.status == "open"


def test_nothing_said_leaves_everything_unknown(clauses):
    result = evaluate(default_data(), clauses, Library.load(CORPUS), "")
    assert {c.state for p in result.provisions for c in p.conditions} == {UNKNOWN}
    assert result.questions and result.questions[0]["red_line"]  # red lines are asked first


@pytest.mark.parametrize("answers, message", [
    ({"no-such-condition": True}, "未知的条件编号"),
    ({"reform-mistake": "yes"}, "true、false 或 null"),
    ([True], "answers"),
])
def test_bad_answers_are_refused_with_a_reason(clauses, answers, message):
    with pytest.raises(SelfCheckError, match=message):
        evaluate(default_data(), clauses, Library.load(CORPUS), "", answers)


# ---- over HTTP ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(app_server):
    with httpx.Client(base_url=app_server.url, timeout=120) as c:
        yield c


def test_the_questions_list_names_the_conditions_they_settle(client):
    questions = client.get("/api/self-check/questions").json()["questions"]
    by_id = {q["id"]: q for q in questions}
    assert by_id["reform-mistake"]["settles"] == ["reform-mistake"]
    assert "organizational-handling-9" in by_id["reform-mistake"]["provisions"]


def test_the_api_result_has_the_documented_shape(client):
    result = client.post("/api/self-check", json={"situation": SITUATION, "answers": {"duty-fulfilled": None}}).json()
    first = result["provisions"][0]
    assert {"citation", "outcome", "conditions"} <= set(first) and isinstance(result["procedure"], list)
    for provision in result["provisions"]:
        for condition in provision["conditions"]:
            assert {"id", "text", "state", "reason"} <= set(condition)
            assert condition["state"] in ("met", "not_met", "unknown")
            assert condition["text"] in condition["citation"]["text"]
    assert result["notice"]


@pytest.mark.parametrize("body", [
    {"answers": {"no-such-condition": True}},
    {"answers": {"reform-mistake": "yes"}},
    {"answers": {"reform-mistake": 1}},
    {"situation": "问" * 3000},
])
def test_bad_input_is_422(client, body):
    reply = client.post("/api/self-check", json=body)
    assert reply.status_code == 422 and reply.json()["error"]["message"]


def test_an_empty_situation_with_no_answers_returns_the_questions(client):
    reply = client.post("/api/self-check", json={})
    assert reply.status_code == 200 and reply.json()["questions"]


def test_the_result_downloads_as_word_and_markdown(client):
    import docx

    word = client.post("/api/self-check", json={"situation": SITUATION, "format": "docx"})
    assert "attachment" in word.headers["content-disposition"]
    document = docx.Document(io.BytesIO(word.content))
    assert document.paragraphs[0].text == "容错自查结果"
    assert any("不是组织认定" in p.text for p in document.paragraphs)
    markdown = client.post("/api/self-check", json={"situation": SITUATION, "format": "md"}).text
    assert markdown.startswith("# 容错自查结果") and "第九条" in markdown


def test_the_result_as_a_file_to_download_in_either_format(clauses):
    import docx

    from assistant import downloads

    result = evaluate(default_data(), clauses, Library.load(CORPUS), SITUATION)
    word = downloads.self_check(result, "docx")
    assert word.filename == "容错自查结果.docx" and word.media_type.endswith("wordprocessingml.document")
    assert docx.Document(io.BytesIO(word.data)).paragraphs[0].text == "容错自查结果"
    markdown = downloads.self_check(result, "md")
    assert markdown.filename == "容错自查结果.md" and markdown.media_type == "text/markdown; charset=utf-8"
    assert markdown.data.decode("utf-8").startswith("# 容错自查结果")
    assert markdown.temp_file().read_bytes() == markdown.data


def test_bad_answers_tell_a_chat_user_in_chinese_alone(clauses):
    with pytest.raises(SelfCheckError) as caught:
        evaluate(default_data(), clauses, Library.load(CORPUS), "", {"no-such-condition": True})
    assert str(caught.value) == f"{caught.value.zh} / unknown condition id" and " / " not in caught.value.zh


def test_the_phone_summary_lists_what_is_met_then_the_open_questions(clauses):
    from assistant.render import self_check_text
    from assistant.web.wechat.split import split_utf8

    text = self_check_text(evaluate(default_data(), clauses, Library.load(CORPUS), SITUATION,
                                    {"personal-gain": True}))
    lines = text.splitlines()
    assert lines[0].startswith("容错自查") and "不是组织认定" in lines[0]
    assert lines[1].startswith("⚠ 触及红线") and "谋取私利" in lines[1]
    assert "请对照回答（是/否/不清楚）：" in text and "http" not in text
    assert all(len(part.encode("utf-8")) <= 2048 for part in split_utf8(text, 2048))
