"""Fold a follow-up question into the conversation so retrieval sees a standalone question.

Without an LLM this is done by rule. A turn leans on the one before when it says so
(opens with 那/如果/要是, ends with 呢, points back with 这种/这个/我本人), when it has at
most one content word of its own beside its question words ("本人能申请吗？", "谁来定？",
"那哪些人可以申请？"), when its subject is a pronoun ("那他还能……"), or when it picks up
a subject word of the previous question ("处分期满了……" → "这个解除要走啥流程"). A
follow-up either swaps one term of the previous question for a term of the same kind
(公务员 → 事业单位人员, 警告 → 撤职) or, when nothing can be swapped, is appended to the
previous question as a refinement; its own words are the focus retrieval weighs most.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .courtesy import plain, without_courtesy
from .lexical import content_words
from .thesaurus import PERSON_CATEGORY, default_thesaurus

_LEADING = re.compile(r"^(那对于|那如果|那要是|那么|那|如果是|如果|要是|假如|万一|还有|另外|再问一下|再问|请问|同样|对于)")
# Words that point back into the conversation: "这种情况", "这期间", "我本人", "他们" (a pronoun
# opening the turn: _PRONOUN_SUBJECT).
_POINTING_BACK = re.compile(r"这种|这个|这样|这些|这期间|这段|那种|那个|上述|上面|前面说|刚才|刚刚|其中|此前|"
                            r"我本人|我自己|本人|他们|她们|之后|然后|接下来|后面")
# A turn whose subject is a pronoun ("那他还能……", "她能不能……") names no one of its own: whatever
# else it says, it is about the person of the turn before ("他人" is anyone else, no pronoun).
_PRONOUN_SUBJECT = re.compile(r"^(?:他|她|它)(?!人)")
_TRAILING = re.compile(r"(的话)?(呢|的呢|怎么样|怎么办|又如何|如何)?[？?！!。．\s]*$")
_ENDS_WITH_NE = re.compile(r"呢[？?！!。\s]*$")
# "哪些人", "什么人" ask who, as 谁 does: the 人 in them is no subject of the turn's own.
_INTERROGATIVE = re.compile(r"吗|为什么|为何|怎么|怎样|如何|(?:哪些|哪类|哪种|什么)人|哪些|哪个|哪几|多少|多久|几|是否|能否|"
                            r"能不能|可不可以|有没有|什么")
_PERSON_TAIL = re.compile(r"的?((?:工作)?人员)")
_NUMBER_SLOT = re.compile(r"(\d+|[一二三四五六七八九十百两]+)(年|个月|天|日|%)")

# Terms that can stand in for one another in a question: who it is about, which sanction,
# which grade, which leave. A follow-up naming one of them replaces its sibling.
SLOT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("事业单位工作人员", "事业单位人员", "事业单位", "公务员", "公职人员", "乡镇干部", "基层干部", "领导干部",
     "村干部", "国有企业管理人员", "职工", "干部"),
    ("警告", "记大过", "记过", "降级", "撤职", "开除", "降低岗位等级"),
    ("基本称职", "不称职", "称职", "基本合格", "不合格", "合格", "优秀"),
    ("年休假", "事假", "病假", "寒暑假"),
    ("平时考核", "专项考核", "定期考核", "年度考核", "聘期考核"),
)


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Condensed:
    text: str  # the standalone question
    focus: str = ""  # what the follow-up itself asked about; weighted up in retrieval
    check: str = ""  # when a model was to condense and the rules had to: why


def is_follow_up(question: str, previous: str = "") -> bool:
    """A question that leans on the one before (see the module notes) — unless it asks
    something of its own about at least two things, shares no subject with it and names no
    one but by a pronoun."""
    q = question.strip()
    if not q:
        return False
    if _PRONOUN_SUBJECT.match(_LEADING.sub("", q)):
        return True
    # Words that point back (本人, 这种) or only ask (能不能, 多久) say nothing new.
    own = content_words(_INTERROGATIVE.sub(" ", _POINTING_BACK.sub(" ", q)))
    if previous and _shares_subject(own, previous):
        return True
    leaning = bool(_LEADING.match(q) or _ENDS_WITH_NE.search(q) or _POINTING_BACK.search(q)) or len(q) <= 6
    if leaning and _INTERROGATIVE.search(q):
        return len(own) < 2
    return leaning or len(own) <= 1


def _shares_subject(words: list[str], previous: str) -> bool:
    """A content word of the previous question taken up again — not a word for who is asking
    (公务员, 干部, 事业单位 …): those name the person, not the subject."""
    thesaurus = default_thesaurus()
    before = set(content_words(previous))
    for word in words:
        concept = thesaurus.concept(word)
        if concept is not None and concept.category == PERSON_CATEGORY:
            continue
        if word in before or (concept is not None and before & set(concept.words)):
            return True
    return False


def condense(question: str, history: Iterable[Turn]) -> Condensed:
    """The question as it would be asked without the conversation before it, and without
    the courtesies around it (courtesy.py)."""
    question, previous = plain(question), _previous(history)
    if previous is None or not is_follow_up(question, previous):
        return Condensed(question)
    return _joined(question, previous)


def as_follow_up(question: str, history: Iterable[Turn]) -> Condensed:
    """The question read as leaning on the previous one even when it does not say so: the
    caller tries both readings and keeps the one the corpus answers better."""
    question, previous = plain(question), _previous(history)
    return Condensed(question) if previous is None else _joined(question, previous)


def _joined(question: str, previous: str) -> Condensed:
    core = _TRAILING.sub("", _LEADING.sub("", question.strip())).strip("，,。 ")
    if not core:
        return Condensed(previous)
    swapped = _swap_slot(previous, core)
    return Condensed(swapped if swapped is not None else f"{previous.rstrip('？?。')} {core}", core)


def _previous(history: Iterable[Turn]) -> str | None:
    """The previous question, itself read with the conversation before it; a turn of nothing
    but courtesy is none."""
    users = [asked for t in history if t.role == "user" and (asked := without_courtesy(t.content))]
    if not users:
        return None
    return condense(users[-1], [Turn("user", u) for u in users[:-1]]).text


def _swap_slot(previous: str, core: str) -> str | None:
    new_number = _NUMBER_SLOT.search(core)
    if new_number:
        for old_number in _NUMBER_SLOT.finditer(previous):
            if old_number.group(2) == new_number.group(2) and old_number.group() != new_number.group():
                return previous.replace(old_number.group(), new_number.group(), 1)
    for group in SLOT_GROUPS:
        new = _first_term(core, group)
        old = _first_term(previous, group)
        if new and old and new not in old:  # 干部 after 乡镇干部 narrows nothing: append instead
            start = core.find(new)
            person = _PERSON_TAIL.match(core, start + len(new))  # 事业单位的工作人员: one term
            span = core[start:person.end()] if person else new
            extra = core.replace(span, "", 1)
            if person:
                new += person.group(1)
            swapped = previous.replace(old, new, 1)
            return f"{swapped.rstrip('？?。')} {extra}" if content_words(extra) else swapped
    return None


def _first_term(text: str, group: tuple[str, ...]) -> str | None:
    """The earliest term of the group in text (longest first at the same place: 不称职 over 称职)."""
    found = [(text.find(t), -len(t), t) for t in group if t in text]
    return min(found)[2] if found else None
