"""The 容错自查 tab of the web UI: describe the situation, let it pre-fill the answers it clearly
gives, confirm or answer each question (是 / 否 / 不清楚), see the result provision by provision,
and download it as a Word file for a talk with the organisation department."""
from __future__ import annotations

import gradio as gr

from .. import downloads
from .app_state import AppState, NotReady
from ..self_check import SelfCheckError, default_data, prefill, run
from ..self_check_export import to_markdown

CHOICES = ["是", "否", "不清楚"]
VALUE = {"是": True, "否": False, "不清楚": None}


def self_check_tab(state: AppState) -> None:
    """Built inside the UI's Blocks, as one tab."""
    data = default_data()
    questions = data.questions()
    with gr.Tab("容错自查", id="self-check"):
        gr.Markdown("对照知识库中关于容错、从轻减轻、免予处理的条款，逐条看哪些条件符合、哪些不符合、哪些还不清楚。"
                    "**结果只是对照公开条文的自查，不是组织认定。**")
        situation = gr.Textbox(label="情况描述（可选）", lines=3, elem_id="sc-situation",
                               placeholder="例如：推进改革试点时因缺乏经验出现失误，没有谋取私利，损失已挽回。")
        fill = gr.Button("根据描述预填", elem_id="sc-fill")
        fill_note = gr.Markdown(elem_id="sc-fill-note")
        radios = []
        with gr.Accordion("逐题回答（红线问题在前）", open=True):
            for q in questions:
                label = f"{'【红线】' if q['red_line'] else ''}{q['question']}"
                radios.append(gr.Radio(CHOICES, value="不清楚", label=label, elem_id=f"sc-q-{q['id']}"))
        check = gr.Button("查看自查结果", variant="primary", elem_id="sc-check")
        result_file = gr.File(label="下载 Word", elem_id="sc-file")
        result_view = gr.Markdown(elem_id="sc-result")

    def fill_from(text: str):
        suggested = prefill(text or "", data)
        updates = [gr.update(value=("是" if suggested[q["id"]].value else "否") if q["id"] in suggested else "不清楚")
                   for q in questions]
        note = "；".join(f"{s.reason}" for s in suggested.values()) or "描述中没有能直接对应到条件的说法，请逐题回答。"
        return [f"已根据描述预填 {len(suggested)} 题，请逐题确认。{note}", *updates]

    def result_for(text: str, *values):
        answers = {q["id"]: VALUE[v] for q, v in zip(questions, values) if v in VALUE}
        try:
            result = run(state.require(), text or "", answers)
        except (SelfCheckError, NotReady) as exc:
            raise gr.Error(str(exc)) from None
        return str(downloads.self_check(result, "docx").temp_file()), to_markdown(result)

    fill.click(fill_from, [situation], [fill_note, *radios])
    check.click(result_for, [situation, *radios], [result_file, result_view])
