"""A synthetic policy library: 条-structured Chinese regulations with chapters, numbered
articles, paragraphs and items, amounts and time limits — the shape of the real corpus, in
any quantity. Deterministic for a seed."""
from __future__ import annotations

import random

from assistant.numerals import int_to_cn

SUBJECTS = ["公务员", "事业单位工作人员", "机关", "用人单位", "主管部门", "任免机关", "基层干部", "领导干部",
            "聘用单位", "人事综合管理部门", "组织部门", "乡镇（街道）干部", "派驻干部", "参照管理人员"]
ACTIONS = ["应当按照规定报告", "应当在规定期限内审批", "可以申请复核", "不得擅自调整", "应当予以公示",
           "可以按照规定给予补助", "应当组织考核", "不得领取兼职报酬", "应当建立健全工作台账", "可以提出申诉",
           "应当接受监督检查", "不得违反规定发放津贴", "应当落实带薪休假", "可以适当延长期限"]
TOPICS = ["年度考核", "职级晋升", "教育培训", "工资福利", "带薪休假", "交流轮岗", "容错纠错", "澄清保护",
          "人事争议", "辞职辞退", "退休管理", "表彰奖励", "监督问责", "岗位设置", "公开招聘", "值班补休"]
AMOUNTS = ["三十日内", "十五日内", "六十日内", "五个工作日内", "一年以上", "三年以内", "20%以上", "50%",
           "连续两年", "累计超过三十天", "每年不少于十二天", "300%"]
CONDITIONS = ["情节较轻的", "情节严重的", "确因工作需要的", "经本人同意的", "符合规定条件的", "无正当理由的",
              "经批准的", "造成不良影响的"]


def article(rng: random.Random, number: int) -> str:
    topic, subject = rng.choice(TOPICS), rng.choice(SUBJECTS)
    head = f"第{int_to_cn(number)}条 {subject}开展{topic}工作，{rng.choice(ACTIONS)}，并于{rng.choice(AMOUNTS)}办结。"
    parts = [head]
    if rng.random() < 0.4:
        parts.append(f"{rng.choice(SUBJECTS)}有下列情形之一的，{rng.choice(ACTIONS)}：")
        for i in range(1, rng.randint(2, 5) + 1):
            parts.append(f"（{int_to_cn(i)}）{rng.choice(CONDITIONS)[:-1]}，{rng.choice(AMOUNTS)}未{rng.choice(['报告', '改正', '办理', '到岗'])}的；")
    elif rng.random() < 0.5:
        parts.append(f"{rng.choice(CONDITIONS)}，{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}；"
                     f"{rng.choice(CONDITIONS)}，依法给予处分。")
    return "\n\n".join(parts)


def regulation(rng: random.Random, index: int, articles: int) -> str:
    """One regulation in the Markdown shape of the shipped statutes."""
    title = f"{rng.choice(['浙江省', '某市', '某县', '省直机关'])}{rng.choice(TOPICS)}管理办法（第{index}号）"
    lines = [f"# {title}", "", "<!-- INFO END -->", ""]
    per_chapter = max(1, articles // 5)
    for n in range(1, articles + 1):
        if (n - 1) % per_chapter == 0:
            lines += [f"## 第{int_to_cn((n - 1) // per_chapter + 1)}章 {rng.choice(TOPICS)}", ""]
        lines += [article(rng, n), ""]
    return "\n".join(lines)
