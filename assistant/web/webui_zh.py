"""The web UI's own words from gradio, in Chinese, whatever the browser's language.

gradio picks its language from the browser and translates only some of its words; others
(“Copy conversation”, “Liked”, “Fullscreen”, the screen-reader label of each chat message,
which is “bot's message: ” and the raw HTML) are written into its components in English.
So: `I18N` fills the keys gradio's own Simplified Chinese lacks, and `LOCALIZE_JS` replaces,
as the page changes, every English tooltip, label and text gradio puts there, in any locale.
"""
from __future__ import annotations

import json

import gradio as gr

# gradio's translation keys that show on these pages (chat buttons, upload box, toasts).
_KEYS = {
    "chatbot": {"like": "赞", "dislike": "踩", "clear": "清空对话", "copy_message": "复制这条",
                "copied_message": "已复制", "retry": "重试", "undo": "撤销", "edit": "编辑", "submit": "提交",
                "cancel": "取消", "complete": "完成"},
    "common": {"clear": "清除", "download": "下载", "edit": "编辑", "empty": "空", "error": "出错了", "loading": "加载中",
               "or": "或", "remove": "移除", "submit": "提交", "undo": "撤销", "complete": "完成", "share": "分享"},
    "upload_text": {"click_to_upload": "点击上传", "drop_file": "将文件拖放到此处"},
    "file": {"uploading": "正在上传……"},
}
# Only words gradio's own dictionary lacks survive its merge (its dictionary is added after
# this one), so this covers zh-CN; other locales are left to LOCALIZE_JS.
I18N = gr.I18n(**{"zh-CN": _KEYS})

# English written by gradio → Chinese, for attributes (aria-label, title, placeholder) and text.
WORDS = {
    "Clear": "清空对话", "Copy message": "复制这条", "Copied message": "已复制", "Copy conversation": "复制全部对话",
    "Copied conversation": "已复制全部对话", "Like": "赞", "Dislike": "踩", "Liked": "已赞", "Disliked": "已踩",
    "Share": "分享", "Retry": "重试", "Undo": "撤销", "Edit": "编辑", "Submit": "提交", "Cancel": "取消",
    "chatbot conversation": "对话记录", "Loading response": "正在生成回答", "Loading content": "正在加载",
    "Scroll down": "回到最新", "Feedback": "反馈", "Chatbot": "对话",
    "More tabs": "更多标签页", "Table actions": "表格操作", "Copy table data": "复制表格", "Copied table data": "已复制表格",
    "Fullscreen": "全屏", "Exit fullscreen": "退出全屏", "Dataframe": "表格", "Open cell menu": "单元格菜单",
    "Sort column": "排序", "Sort ascending": "升序", "Sort descending": "降序", "Clear sort": "取消排序",
    "File upload": "上传文件", "Click to upload or drop files": "点击上传或拖入文件", "Drop File Here": "将文件拖放到此处",
    "Click to Upload": "点击上传", "Upload a file": "上传文件", "Download": "下载", "Remove": "移除", "Clear file": "清除文件",
    "Reset to default value": "恢复默认值", "Empty value": "未选择", "No value": "未选择", "Textbox": "文本框",
    "Dropdown": "下拉选择", "Radio": "单选", "Slider": "滑块", "Close": "关闭", "Loading...": "加载中……",
    "Uploading...": "正在上传……", "common.complete": "完成", "Error": "出错了", "Warning": "提示", "Info": "提示",
}
# Labels gradio builds around a text of ours: (pattern, replacement). A message's label carries
# the message as HTML; $1 is its text (without the cited clauses' full text, a click away).
PATTERNS = [
    [r"^(?:bot|assistant)'s message: (.*)$", "回答：$1"],
    [r"^user's message: (.*)$", "提问：$1"],
    [r"^number input for (.*)$", "$1（数值）"],
    [r"^range slider for (.*)$", "$1（滑块）"],
    [r"^Select example (\d+): (.*)$", "示例$1：$2"],
    [r"^File: (.*)$", "文件：$1"],
]

LOCALIZE_JS = """
() => {
  const WORDS = %s, PATTERNS = %s.map(([p, r]) => [new RegExp(p, "s"), r]);
  const ATTRS = ["aria-label", "title", "placeholder"];
  const plain = html => {
    const doc = new DOMParser().parseFromString(html, "text/html");  // parsed, never run
    doc.querySelectorAll(".clause").forEach(e => e.remove());
    return doc.body.textContent.replace(/\\s+/g, " ").trim();
  };
  const chinese = value => {
    if (Object.hasOwn(WORDS, value.trim())) return WORDS[value.trim()];
    for (const [pattern, replacement] of PATTERNS) {
      const m = value.match(pattern);
      if (m) return replacement.replace(/\\$(\\d)/g, (_, i) => plain(m[i]));
    }
    return null;
  };
  const fixAttrs = el => {
    for (const name of ATTRS) {
      const value = el.getAttribute(name);
      const zh = value && chinese(value);
      if (zh && zh !== value) el.setAttribute(name, zh);
    }
  };
  const fixText = node => {
    const zh = Object.hasOwn(WORDS, node.data.trim()) ? WORDS[node.data.trim()] : null;
    if (zh) node.data = node.data.replace(node.data.trim(), zh);
  };
  const fixTree = root => {
    if (root.nodeType === Node.TEXT_NODE) return fixText(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    fixAttrs(root);
    root.querySelectorAll("[aria-label],[title],[placeholder]").forEach(fixAttrs);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) fixText(walker.currentNode);
  };
  fixTree(document.body);
  new MutationObserver(records => {
    for (const r of records) {
      if (r.type === "attributes") fixAttrs(r.target);
      else if (r.type === "characterData") fixText(r.target);
      else r.addedNodes.forEach(fixTree);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                             attributeFilter: ATTRS});
}
""" % (json.dumps(WORDS, ensure_ascii=False), json.dumps(PATTERNS, ensure_ascii=False))
