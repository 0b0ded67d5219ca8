"""The web UI in a real browser: Debian's Chromium driven by Playwright, no network."""
from __future__ import annotations

import sqlite3

from conftest import ADMIN_TOKEN, ARTIFACTS, ask, make_docx, open_app, wait_for_answer


def test_ask_and_see_the_clause(page, app_server, outside_requests):
    open_app(page, app_server.url)
    answer = ask(page, "浙江省对乡镇干部经济待遇的规定是什么？", 0)
    assert "高于县级机关同职级干部20%以上" in answer.inner_text()
    citation = page.locator("#chatbot details.citation").first
    assert "《意见》（新闻报道）·严格约束关爱激励相结合·第7段" in citation.locator("summary").inner_text()
    citation.locator("summary").click()
    mark = citation.locator("mark.quote")
    mark.wait_for(state="visible")
    assert "乡镇干部经济待遇一般高于县级机关同职级干部20%以上" in mark.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)
    assert outside_requests == []


def test_click_an_example(page, app_server):
    open_app(page, app_server.url)
    page.get_by_role("button", name="推进改革时因为缺乏经验出了失误，能不能容错？").click()
    answer = wait_for_answer(page, 0)
    assert "先行先试出现失误" in answer.inner_text()


def test_a_question_that_cannot_be_asked_stays_in_the_box_beside_the_error(page, app_server):
    open_app(page, app_server.url)
    box = page.locator("#question textarea")
    too_long = "年休假" * 200
    box.fill(too_long)
    page.click("#ask")
    page.get_by_text("问题太长").first.wait_for(timeout=60000)
    assert box.input_value() == too_long and page.locator("#chatbot .answer").count() == 0


def test_a_follow_up_uses_the_previous_turn(page, app_server):
    open_app(page, app_server.url)
    ask(page, "公务员定期考核的结果有几个等次？", 0)
    second = ask(page, "那事业单位工作人员呢？", 1)
    assert "优秀、合格、基本合格和不合格" in second.inner_text()


def test_rate_an_answer_and_find_it_in_the_store(page, app_server):
    open_app(page, app_server.url)
    ask(page, "浙江推行的“无会日”是怎么回事？", 0)
    # The thumbs-up button is labelled by the page's locale: 赞 in Chinese, Like in English.
    page.locator("#chatbot button[aria-label='赞'], #chatbot button[aria-label='Like']").last.click()
    page.wait_for_selector("#comment textarea", timeout=30000)
    page.fill("#comment textarea", "回答清楚，引用准确")
    page.click("#comment-send")
    page.wait_for_function("() => document.querySelector('#feedback-note').innerText.includes('意见已提交')",
                           timeout=30000)
    with sqlite3.connect(app_server.db) as db:
        rows = db.execute("SELECT rating, comment, question, channel FROM feedback WHERE comment = ?",
                          ("回答清楚，引用准确",)).fetchall()
    assert rows == [(1, "回答清楚，引用准确", "浙江推行的“无会日”是怎么回事？", "web")]


def test_admin_uploads_a_docx_and_finds_it_by_hit_testing(page, app_server, tmp_path):
    doc = make_docx(tmp_path / "wuhuiri.docx", "基层减负工作细则",
                    ["第一条 为切实减轻基层负担，制定本细则。", "第二条 每周三为乡镇（街道）“无会日”，当天原则上不召开会议、不安排督查检查。"])
    open_app(page, app_server.url)
    page.get_by_role("tab", name="知识库").click()
    page.wait_for_selector("#documents", timeout=30000)
    page.fill("#admin-token input", ADMIN_TOKEN)
    page.set_input_files("#upload input[type=file]", str(doc))
    page.wait_for_function("() => document.querySelector('#upload').innerText.includes('wuhuiri.docx')", timeout=30000)
    page.click("#upload-button")
    page.wait_for_function("() => document.querySelector('#kb-result').innerText.includes('已上传')", timeout=120000)
    assert "基层减负工作细则" in page.inner_text("#kb-result")
    assert (app_server.corpus / "wuhuiri.docx").exists()
    page.fill("#hit-query textarea", "每周三无会日不召开会议")
    page.click("#hit-button")
    page.wait_for_function("() => document.querySelector('#hits').innerText.includes('基层减负工作细则')", timeout=30000)
    labels = [line for line in page.inner_text("#hits").splitlines() if line.startswith("《")]
    assert "《基层减负工作细则》第二条" in labels[:3]  # a new document has no associated questions yet
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "knowledge-base.png"), full_page=True)


def test_without_an_admin_token_the_knowledge_base_is_read_only(page, readonly_server):
    open_app(page, readonly_server.url)
    page.get_by_role("tab", name="知识库").click()
    notice = page.locator("#kb-notice")
    notice.wait_for(state="visible")
    assert "知识库为只读" in notice.inner_text() and "POLICYQA_ADMIN_TOKEN" in notice.inner_text()
    assert page.locator("#upload-button").count() == 0 or not page.locator("#upload-button").is_visible()
    page.wait_for_function("() => document.querySelector('#documents').innerText.includes('职工带薪年休假条例')",
                           timeout=30000)


def test_download_a_study_pack(page, app_server):
    import docx

    open_app(page, app_server.url)
    page.get_by_role("tab", name="学习备课").click()
    page.click("#study-button")
    link = page.locator("#study-file a").first
    link.wait_for(timeout=60000)
    with page.expect_download() as download:
        link.click()
    path = download.value.path()
    document = docx.Document(str(path))
    assert document.paragraphs[0].text == "学习备课材料：容错纠错"
    assert "测验答案" in [p.text for p in document.paragraphs]
    assert "重点条文" in page.inner_text("#study-preview")
