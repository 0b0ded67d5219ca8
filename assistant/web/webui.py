"""The web UI (gradio), in Chinese: 问答 for cadres, 知识库 for trainers and admins,
学习备课 for trainers preparing study sessions, 容错自查 (webui_self_check.py)."""
from __future__ import annotations

import html
import logging
from pathlib import Path

import gradio as gr

from .. import downloads
from ..answer import Answer
from .app_state import AppState, NotReady
from ..associated import QuestionFileError
from ..knowledge_base import UploadError
from ..loaders import SUPPORTED_SUFFIXES
from ..render import EXAMPLE_QUESTIONS, answer_html
from ..service import QuestionError
from ..study import preset_names
from .webui_self_check import self_check_tab

log = logging.getLogger(__name__)

EXAMPLES = list(EXAMPLE_QUESTIONS)
CSS = """
.citation summary { cursor: pointer; font-weight: 600; }
.citation .status { font-weight: 400; color: #666; }
.citation .full-label { font-weight: 400; color: #555; }
.citation .clause { padding: 6px 10px; border-left: 3px solid #c33; margin: 4px 0 8px; line-height: 1.7; }
/* [n] in the answer and on its citation: the same mark, so the eye can follow one to the other. */
.answer sup.ref { font-size: 0.8em; }
.ref { color: #c33; font-weight: 600; }
mark.quote { background: #ffe58f; }
mark.lead-in { background: #f0f0f0; }
.pending, .checks { color: #888; font-size: 0.9em; }
.tentative-label { display: inline-block; margin-right: 6px; padding: 0 6px; border-radius: 3px; line-height: 1.6;
                   background: #fff1e6; color: #ad4e00; border: 1px solid #ffc069; font-size: 0.85em; font-weight: 600; }
/* The chat's label and buttons get a band of their own: scrolled messages pass below it, not under it. */
#chatbot .bubble-wrap { margin-top: 34px; height: calc(100% - 34px); }
/* Tables fit the page: long names and file names wrap instead of running off the right. */
#documents table, #hits table { table-layout: fixed; width: 100%; }
#documents td, #documents th, #hits td, #hits th { overflow-wrap: anywhere; white-space: normal; }
"""
PENDING = '<span class="pending">（生成中，核对引用后显示出处）</span>'
DOC_HEADERS = ["文档", "类别", "状态", "日期", "条文数", "文件", "编号"]
DOC_WIDTHS = ["22%", "7%", "21%", "9%", "6%", "20%", "15%"]
EXCERPT_CHARS = 160


def hit_columns(reranked: bool) -> tuple[list[str], list[str]]:
    """The hit-test table's headers and widths; 重排 only when a reranker scores the hits."""
    headers = ["排名", "条文", "稠密", "BM25", "融合", *(["重排"] if reranked else []), "原文摘录"]
    widths = ["5%", "22%", "7%", "7%", "7%", *(["7%"] if reranked else []), "45%" if reranked else "52%"]
    return headers, widths


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "……"


def _history(answers: list[Answer]) -> list[dict]:
    """The conversation so far, as the assistant reads it (question and plain answer text)."""
    turns = []
    for a in answers:
        turns += [{"role": "user", "content": a.question}, {"role": "assistant", "content": a.answer}]
    return turns


def build_ui(state: AppState) -> gr.Blocks:
    read_only = not state.settings.admin_token
    reranked = bool(state.settings.reranker)
    hit_headers, hit_widths = hit_columns(reranked)

    def take(message: str):
        """Empties the box once the question is accepted, in an event of its own: the answer
        then streams into the chat without touching the box, so nothing typed meanwhile is
        erased; a question that cannot be asked stays in the box, beside the error."""
        try:
            state.require().validated(message)
        except (QuestionError, NotReady) as exc:
            raise gr.Error(exc.zh) from None
        return "", message

    async def respond(message: str, chat: list, answers: list, request: gr.Request):
        """Streams an LLM's words as they come; the checked answer with its citations replaces them."""
        before, answers = list(chat or []), list(answers or [])
        pending = before + [{"role": "user", "content": html.escape(message.strip())},
                            {"role": "assistant", "content": "……"}]
        written = ""
        try:
            async for kind, value in state.answer(message, _history(answers), "web",
                                                  getattr(request, "session_hash", "") or ""):
                if kind == "token":
                    written += value
                    pending[-1] = {"role": "assistant", "content": html.escape(written) + PENDING}
                    yield pending, answers
                elif kind == "final":
                    pending[-1] = {"role": "assistant", "content": answer_html(value)}
                    yield pending, answers + [value]  # the Answer itself, kept on the server
        except (QuestionError, NotReady) as exc:  # an error, so that API callers see it too
            raise gr.Error(exc.zh) from None

    def rate(answers: list, event: gr.EventData):
        # gr.EventData, not gr.LikeData: a call through the API carries no like, and gradio
        # would fail building a LikeData from nothing before this function is called.
        if not event._data:
            return None, gr.update(visible=False), "请在对话中对一条回答点赞或点踩。"
        data = gr.LikeData(event.target, event._data)
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        position = index // 2  # user and assistant messages alternate
        if not answers or position >= len(answers) or data.liked not in (True, False):
            return None, gr.update(visible=False), ""
        answer = answers[position]
        feedback_id = state.feedback.add_feedback(
            answer.question, answer.answer, [c.label for c in answer.citations], 1 if data.liked else -1,
            channel="web")
        return feedback_id, gr.update(visible=True), "已记录您的评价，可补充说明。"

    def add_comment(feedback_id, comment: str):
        if feedback_id is None or not comment.strip():
            return gr.update(), "请先对一条回答点赞或点踩，再填写意见。"
        state.feedback.set_comment(int(feedback_id), comment.strip()[:2000])
        return gr.update(value=""), "意见已提交，谢谢。"

    def document_rows():
        """The documents table, the delete choice, the study-pack choice and a count."""
        try:
            rows = state.require_knowledge_base().documents()
        except NotReady as exc:
            return [], gr.update(choices=[]), gr.update(choices=[]), gr.update(choices=[]), str(exc)
        table = [[r.title, r.kind, r.status, r.date, r.clauses, r.file, r.id] for r in rows]
        held = [r for r in rows if r.held]
        choices = [(f"{r.title}（{r.file}）", r.id) for r in held]
        titles = [(r.title, r.id) for r in held]
        return (table, gr.update(choices=choices, value=None), gr.update(choices=titles),
                gr.update(choices=titles),
                f"知识库共 {len(held)} 个文档；另列出 {len(rows) - len(held)} 个常被问到但未收录的文件。")

    def check_token(token: str) -> None:
        refusal = state.admin_refusal(token)
        if refusal:
            raise gr.Error("知识库为只读：服务器未设置 POLICYQA_ADMIN_TOKEN。" if refusal == "read_only" else "管理员口令错误。")

    def upload(file_path, token: str, progress=gr.Progress()):
        check_token(token)
        if not file_path:
            raise gr.Error("请先选择要上传的文件。")
        path = Path(file_path)
        try:
            info, report = state.require_knowledge_base().add(
                path.name, path.read_bytes(), progress=lambda stage, done, total: progress((done, total), desc=stage))
        except (UploadError, NotReady) as exc:
            raise gr.Error(str(exc)) from None
        return *document_rows(), f"已上传《{info.title}》。{report.summary()}"

    def delete(doc_id, token: str, progress=gr.Progress()):
        check_token(token)
        if not doc_id:
            raise gr.Error("请先选择要删除的文档。")
        try:
            report = state.require_knowledge_base().delete(
                doc_id, progress=lambda stage, done, total: progress((done, total), desc=stage))
        except KeyError:
            raise gr.Error("知识库中没有这个文档。") from None
        return *document_rows(), f"已删除。{report.summary()}"

    def study_pack(topic: str, docs: list, questions: float, fmt: str):
        from ..study import StudyPackBuilder, TopicNotFound
        from ..study_export import to_markdown

        try:
            pack = StudyPackBuilder(state.require()).build(topic or "", docs or [], int(questions))
        except (TopicNotFound, ValueError, NotReady) as exc:
            raise gr.Error(str(exc)) from None
        return str(downloads.study_pack(pack, fmt).temp_file()), pack.basis, to_markdown(pack)

    def clauses_of(doc_id):
        """The clause choices of a document, for the associated-question editor."""
        if not doc_id:
            return gr.update(choices=[], value=None)
        try:
            clauses = [c for c in state.require().index.snapshot().clauses if c.doc_id == doc_id]
        except NotReady as exc:
            raise gr.Error(str(exc)) from None
        return gr.update(choices=[(c.label, c.id) for c in clauses], value=None)

    def load_questions(clause_id):
        if not clause_id:
            return "", "", ""
        try:
            clause, entry = state.require_knowledge_base().clause_questions(clause_id)
        except (KeyError, NotReady):
            raise gr.Error("知识库中没有这条条文，请刷新列表。") from None
        return (f"**{html.escape(clause.label)}**\n\n{html.escape(clause.text)}", "\n".join(entry.questions),
                "\n".join(entry.draft))

    def save_questions(clause_id, questions: str, draft: str, token: str, progress=gr.Progress()):
        check_token(token)
        if not clause_id:
            raise gr.Error("请先选择条文。")
        try:
            entry, report = state.require_knowledge_base().set_clause_questions(
                clause_id, questions.splitlines(), draft.splitlines(),
                progress=lambda stage, done, total: progress((done, total), desc=stage))
        except KeyError:
            raise gr.Error("知识库中没有这条条文，请刷新列表。") from None
        except (QuestionFileError, NotReady) as exc:
            raise gr.Error(str(exc)) from None
        return "\n".join(entry.questions), "\n".join(entry.draft), f"已保存 {len(entry.questions)} 个关联问题。{report.summary()}"

    def hit_test(query: str):
        try:
            retrieval = state.require().search(query, 10)
        except (QuestionError, NotReady) as exc:
            raise gr.Error(str(exc)) from None
        return [[i, h.clause.label, round(h.dense, 3), round(h.bm25, 2), round(h.fused, 4),
                 *([None if h.rerank is None else round(h.rerank, 3)] if reranked else []), excerpt(h.clause.text)]
                for i, h in enumerate(retrieval.hits, 1)]

    with gr.Blocks(title="干部政策问答助手") as ui:
        gr.Markdown("## 干部政策问答助手\n依据知识库中的政策文件作答，每条回答都注明出处（文件、条款、原文）。"
                    "知识库没有规定的问题，会直接告知。")
        with gr.Tab("问答", id="chat"):
            # No "share" button: it is for gradio's hosted spaces, not an intranet.
            chatbot = gr.Chatbot(label="对话", elem_id="chatbot", height=520, buttons=["copy", "copy_all"])
            answers = gr.State([])
            with gr.Row():
                question = gr.Textbox(label="问题", show_label=False, placeholder="请输入问题，例如：受了记过处分，多长时间不能提拔？",
                                      elem_id="question", scale=8, max_lines=4)
                send = gr.Button("提问", variant="primary", elem_id="ask", scale=1)
                asked = gr.Textbox(visible=False)  # the question taken from the box, as `respond` answers it
            gr.Markdown("示例问题（点击即问）：")
            with gr.Row():
                example_buttons = [gr.Button(text, size="sm", elem_classes=["example"]) for text in EXAMPLES]
            new_chat = gr.Button("开始新对话", size="sm")
            feedback_id = gr.State(None)
            feedback_note = gr.Markdown(elem_id="feedback-note")
            with gr.Row(visible=False) as comment_row:
                comment = gr.Textbox(label="补充意见（可选）", elem_id="comment", scale=8)
                comment_send = gr.Button("提交意见", elem_id="comment-send", scale=1)

        with gr.Tab("知识库", id="kb"):
            notice = ("**知识库为只读**：服务器未设置 `POLICYQA_ADMIN_TOKEN`，不能上传或删除文档；列表和命中测试照常可用。"
                      if read_only else "上传或删除文档需要管理员口令。上传后自动增量更新索引。")
            gr.Markdown(notice, elem_id="kb-notice")
            docs_table = gr.Dataframe(headers=DOC_HEADERS, column_widths=DOC_WIDTHS, interactive=False, wrap=True,
                                      label="文档列表", show_label=False, elem_id="documents", max_height=900)
            docs_status = gr.Markdown()
            refresh = gr.Button("刷新列表", size="sm")
            with gr.Group(visible=not read_only):
                token = gr.Textbox(label="管理员口令", type="password", elem_id="admin-token")
                with gr.Row():
                    upload_file = gr.File(label="上传文档（" + " ".join(SUPPORTED_SUFFIXES) + "）",
                                          file_types=list(SUPPORTED_SUFFIXES), type="filepath", elem_id="upload")
                    upload_button = gr.Button("上传并更新索引", variant="primary", elem_id="upload-button")
                with gr.Row():
                    # Custom values pass gradio's own check, so an unknown id gets our message.
                    delete_choice = gr.Dropdown(label="选择要删除的文档", choices=[], elem_id="delete-choice",
                                                allow_custom_value=True)
                    delete_button = gr.Button("删除文档", variant="stop", elem_id="delete-button")
            kb_result = gr.Markdown(elem_id="kb-result")
            gr.Markdown("### 命中测试\n输入查询，查看排序后的条文及其稠密、BM25、融合" + ("和重排" if reranked else "") + "得分。")
            with gr.Row():
                hit_query = gr.Textbox(label="检索词", show_label=False, placeholder="例如：容错正面清单",
                                       elem_id="hit-query", scale=8)
                hit_button = gr.Button("检索", elem_id="hit-button", scale=1)
            hits_table = gr.Dataframe(headers=hit_headers, column_widths=hit_widths, interactive=False, wrap=True,
                                      label="命中结果", show_label=False, elem_id="hits", max_height=1400)
            gr.Markdown("### 关联问题\n为条文补充干部常用的问法：检索时指向该条文，不作为出处显示。每行一个；"
                        "“待审核的建议”由大模型起草（`policy-qa index --suggest-questions`），移到上面一栏保存后才参与检索。")
            with gr.Row():
                aq_doc = gr.Dropdown(label="文档", choices=[], elem_id="aq-doc")
                aq_clause = gr.Dropdown(label="条文", choices=[], elem_id="aq-clause")
            aq_clause_text = gr.Markdown(elem_id="aq-clause-text")
            aq_questions = gr.Textbox(label="关联问题（每行一个，参与检索）", lines=6, elem_id="aq-questions",
                                      interactive=not read_only)
            aq_draft = gr.Textbox(label="待审核的建议（不参与检索）", lines=3, elem_id="aq-draft",
                                  interactive=not read_only)
            with gr.Group(visible=not read_only):
                aq_save = gr.Button("保存关联问题并更新索引", elem_id="aq-save")
            aq_result = gr.Markdown(elem_id="aq-result")

        with gr.Tab("学习备课", id="study"):
            gr.Markdown("为学习研讨、专题培训准备材料：重点条文（原文）、对照表、研讨题、测验题和答案（每题注明依据的条文）。"
                        "可选预设主题，也可以输入任意主题。")
            with gr.Row():
                study_topic = gr.Dropdown(label="主题", choices=preset_names(), value="容错纠错",
                                          allow_custom_value=True, elem_id="study-topic", scale=3)
                study_questions = gr.Slider(1, 30, value=10, step=1, label="测验题数", scale=2)
                study_format = gr.Radio(["docx", "md"], value="docx", label="格式", scale=1)
            study_docs = gr.Dropdown(label="只用这些文件（可选，不选则用全部）", choices=[], multiselect=True)
            study_button = gr.Button("生成备课材料", variant="primary", elem_id="study-button")
            study_file = gr.File(label="下载", elem_id="study-file")
            study_note = gr.Markdown(elem_id="study-note")
            study_preview = gr.Markdown(elem_id="study-preview")

        self_check_tab(state)

        for trigger in (send.click, question.submit):
            trigger(take, [question], [question, asked], api_visibility="private").success(
                respond, [asked, chatbot, answers], [chatbot, answers], api_name="respond")
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(respond, [gr.State(text), chatbot, answers], [chatbot, answers])
        new_chat.click(lambda: ([], [], None, gr.update(visible=False), ""), None,
                       [chatbot, answers, feedback_id, comment_row, feedback_note])
        chatbot.like(rate, [answers], [feedback_id, comment_row, feedback_note])
        comment_send.click(add_comment, [feedback_id, comment], [comment, feedback_note])
        document_outputs = [docs_table, delete_choice, study_docs, aq_doc, docs_status]
        refresh.click(document_rows, None, document_outputs)
        upload_button.click(upload, [upload_file, token], document_outputs + [kb_result])
        delete_button.click(delete, [delete_choice, token], document_outputs + [kb_result])
        aq_doc.change(clauses_of, [aq_doc], [aq_clause])
        aq_clause.change(load_questions, [aq_clause], [aq_clause_text, aq_questions, aq_draft])
        aq_save.click(save_questions, [aq_clause, aq_questions, aq_draft, token], [aq_questions, aq_draft, aq_result])
        hit_button.click(hit_test, [hit_query], [hits_table])
        hit_query.submit(hit_test, [hit_query], [hits_table])
        study_button.click(study_pack, [study_topic, study_docs, study_questions, study_format],
                           [study_file, study_note, study_preview])
        ui.load(document_rows, None, document_outputs)
    # Gradio runs one event at a time unless told otherwise; answer as many chats at once as the API does.
    ui.queue(default_concurrency_limit=state.settings.max_concurrent, max_size=state.settings.max_queue)
    return ui
