"""Clause-aware splitting of every document kind, and the loaders behind it."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.catalog import load_catalog
from assistant.corpus import read_document, scan_corpus
from assistant.loaders import LoadError, load_document
from assistant.numerals import cn_to_int, int_to_cn
from assistant.sentences import sentence_spans

from conftest import CORPUS


@pytest.fixture(scope="module")
def scan():
    return scan_corpus(CORPUS)


def by_id(scan, cid):
    return next(c for c in scan.clauses if c.id == cid)


def test_every_shipped_document_loads_and_every_clause_is_a_verbatim_span(scan):
    assert not scan.failed and not scan.ignored
    assert {d.id for d in scan.documents} == {d.id for d in load_catalog(CORPUS).values()}
    for clause in scan.clauses:
        source = load_document(CORPUS / clause.source).text
        assert source[clause.start:clause.end] == clause.text
        for unit in clause.units:
            assert 0 <= unit.start < unit.end <= len(clause.text)


def test_one_clause_per_article_with_chapter_in_the_label(scan):
    law = [c for c in scan.clauses if c.doc_id == "civil-servant-law"]
    assert len(law) == 113  # 第一条 … 第一百一十三条, none split
    a93 = by_id(scan, "civil-servant-law/a93")
    assert a93.label == "《中华人民共和国公务员法》第十四章 第九十三条"
    assert a93.short_label == "《公务员法》第九十三条"
    assert a93.path == "第十四章 退休"
    assert a93.text.startswith("第九十三条 公务员符合下列条件之一的") and a93.text.endswith("其他情形的。")


def test_items_are_labelled_and_keep_their_lead_in(scan):
    a4 = by_id(scan, "paid-annual-leave-regulation/a4")
    item = next(u for u in a4.units if u.suffix == "第（四）项")
    assert a4.label_for(item.start, item.end) == "《职工带薪年休假条例》第四条第（四）项"
    assert a4.text[item.start:item.end].startswith("(四)累计工作满10年不满20年的职工")
    assert a4.lead_in_for(item.start, item.end) == "职工有下列情形之一的，不享受当年的年休假："
    # A quote that starts at the lead-in needs none shown before it.
    assert a4.lead_in_for(a4.body_start, item.end) == ""


def test_paragraphs_and_items_of_a_multi_paragraph_article_are_numbered(scan):
    a95 = by_id(scan, "civil-servant-law/a95")
    suffixes = [u.suffix for u in a95.units]
    assert suffixes[:3] == ["第一款", "第一款第（一）项", "第一款第（二）项"]
    assert "第四款" in suffixes
    item = next(u for u in a95.units if u.suffix == "第一款第（四）项")
    lead = a95.lead_in_for(item.start, item.end)
    # The lead-in is the whole sentence that ends in "：", not a fragment after a "；".
    assert lead.startswith("公务员对涉及本人的下列人事处理不服的") and lead.endswith("直接提出申诉：")


def test_a_long_article_is_split_by_paragraph_never_mid_sentence(scan):
    parts = [c for c in scan.clauses if c.id.startswith("admin-civil-servant-sanctions-regulation/a39-")]
    assert [c.id.rsplit("-", 1)[1] for c in parts] == ["k1", "k2", "k3"]
    assert parts[0].label == "《行政机关公务员处分条例》第五章 第三十九条第一款"
    assert parts[0].text.startswith("第三十九条")
    for part in parts:
        assert part.text.rstrip().endswith(("。", "；", "：")), part.text[-20:]
    joined = "".join(p.text for p in parts)
    assert len(joined) > 400


def test_news_report_paragraphs_sit_under_two_line_headings(scan):
    news = [c for c in scan.clauses if c.doc_id == "zj-opinion-news"]
    headings = {c.path for c in news}
    assert "深化容错纠错机制 / 为担当作为的干部撑腰" in headings
    # Neither heading line nor the title/byline became a paragraph of its own.
    assert not any(c.text in ("深化容错纠错机制", "为担当作为的干部撑腰") for c in news)
    assert not any(c.text.startswith(("时间:", "浙江出台实施意见")) for c in news)
    clause = next(c for c in news if "容错正面清单" in c.text)
    assert clause.label == "《意见》（新闻报道）·深化容错纠错机制·第2段"
    assert clause.note and "原文" in clause.note


def test_sentences_end_at_full_stops_and_split_long_sentences_at_semicolons():
    text = "第三条 职工累计工作已满1年不满10年的，年休假5天；已满10年不满20年的，年休假10天；已满20年的，年休假15天。\n\n国家法定休假日不计入。"
    pieces = [text[s:e] for s, e in sentence_spans(text, 4)]
    assert pieces == ["职工累计工作已满1年不满10年的，年休假5天；已满10年不满20年的，年休假10天；已满20年的，年休假15天。",
                      "国家法定休假日不计入。"]
    long = "甲" * 50 + "；" + "乙" * 50 + "。"
    assert [long[s:e] for s, e in sentence_spans(long)] == ["甲" * 50 + "；", "乙" * 50 + "。"]
    assert sentence_spans(long, semicolons=False) == [(0, len(long))]


@pytest.mark.parametrize("n", [1, 9, 10, 11, 20, 93, 100, 106, 110, 1000, 1024, 10000, 10010, 123456])
def test_chinese_numerals_round_trip(n):
    assert cn_to_int(int_to_cn(n)) == n


def test_numerals_as_laws_write_them():
    assert int_to_cn(106) == "一百零六" and int_to_cn(10) == "十" and int_to_cn(93) == "九十三"


STATUTE_LINES = ["测试人员管理规定", "第一章 总则", "第一条 为了规范测试人员管理，制定本规定。",
                 "第二条 测试人员有下列情形之一的，不得参加年度考核：", "（一）试用期未满的；", "（二）请事假累计超过三十日的。",
                 "第二章 考核", "第三条 考核结果分为优秀、合格和不合格三个等次。"]


def _check_made_statute(path: Path):
    info, clauses = read_document(path, {})
    assert info.title == "测试人员管理规定" and not info.catalogued
    assert [c.short_locator for c in clauses] == ["第一条", "第二条", "第三条"]
    second = clauses[1]
    assert second.locator == "第一章 第二条" and clauses[2].locator == "第二章 第三条"
    item = next(u for u in second.units if u.suffix == "第（二）项")
    assert second.text[item.start:item.end] == "（二）请事假累计超过三十日的。"
    assert second.lead_in_for(item.start, item.end) == "测试人员有下列情形之一的，不得参加年度考核："
    source = load_document(path).text
    for c in clauses:
        assert source[c.start:c.end] == c.text


def test_docx_made_here_splits_like_the_markdown_statutes(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading(STATUTE_LINES[0], level=0)
    for line in STATUTE_LINES[1:]:
        if line.startswith("第") and "章" in line[:4]:
            document.add_heading(line, level=1)
        else:
            document.add_paragraph(line)
    path = tmp_path / "rules.docx"
    document.save(path)
    _check_made_statute(path)


def test_pdf_made_here_rejoins_wrapped_lines(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "rules.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 12)
    y = 800
    lines = list(STATUTE_LINES)
    # The page wraps 第二条 mid-sentence: the loader must join it back.
    lines[3:4] = ["第二条 测试人员有下列情形之一的，", "不得参加年度考核："]
    for line in lines:
        pdf.drawString(50, y, line)
        y -= 20
    pdf.save()
    _check_made_statute(path)


def test_html_page_keeps_headings_and_paragraphs(tmp_path):
    path = tmp_path / "notice.html"
    path.write_text(
        "<html><head><title>页面标题</title><script>var x='第九条';</script></head><body>"
        "<h1>关于做好年度考核工作的通知</h1><h2>一、考核范围</h2><p>全体在编干部参加<b>年度考核</b>。</p>"
        "<h2>二、时间安排</h2><p>考核于十二月底前完成。</p><p>结果报组织部备案。</p></body></html>",
        encoding="utf-8")
    info, clauses = read_document(path, {})
    assert info.title == "关于做好年度考核工作的通知"
    assert [c.label for c in clauses] == [
        "《关于做好年度考核工作的通知》·一、考核范围·第1段",
        "《关于做好年度考核工作的通知》·二、时间安排·第1段",
        "《关于做好年度考核工作的通知》·二、时间安排·第2段",
    ]
    assert clauses[0].text == "全体在编干部参加年度考核。"  # inline markup does not break a paragraph
    assert not any("var x" in c.text for c in clauses)


def test_uncatalogued_text_is_titled_from_its_first_line(small_corpus):
    scan = scan_corpus(small_corpus)
    notice = next(d for d in scan.documents if d.file == "training-notice.txt")
    assert notice.title == "关于开展干部轮训的通知" and not notice.catalogued
    assert "未登记" in notice.status
    labels = [c.label for c in scan.clauses if c.doc_id == notice.id]
    assert labels[0] == "《关于开展干部轮训的通知》·一、轮训对象·第1段"


def test_binary_and_corrupt_files_fail_with_a_reason_and_do_not_stop_the_scan(small_corpus):
    (small_corpus / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (small_corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf")
    (small_corpus / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    (small_corpus / "sheet.xlsx").write_bytes(b"PK")
    scan = scan_corpus(small_corpus)
    assert set(scan.failed) == {"photo.txt", "broken.pdf", "broken.docx"}
    assert "二进制" in scan.failed["photo.txt"]
    assert "PDF" in scan.failed["broken.pdf"]
    assert "Word" in scan.failed["broken.docx"]
    assert scan.ignored == ["sheet.xlsx"]
    assert {d.file for d in scan.documents} == {"paid-annual-leave-regulation-2007-12-14.md", "training-notice.txt"}


def test_gb18030_text_is_read(tmp_path):
    path = tmp_path / "旧文件.txt"
    path.write_bytes("第一条 本办法适用于全体干部。\n\n第二条 本办法自发布之日起施行。".encode("gb18030"))
    _, clauses = read_document(path, {})
    assert [c.short_locator for c in clauses] == ["第一条", "第二条"]


def test_a_file_with_no_text_is_refused(tmp_path):
    path = tmp_path / "empty.md"
    path.write_text("\n\n   \n", encoding="utf-8")
    with pytest.raises(LoadError, match="没有可用的文字"):
        load_document(path)


def test_a_part_above_the_chapters_is_in_the_label_and_the_path():
    from assistant.catalog import DocInfo
    from assistant.splitter import split_document

    text = ("第一编 总则\n\n第一章 一般规定\n\n第一条 为了严明纪律，制定本条例。\n\n第二条 本条例适用于党员。\n\n"
            "第二编 分则\n\n第二章 违反工作纪律\n\n第三条 工作失职的，给予警告处分。\n\n第三编 附则\n\n第四条 本条例自发布之日起施行。\n")
    doc = DocInfo(id="rules", file="rules.md", title="纪律条例", short_title="条例", kind="party regulation")
    clauses = {c.id: c for c in split_document(doc, text)}
    assert clauses["rules/a1"].label == "《纪律条例》第一编第一章 第一条"
    assert clauses["rules/a3"].path == "第二编 分则 / 第二章 违反工作纪律"
    assert clauses["rules/a4"].label == "《纪律条例》第三编 第四条" and clauses["rules/a4"].short_label == "《条例》第四条"
