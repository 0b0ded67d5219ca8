"""Amounts: a question asking how many / how long is answered only by a quote that states one
("产假有多少天？" is not answered by a clause that merely mentions 产假)."""
from __future__ import annotations

import re

_UNITS = r"天|日|年|个?月|周|倍|折|成|个点|点|级|档|岁|万|千|百|元|块|钱|分|小时|个?工作日|次|个百分点"
# "前几年", "这几天" point at a time; they ask for nothing.
_ASKS_AMOUNT = re.compile(rf"多少(?:{_UNITS}|比例|钱|$)|(?<![前这近好那头最])几(?:{_UNITS})|多久|多长|多高|多大|高多少|比例|百分之几|"
                          r"占几|上限|下限|封顶")
_AMOUNT = re.compile(r"\d|[零一二两三四五六七八九十百千半]+(个月|年|日|天|周|倍|成|个|次|级|%)|百分之")


def asks_amount(question: str) -> bool:
    return bool(_ASKS_AMOUNT.search(question))


def states_amount(text: str) -> bool:
    return bool(_AMOUNT.search(text))
