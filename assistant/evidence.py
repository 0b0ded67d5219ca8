"""How much of a question a piece of text speaks to: IDF-weighted share of its terms.

Used by the coverage gate (is the question covered at all?) and by the composer (which
sentences answer it?). Terms are matched as substrings of the normalised text, so a
compound the tokenizer split differently in the clause still counts.
"""
from __future__ import annotations

import re

from .lexical import alternatives, normalize

_SINGLE_CJK = re.compile(r"^[\u4e00-\u9fff]$")
SINGLE_CHAR_FACTOR = 0.3  # one character matches too much as a substring to count fully
FOCUS_FACTOR = 2.0  # what a follow-up changed ("那事业单位人员呢？") matters most


class QueryTerms:
    """The question's terms, each with its weight and the statute words that also match it."""

    def __init__(self, tokens: list[str], idf: dict[str, float], focus: frozenset[str] = frozenset()):
        self.weights: dict[str, float] = {}
        self.forms: dict[str, tuple[str, ...]] = {}
        for tok in dict.fromkeys(tokens):
            forms = alternatives(tok)
            # A colloquial word the corpus never uses is as specific as its statute equivalent.
            w = min(idf.get(f, 0.0) for f in forms) if len(forms) > 1 else idf.get(tok, 0.0)
            w *= SINGLE_CHAR_FACTOR if _SINGLE_CJK.match(tok) else 1.0
            w *= FOCUS_FACTOR if tok in focus else 1.0
            self.weights[tok], self.forms[tok] = w, forms
        self.total = sum(self.weights.values())
        self.focus = frozenset(t for t in focus if t in self.weights)

    def mentions_focus(self, text: str) -> bool:
        """True when there is no focus, or the text names at least one focus term."""
        return not self.focus or any(t in self.focus for t in self.matched(text))

    def matched(self, text: str) -> list[str]:
        norm = normalize(text)
        return [t for t, forms in self.forms.items() if any(f in norm for f in forms)]

    def coverage(self, text: str) -> float:
        if not self.total:
            return 0.0
        return sum(self.weights[t] for t in self.matched(text)) / self.total


# Questions that ask for an amount: the answer must state one ("产假有多少天？" is not
# answered by a clause that merely mentions 产假).
_ASKS_AMOUNT = re.compile(r"多少(天|日|年|个月|月|周|钱|元|倍|比例)|几(天|日|年|个月|周|倍)|多久|多长|多高|高多少|比例|百分之几")
_AMOUNT = re.compile(r"\d|[零一二两三四五六七八九十百千半]+(个月|年|日|天|周|倍|成|个|次|级|%)|百分之")


def asks_amount(question: str) -> bool:
    return bool(_ASKS_AMOUNT.search(question))


def states_amount(text: str) -> bool:
    return bool(_AMOUNT.search(text))
