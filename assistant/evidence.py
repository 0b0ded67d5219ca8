"""Amounts: a question asking how many / how long is answered only by a quote that states one,
in the unit asked for ("一年有几天年假？" is not answered by "连续工作1年以上的", and
"产假有多少天？" not by a clause that merely mentions 产假).
"""
from __future__ import annotations

import re

_NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千半]+)"
# What each kind of amount is counted in.
UNITS = {
    "days": r"天|日|个?工作日",
    "weeks": r"周|星期",
    "months": r"个?月",
    "years": r"年",
    "age": r"周岁|岁",  # an age is not a number of years: "工作年限满三十年" says nothing of 多少岁
    "ratio": r"%|％|成|倍|个百分点",
    "money": r"元|块|万元",
    "count": r"次|级|档|个等次|等次|名|人|项",
}
DURATION = ("days", "weeks", "months", "years")
# Kinds named one after another: "优秀、称职、基本称职和不称职", or as 项 ("（一）警告；（二）严重警告；")
_LIST = re.compile(r"[^、，。；]{1,12}、[^、，。；]{1,12}[、和或]|[（(][一二三四五六七八九十\d]+[)）][^（(]{1,30}[（(][一二三四五六七八九十\d]+[)）]")
# "前几年", "这几天" point at a time, and so does "过几年" ("过几年还能……吗", after some
# years) unless it is needed ("要过几年才能……"); they ask for nothing.
_NOT_ASKING = r"(?<![前这近好那头最])(?<!(?<![要得需])过)"
_ASKS = (
    (re.compile(rf"{_NOT_ASKING}几(?:天|日|个?工作日)|多少(?:天|日|个?工作日)"), ("days",)),
    (re.compile(rf"{_NOT_ASKING}几(?:周|个星期)|多少周"), ("weeks",)),
    (re.compile(rf"{_NOT_ASKING}几个?月(?!份)|多少个?月"), ("months",)),
    (re.compile(rf"{_NOT_ASKING}几年|多少年"), ("years",)),
    (re.compile(r"几岁|多少岁|多大(?:年[纪龄]|岁数)|年龄(?:上限|限制|是多少)"), ("age",)),
    (re.compile(r"多久|多长|期限|期间是|几时|多少时间"), DURATION),
    (re.compile(rf"比例|百分之几|{_NOT_ASKING}几成|占多少|几个点|几倍|多少倍|打几折"), ("ratio",)),
    (re.compile(r"多少钱|多少元|几块钱|多少工资|标准是多少|给多少|发多少|拿多少|交多少|报多少"), ("money",)),
    # "比……高多少", "能涨多少": a difference, as a share or a sum
    (re.compile(r"(?:高|低|涨|增加|提高|降低|差)(?:了|出)?多少"), ("ratio", "money")),
    (re.compile(rf"{_NOT_ASKING}几(?:次|级|档|个等次|名|个人)|多少(?:次|级|档|名|人)"), ("count",)),
)
# "一个月多少", "最少要多少": a bare 多少 that none of the above read is answered by an
# amount in whatever unit. Only as a fallback: read beside a unit asked for, it would let a
# list of names ("津贴、补贴……等") or a number of years pass for a sum of money.
_ASKS_ANY = re.compile(r"多少(?=[？?！!。，,、\s吗呢啊呀啦哈]|$)")


# An amount stated by reference to another ("享受与正常工作期间相同的工资收入", "工资照发"):
# it answers how much is paid, or what share, as a figure would. Not "足额发放": that pays
# what is owed, whatever it is, and says nothing of how much.
_RELATIVE_AMOUNT = re.compile(r"与[^，。；]{1,20}(?<![不未])(?:相同|同等|一致)|同等(?:享受|待遇)|照发|全额|不[扣减降]发?")


def asked_units(question: str) -> tuple[str, ...]:
    """The kinds of amount a question asks for (empty when it asks for none)."""
    found: list[str] = []
    for pattern, units in _ASKS:
        if pattern.search(question):
            found.extend(u for u in units if u not in found)
    if not found and _ASKS_ANY.search(question):
        return tuple(UNITS)
    return tuple(found)


def asks_amount(question: str) -> bool:
    return bool(asked_units(question))


def states_amount(text: str, units: tuple[str, ...] = ()) -> bool:
    """Whether text states an amount — in one of `units` when given."""
    kinds = units or tuple(UNITS)
    pattern = "|".join(UNITS[k] for k in kinds)
    if re.search(rf"{_NUMBER}\s*(?:{pattern})", text):
        return True
    # "分为优秀、称职、基本称职和不称职" answers how many grades there are by naming them — but
    # not a bare 多少 ("年终奖发多少"), which a list of names ("工资、津贴、补贴和奖金") does not answer
    if units == ("count",) and _LIST.search(text):
        return True
    if {"money", "ratio"} & set(kinds) and _RELATIVE_AMOUNT.search(text):
        return True
    return "ratio" in kinds and bool(re.search(r"百分之[零一二两三四五六七八九十百]+|\d+\s*%", text))
