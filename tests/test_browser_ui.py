"""The web UI as a cadre and a trainer see it, in Debian's Chromium at 1400×1000: nothing in
English whatever the browser's language, [n] linking the answer to its citation, a chat label
that covers no message, tables that fit the page, and the preset a typed study topic got.
Also takes the README's screenshots (test-artifacts/, copied to docs/screenshots/)."""
from __future__ import annotations

import re

import pytest

from assistant.render import EXAMPLE_QUESTIONS

from conftest import ARTIFACTS, ask, open_app

pytestmark = pytest.mark.slow

# Everything gradio writes for people to read or hear: tooltips, labels, placeholders, and text.
ENGLISH_ON_PAGE = """() => {
  const english = /[A-Za-z]{3,}/, found = [];
  for (const el of document.querySelectorAll("body *")) {
    if (["STYLE", "SCRIPT", "svg"].includes(el.tagName) || el.closest("svg")) continue;
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      const value = el.getAttribute(name);
      if (value && english.test(value)) found.push(`${el.tagName}[${name}]: ${value.slice(0, 60)}`);
    }
    for (const node of el.childNodes) {
      if (node.nodeType === Node.TEXT_NODE && english.test(node.data)) found.push(`${el.tagName}: ${node.data.slice(0, 60)}`);
    }
  }
  return found;
}"""


@pytest.mark.parametrize("page_locale", ["en-US", "zh-CN"])
def test_no_english_on_the_chat_page_in_any_browser_language(page, app_server, page_locale):
    open_app(page, app_server.url)
    ask(page, EXAMPLE_QUESTIONS[0], 0)
    page.locator("#chatbot .answer").last.hover()
    buttons = page.locator("#chatbot button[title]")
    titles = {buttons.nth(i).get_attribute("title") for i in range(buttons.count())}
    assert {"赞", "踩", "复制这条", "复制全部对话", "清空对话"} <= titles
    page.wait_for_function(f"() => !({ENGLISH_ON_PAGE})().length", timeout=10000)
    # A screen reader hears the answer's words, not its HTML.
    label = page.locator("#chatbot [aria-label^='回答：']").last.get_attribute("aria-label")
    assert "<" not in label and "公务员在受处分期间不得晋升" in label
    assert page.locator("#chatbot [aria-label^='提问：']").first.get_attribute("aria-label") == \
        f"提问：{EXAMPLE_QUESTIONS[0]}"


def test_the_answer_and_its_citation_carry_the_same_n(page, app_server):
    open_app(page, app_server.url)
    answer = ask(page, EXAMPLE_QUESTIONS[0], 0)
    in_text = [m.inner_text() for m in answer.locator("sup.ref").all()]
    summaries = page.locator("#chatbot details.citation summary")
    assert in_text and summaries.count() == len(set(in_text))
    for i in range(summaries.count()):
        summary = summaries.nth(i)
        n = summary.locator(".ref").inner_text()
        assert n in in_text and summary.locator(".ref").is_visible()
    first = summaries.first.inner_text()
    # The short label the answer text uses, then the full one.
    assert first.startswith("[1] 《公务员法》第六十四条") and "（《中华人民共和国公务员法》第九章 第六十四条）" in first
    assert "《公务员法》第六十四条" in answer.inner_text()
    colours = page.evaluate("""() => [...document.querySelectorAll('#chatbot .ref')]
        .map(e => getComputedStyle(e).color)""")
    assert len(set(colours)) == 1  # one mark, one look, in the text and on the citation
    summaries.first.click()
    page.locator("#chatbot details.citation mark.quote").first.wait_for(state="visible")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"))


def test_the_chat_label_covers_no_message_when_scrolled(page, app_server):
    open_app(page, app_server.url)
    for i, question in enumerate(EXAMPLE_QUESTIONS[:3]):
        ask(page, question, i)
    box = page.evaluate("""() => {
        const wrap = document.querySelector('#chatbot .bubble-wrap');
        wrap.scrollTop = wrap.scrollHeight / 2;
        const label = document.querySelector('#chatbot label').getBoundingClientRect();
        return {label: label.bottom, scrolled: wrap.scrollTop, messages: wrap.getBoundingClientRect().top};
    }""")
    assert box["scrolled"] > 0
    assert box["label"] <= box["messages"] + 1, box  # messages scroll below the label's band, not under it


def test_the_knowledge_base_tables_fit_the_page(page, app_server):
    open_app(page, app_server.url)
    page.get_by_role("tab", name="知识库").click()
    page.wait_for_function("() => document.querySelector('#documents').innerText.includes('civil-servant-law')",
                           timeout=30000)
    page.fill("#hit-query textarea", "记过处分期间能否晋升")
    page.click("#hit-button")
    page.wait_for_function("() => document.querySelector('#hits').innerText.includes('《')", timeout=30000)
    for table, headers in (("#documents", ["文档", "文件", "编号"]), ("#hits", ["条文", "原文摘录"])):
        fit = page.evaluate("""([table, headers]) => {
            const root = document.querySelector(table), right = root.getBoundingClientRect().right;
            const cells = [...root.querySelectorAll('th')];
            return {overflow: [...root.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1
                                                                        && getComputedStyle(e).overflowX !== 'visible'),
                    headers: headers.map(h => cells.find(c => c.innerText.trim() === h))
                                    .map(c => c && c.getBoundingClientRect().right <= right + 1)};
        }""", [table, headers])
        assert not fit["overflow"] and all(fit["headers"]), (table, fit)
    hit_headers = page.locator("#hits th").all_inner_texts()
    assert not any("重排" in h for h in hit_headers)  # no reranker configured: no empty column
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "knowledge-base.png"))


def test_a_typed_topic_names_the_preset_it_got(page, app_server):
    open_app(page, app_server.url)
    page.get_by_role("tab", name="学习备课").click()
    topic = page.locator("#study-topic input")
    topic.fill("年度考核")
    topic.press("Enter")
    page.click("#study-button")
    page.locator("#study-file a").first.wait_for(timeout=120000)
    page.wait_for_function("() => document.querySelector('#study-note').innerText.includes('干部考核')",
                           timeout=30000)
    assert page.inner_text("#study-note").strip() == "输入的主题“年度考核”按预设主题“干部考核”编排。"
    preview = page.inner_text("#study-preview")
    assert "学习备课材料：干部考核" in preview and "第八十八条" in preview
    assert not re.search(r"[“‘][“‘]|[”’][”’]", preview)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "study.png"))
