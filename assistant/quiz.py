"""The quiz of a study pack: fill-in-the-blank, single choice and true/false items, each made
from one sentence of a clause and citing it, the answer a verbatim span of that sentence.

What a trainer would set, not what a generator can: an item asks about a rule — an amount,
a grade, a sanction, a body, a modality — never about a sentence in which a report describes
a bad practice (“一般干部‘轮流坐庄’”); the options of a choice are all of the answer's own kind
(data/quiz_categories.toml; amounts by unit); a false statement swaps one fact for another
of its kind. Deterministic: the same clauses give the same quiz.
"""
from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .clause import Clause
from .numerals import cn_to_int, int_to_cn
from .sentences import sentence_spans

BLANK = "（　　）"
# The order in which quiz kinds are taken: about 4 blanks : 3 choices : 3 true/false.
KIND_CYCLE = ("blank", "choice", "truefalse", "blank", "truefalse", "choice", "blank", "choice", "truefalse", "blank")
LETTERS = "ABCD"
# Numbers first, then words of a known kind, then quoted terms, then other domain terms.
_RANK = {"number": 0, "term": 1, "quoted": 2, "domain": 3}

NUMBER = re.compile(
    r"(?:\d+(?:\.\d+)?\s*(?:%|个月|年|天|日|周|倍|学时|人|名)"
    r"|[一二两三四五六七八九十百千]+(?:个月|年|日|天|周|倍|个等次|学时)"
    r"|百分之[一二三四五六七八九十百]+)")
QUOTED = re.compile(r"“([^”]{2,14})”")
# A false statement changes one legal fact: an amount, a modality, or a word of the same kind.
_MODAL_FLIPS = (("不得", "可以"), ("应当", "可以"), ("可以", "不得"))
# A report's account of what goes wrong ("在一些地方……往往……流于形式") is not a rule to test.
CRITICISED = re.compile(r"一些地方|有的地方|有些地方|个别地方|有些干部|有的干部|往往|流于形式|容易导致|千篇一律"
                        r"|一个样|不同程度存在|这些现象的出现")
_OPEN, _CLOSE = "“‘", "”’"


def load_categories() -> tuple[dict[str, list[str]], dict[str, str]]:
    """The kinds of words (name -> words) and the sentence patterns some of them need."""
    path = Path(__file__).parent / "data" / "quiz_categories.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return data["category"], data.get("context", {})


def _stable(*parts: str) -> int:
    return int(hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:8], 16)


def unquoted(text: str, s: int, e: int) -> tuple[int, int]:
    """The sentence text[s:e] without quotation marks that belong to a longer quotation: an
    opening mark whose closing one is in a later sentence (or the reverse), and a pair that
    encloses the whole sentence (a speaker's words)."""
    def balance(a: int, b: int) -> int:
        return sum(text[a:b].count(c) for c in _OPEN) - sum(text[a:b].count(c) for c in _CLOSE)

    while s < e and text[s] in _OPEN and balance(s, e) > 0:
        s += 1
    while e > s and text[e - 1] in _CLOSE and balance(s, e) < 0:
        e -= 1
    while e - s > 2 and text[s] in _OPEN and text[e - 1] in _CLOSE and balance(s + 1, e - 1) == 0 \
            and _encloses(text, s, e):
        s, e = s + 1, e - 1
    return s, e


def _encloses(text: str, s: int, e: int) -> bool:
    """Whether the mark at s closes only at e - 1 (“甲”和“乙” is two quotations, not one)."""
    depth = 0
    for i in range(s, e):
        depth += (text[i] in _OPEN) - (text[i] in _CLOSE)
        if depth == 0 and i < e - 1:
            return False
    return True


@dataclass(frozen=True)
class QuizItem:
    kind: str  # "blank" | "choice" | "truefalse"
    stem: str
    options: list[str]
    answer: str  # the blanked words / "B" / "正确" or "错误"
    answer_text: str  # the words the answer stands for, verbatim from the clause
    blank_kind: str  # what was taken out or altered: "number" | "term" | "quoted" | "domain"
    label: str
    quote: str  # the sentence of the clause the item is made from, verbatim
    clause_id: str
    category: str = ""  # the kind of word asked about: a unit of amount, or a category's name


@dataclass(frozen=True)
class _Spot:
    clause: Clause
    start: int  # the sentence, offsets in clause.text
    end: int
    span_start: int  # the words to blank or alter, offsets in clause.text
    span_end: int
    kind: str  # number | term | quoted | domain
    category: str  # unit of a number, name of a word's category, or ""

    @property
    def sentence(self) -> str:
        return self.clause.text[self.start:self.end]

    @property
    def words(self) -> str:
        return self.clause.text[self.span_start:self.span_end]


def _value(number: str) -> int | None:
    match = re.match(r"^(\d+|[一二两三四五六七八九十百千]+)", number)
    if not match or number.startswith("百分之"):
        return None
    text = match.group(1)
    value = int(text) if text.isdigit() else cn_to_int(text.replace("两", "二"))
    return value or None


def unit(number: str) -> str:
    """Amounts that can stand in for each other: same unit, same way of writing;
    a calendar year (2008年) is not a length of service (10年)."""
    style = "digits" if number[0].isdigit() else "chinese"
    name = re.sub(r"^[\d.\s一二两三四五六七八九十百千]+", "", number) or "%"
    if name == "年" and number[:4].isdigit():
        name = "calendar-year"
    return f"{style}:{'百分之' if number.startswith('百分之') else name}"


class QuizMaker:
    """Quiz items from the pack's clauses; amounts for distractors from the whole corpus."""

    def __init__(self, clauses: list[Clause], corpus: list[Clause], terms: list[str]):
        self.clauses = clauses
        self.categories, context = load_categories()
        self.context = {name: re.compile(pattern) for name, pattern in context.items()}
        kinds = {w for words in self.categories.values() for w in words}
        self.words = sorted(kinds, key=lambda w: (-len(w), w))  # longest first: 不称职 before 称职
        self.terms = [t for t in terms if t not in kinds]
        self.numbers: dict[str, list[str]] = {}
        for clause in corpus:
            for m in NUMBER.finditer(clause.text):
                self.numbers.setdefault(unit(m.group()), []).append(m.group())
        self.numbers = {u: sorted(set(v)) for u, v in self.numbers.items()}

    def make(self, n: int) -> list[QuizItem]:
        spots = self._spots()
        items: list[QuizItem] = []
        used_sentences: set[tuple[str, int]] = set()
        used_answers: set[str] = set()
        per_clause: dict[str, int] = {}
        while len(items) < n:
            free = [(i, s) for i, s in enumerate(spots) if (s.clause.id, s.start) not in used_sentences]
            # Each answer once, unless the clauses have no other material left.
            free = [(i, s) for i, s in free if s.words not in used_answers] or free
            if not free:
                break
            kind = KIND_CYCLE[len(items) % len(KIND_CYCLE)]
            # A choice needs an answer with others of its kind; take such a spot when there is one.
            able = [f for f in free if kind != "choice" or len(self._distractors(f[1], 3)) == 3] or free
            # The least-used clause first, then by what is asked about (numbers first).
            _, spot = min(able, key=lambda f: (per_clause.get(f[1].clause.id, 0), _RANK[f[1].kind], f[0]))
            item = {"blank": self._blank, "choice": self._choice, "truefalse": self._truefalse}[kind](spot)
            item = item or self._blank(spot)
            used_sentences.add((spot.clause.id, spot.start))
            used_answers.add(spot.words)
            per_clause[spot.clause.id] = per_clause.get(spot.clause.id, 0) + 1
            items.append(item)
        return items

    # ---- where questions can be made ------------------------------------------------
    def _spots(self) -> list[_Spot]:
        """Every amount and every word worth asking about in every sentence that states a rule,
        in clause order. A lead-in ("……有下列情形之一的：") says nothing on its own and is
        skipped, and so is a report's account of bad practice."""
        spots = []
        for clause in self.clauses:
            for s, e in sentence_spans(clause.text, clause.body_start):
                s, e = unquoted(clause.text, s, e)
                sentence = clause.text[s:e]
                if not sentence or sentence.rstrip().endswith(("：", ":")) or CRITICISED.search(sentence):
                    continue
                found = [(m.start(), m.end(), "number", unit(m.group())) for m in NUMBER.finditer(sentence)]
                found += [(a, b, "term", category) for a, b in self._find(sentence, self.words)
                          if (category := self._category(sentence[a:b], sentence, clause))]
                found += [(m.start(1), m.end(1), "quoted", "") for m in QUOTED.finditer(sentence)]
                found += [(a, b, "domain", "") for a, b in self._find(sentence, self.terms)]
                taken: list[tuple[int, int]] = []
                for a, b, kind, category in sorted(found, key=lambda f: (_RANK[f[2]], f[0])):
                    if any(a < y and x < b for x, y in taken):
                        continue  # one reading of each stretch of text: 二十四个月 is an amount, not a word
                    taken.append((a, b))
                    if sentence.count(sentence[a:b]) > 1:
                        continue  # the rest of the sentence would give the answer away
                    spots.append(_Spot(clause, s, e, s + a, s + b, kind, category))
        return spots

    @staticmethod
    def _find(sentence: str, words: list[str]) -> list[tuple[int, int]]:
        """First place of each word (longest first), not inside a longer word already found."""
        found: list[tuple[int, int]] = []
        for word in words:
            i = sentence.find(word)
            while i >= 0 and any(a <= i < b or a < i + len(word) <= b for a, b in found):
                i = sentence.find(word, i + 1)
            if i >= 0:
                found.append((i, i + len(word)))
        return found

    def _category(self, word: str, sentence: str, clause: Clause) -> str:
        """The word's kind here ("" for none); of several, the one most of whose words the
        clause uses."""
        names = [name for name, words in self.categories.items()
                 if word in words and (name not in self.context or self.context[name].search(sentence))]
        return max(names, key=lambda name: (sum(w in clause.text for w in self.categories[name]), -names.index(name)),
                   default="")

    # ---- the three kinds ------------------------------------------------------------
    def _stem(self, spot: _Spot, replacement: str) -> str:
        sentence = spot.sentence
        a, b = spot.span_start - spot.start, spot.span_end - spot.start
        text = sentence[:a] + replacement + sentence[b:]
        lead = spot.clause.lead_in_for(spot.start, spot.end)
        return f"{lead}……{text}" if lead else text

    def _item(self, spot: _Spot, kind: str, stem: str, options: list[str], answer: str) -> QuizItem:
        label = spot.clause.label_for(spot.start, spot.end)
        return QuizItem(kind, stem, options, answer, spot.words, spot.kind, label, spot.sentence, spot.clause.id,
                        spot.category)

    def _blank(self, spot: _Spot) -> QuizItem:
        return self._item(spot, "blank", self._stem(spot, BLANK), [], spot.words)

    def _choice(self, spot: _Spot) -> QuizItem | None:
        wrong = self._distractors(spot, 3)
        if len(wrong) < 3:
            return None
        options = sorted([spot.words, *wrong], key=lambda o: _stable(spot.clause.id, o))
        letter = LETTERS[options.index(spot.words)]
        return self._item(spot, "choice", self._stem(spot, BLANK), options, letter)

    def _truefalse(self, spot: _Spot) -> QuizItem | None:
        if _stable(spot.clause.id, str(spot.start)) % 2 == 0:
            return self._item(spot, "truefalse", self._stem(spot, spot.words), ["正确", "错误"], "正确")
        altered = self._alteration(spot)
        if altered is None:
            return None
        changed, replacement = altered
        stem = self._stem(changed, replacement)
        if stem in spot.clause.text:
            return None
        return self._item(changed, "truefalse", stem, ["正确", "错误"], "错误")

    def _alteration(self, spot: _Spot) -> tuple[_Spot, str] | None:
        """How to make the sentence false: the spot changed, and what it says instead."""
        if spot.kind in ("number", "term"):
            wrong = self._distractors(spot, 1)
            if wrong:
                return spot, wrong[0]
        sentence = spot.sentence
        for word, flipped in _MODAL_FLIPS:
            i = sentence.find(word)
            if i >= 0:
                return _Spot(spot.clause, spot.start, spot.end, spot.start + i, spot.start + i + len(word),
                             "term", "modality"), flipped
        return None

    # ---- distractors ----------------------------------------------------------------
    def _distractors(self, spot: _Spot, k: int) -> list[str]:
        """Others of the answer's kind that the stem does not already say: amounts in the
        same unit, words of the same category; none for a word of no known kind."""
        words = spot.words
        if spot.kind == "number":
            pool = [v for v in self.numbers.get(spot.category, []) if v != words] + self._nearby(words)
        elif spot.kind == "term":
            pool = [w for w in self.categories[spot.category] if w != words]
        else:
            return []
        value = _value(words)
        said = spot.clause.lead_in_for(spot.start, spot.end) + spot.sentence  # all the stem shows
        pool = [p for p in dict.fromkeys(pool) if p not in said and (value is None or _value(p) != value)]
        # Amounts near the answer's first (两年: 三年, 五年 before 三十年); otherwise a stable shuffle.
        ranked = sorted(pool, key=lambda p: (abs(math.log(_value(p) / value)) if value and _value(p) else 0,
                                             _stable(spot.clause.id, words, p)))
        return ranked[:k]

    @staticmethod
    def _nearby(number: str) -> list[str]:
        """Other amounts in the same unit and writing: 两年 -> 一年, 三年; 20% -> 10%, 40%, 60%, 30%."""
        value = _value(number)
        if value is None or number.startswith("百分之"):
            return []
        digits = number[0].isdigit()
        rest = re.sub(r"^(\d+|[一二两三四五六七八九十百千]+)", "", number)
        steps = (value - 1, value + 1, value * 2) if value <= 5 else (value // 2, value * 2, value * 3, value * 3 // 2)
        variants = [v for v in steps if 0 < v < 10000 and v != value]
        return [f"{v if digits else int_to_cn(v)}{rest}" for v in variants]
