"""The web UI's newer flows in Debian's Chromium: a tentative answer is labelled, associated
questions are edited in the 知识库 tab, and the 容错自查 tab from situation to Word file."""
from __future__ import annotations

import docx

from conftest import ADMIN_TOKEN, ARTIFACTS, ask, open_app


def test_a_tentative_answer_is_labelled(page, app_server):
    open_app(page, app_server.url)
    # Clauses speak of the matter, none squarely: the answer is tentative.
    answer = ask(page, "基层干部干事出了差错，组织上会怎么看？", 0)
    assert "没有找到直接对应的规定，以下条款可能相关" in answer.inner_text()
    assert page.locator("#chatbot .answer.tentative .tentative-label").first.inner_text() == "仅供参考"


def test_edit_the_associated_questions_of_a_clause(page, app_server):
    open_app(page, app_server.url)
    page.get_by_role("tab", name="知识库").click()
    page.fill("#admin-token input", ADMIN_TOKEN)
    page.locator("#aq-doc input").click()
    page.get_by_role("option", name="职工带薪年休假条例").click()
    page.locator("#aq-clause input").click()
    page.get_by_role("option", name="《职工带薪年休假条例》第六条").click()
    page.wait_for_function("() => document.querySelector('#aq-clause-text').innerText.includes('第六条')", timeout=30000)
    box = page.locator("#aq-questions textarea")
    box.fill(box.input_value() + "\n工会能不能管单位不让休年假")
    page.click("#aq-save")
    page.wait_for_function("() => document.querySelector('#aq-result').innerText.includes('已保存')", timeout=120000)
    stored = (app_server.corpus / "questions" / "paid-annual-leave-regulation.toml").read_text(encoding="utf-8")
    assert "工会能不能管单位不让休年假" in stored


def test_self_check_from_situation_to_word_file(page, app_server):
    open_app(page, app_server.url)
    page.get_by_role("tab", name="容错自查").click()
    page.fill("#sc-situation textarea", "推进改革试点时因为缺乏经验出现了失误，没有谋取私利，损失已经主动挽回了。")
    page.click("#sc-fill")
    page.wait_for_function("() => document.querySelector('#sc-fill-note').innerText.includes('已根据描述预填')",
                           timeout=30000)
    page.locator("#sc-q-duty-fulfilled").get_by_label("是").check()
    page.click("#sc-check")
    page.wait_for_function("() => document.querySelector('#sc-result').innerText.includes('逐条对照')", timeout=60000)
    result = page.inner_text("#sc-result")
    assert "第九条（条件已满足，可能适用）" in result and "不是组织认定" in result
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "self-check.png"), full_page=True)
    link = page.locator("#sc-file a").first
    link.wait_for(timeout=60000)
    with page.expect_download() as download:
        link.click()
    document = docx.Document(str(download.value.path()))
    assert document.paragraphs[0].text == "容错自查结果"
