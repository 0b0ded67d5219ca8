"""Query understanding: from a cadre's own words to the words a clause that answers them uses.

A question becomes weighted terms. Each term is matched in a clause by any of its forms:
the word itself, the other words of its thesaurus concept (年假 -> 年休假, 一把手 ->
主要负责人) and the corpus words it abbreviates (a word the corpus never uses whose
characters appear, in order, in a corpus word starting with the same character:
处分期 -> 处分期间). A term's weight is its rarity in the corpus (IDF); a colloquial word
is as specific as the statute word it stands for; a word neither the corpus nor the
thesaurus knows keeps a high weight, since a question about something the corpus never
names is what the gate must notice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .bm25 import BM25Index
from .lexical import longest_matches, normalize, question_word_parts, question_words
from .thesaurus import Thesaurus
from .uncovered import default_uncovered

_SINGLE_CJK = re.compile(r"^[\u4e00-\u9fff]$")
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
SINGLE_CHAR_FACTOR = 0.3  # one character matches too much as a substring to count fully
FOCUS_FACTOR = 2.0  # what a follow-up itself asked ("如果是乡镇的呢") matters most
EXPANSION_WEIGHT = 0.7  # in BM25, a form the cadre did not type counts less than one they did
MAX_ABBREVIATION_FORMS = 3


@dataclass(frozen=True)
class Term:
    text: str  # as the question has it
    forms: tuple[str, ...]  # what counts as this term in a clause (text first)
    weight: float
    known: bool  # the corpus uses the word, one of its forms, or one of its parts
    parts: tuple["Term", ...] = ()  # the smaller words inside a compound ("记过处分" -> 记过, 处分)

    def credit(self, norm: str) -> float:
        """1 when a form occurs in the (normalised) text; else the weighted share of its parts
        that do — a compound the clause words differently still counts in part. (Plain loops:
        this runs for every term against every sentence of every candidate.)"""
        for form in self.forms:
            if form in norm:
                return 1.0
        total = found = 0.0
        for part in self.parts:
            total += part.weight
            for form in part.forms:
                if form in norm:
                    found += part.weight
                    break
        return found / total if total else 0.0


class QueryTerms:
    """The question's terms; how much of them a text holds, weighted."""

    def __init__(self, terms: list[Term], focus: frozenset[str] = frozenset()):
        self.terms = {t.text: t for t in terms}
        self.weights = {t.text: t.weight * (FOCUS_FACTOR if t.text in focus else 1.0) for t in terms}
        self.total = sum(self.weights.values())
        self.focus = frozenset(t for t in focus if t in self.terms)

    def credits(self, text: str) -> dict[str, float]:
        norm = normalize(text)
        return {t.text: t.credit(norm) for t in self.terms.values()}

    def matched(self, text: str) -> list[str]:
        """Terms the text holds (at least half of a compound's parts count)."""
        return [t for t, credit in self.credits(text).items() if credit >= 0.5]

    def coverage(self, text: str) -> float:
        if not self.total:
            return 0.0
        return sum(self.weights[t] * credit for t, credit in self.credits(text).items()) / self.total

    def mentions_focus(self, text: str) -> bool:
        """True when there is no focus, or the text names at least one focus term."""
        return not self.focus or any(t in self.focus for t in self.matched(text))

    def head_coverage(self, text: str, heads: int = 2) -> float:
        """Share of the question's most specific known terms (its subject, as the corpus names
        it) that a text holds: a clause about something else shares only the generic words."""
        known = sorted((t for t in self.terms.values() if t.known), key=lambda t: -self.weights[t.text])[:heads]
        total = sum(self.weights[t.text] for t in known)
        if not total:
            return 0.0
        matched = set(self.matched(text))
        return sum(self.weights[t.text] for t in known if t.text in matched) / total

    @property
    def unknown_share(self) -> float:
        """Share of the question's weight in words the corpus never uses, in any form."""
        if not self.total:
            return 0.0
        return sum(self.weights[t.text] for t in self.terms.values() if not t.known) / self.total


class Vocabulary:
    """The words of the indexed clauses with their IDF, looked up by first character."""

    def __init__(self, bm25: BM25Index):
        self.bm25 = bm25
        self._by_first: dict[str, list[str]] = {}
        for word in bm25.vocab:
            if 2 <= len(word) <= 8:
                self._by_first.setdefault(word[0], []).append(word)

    def __contains__(self, word: str) -> bool:
        return word in self.bm25.vocab

    def idf(self, word: str) -> float:
        return self.bm25.term_weight(word)

    @property
    def max_idf(self) -> float:
        return self.bm25.max_idf

    def abbreviated(self, word: str) -> tuple[str, ...]:
        """Corpus words that `word` abbreviates: same first character, the rest of its
        characters in order, a little longer (年假 -> 年休假; 处分期 -> 处分期间)."""
        if word in self or not _CJK_WORD.match(word):
            return ()
        found = [w for w in self._by_first.get(word[0], ()) if len(word) < len(w) <= len(word) + 3
                 and _subsequence(word, w)]
        found.sort(key=lambda w: (len(w), -self.idf(w), w))
        return tuple(found[:MAX_ABBREVIATION_FORMS])


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


@lru_cache(maxsize=1)
def _topic_words() -> tuple[list[str], dict[str, frozenset[str]]]:
    """The uncovered topics' words, longest first, and the content words each is made of
    (the longest only: 病假工资 -> 病假, 工资)."""
    topics = default_uncovered()
    words = sorted(topics.topic_of, key=lambda w: (-len(w), w))
    parts = {}
    for word in words:
        inside = set() if word in topics.as_written else set(question_words(word)) - {word}
        parts[word] = frozenset(p for p in inside if not any(p != q and p in q for q in inside))
    return words, parts


def topics_named(text: str) -> list[str]:
    """The words of subjects no document governs (uncovered.py) that a question uses: as
    written, or with two or more of their content words present ("病假期间工资" names 病假工资)."""
    words, parts = _topic_words()
    present = set(question_words(text))
    found = [w for w in words if len(parts[w]) >= 2 and parts[w] <= present]
    return found + [w for w in longest_matches(text, words) if w not in found]


@dataclass(frozen=True)
class Analysis:
    tokens: list[str]  # the question's own words
    terms: QueryTerms
    lexical: dict[str, float]  # BM25 query: every form, weighted


def analyze(text: str, vocabulary: Vocabulary, thesaurus: Thesaurus, focus: str = "") -> Analysis:
    words = question_word_parts(text)
    focus_tokens = frozenset(question_words(focus)) if focus else frozenset()

    def term(word: str, parts: tuple[str, ...] = ()) -> Term:
        forms = thesaurus.forms(word) or (word,)
        forms = tuple(dict.fromkeys(forms + tuple(a for f in forms for a in vocabulary.abbreviated(f))))
        known_forms = [f for f in forms if f in vocabulary]
        inner = tuple(term(p) for p in parts)
        if word in vocabulary:
            weight = vocabulary.idf(word)
        elif known_forms:  # a colloquial word is as specific as the statute word it stands for
            weight = min(vocabulary.idf(f) for f in known_forms)
        elif any(p.known for p in inner):  # an unknown compound is as specific as its parts
            weight = max(p.weight for p in inner if p.known)
        else:
            weight = vocabulary.max_idf
        if _SINGLE_CJK.match(word):
            weight *= SINGLE_CHAR_FACTOR
        return Term(word, forms, weight, bool(known_forms) or any(p.known for p in inner), inner)

    terms = [term(word, parts) for word, parts in words]
    lexical: dict[str, float] = {}

    def add(t: Term, boost: float, scale: float) -> None:
        for i, form in enumerate(t.forms):
            weight = boost * scale * (1.0 if i == 0 else EXPANSION_WEIGHT)
            lexical[form] = max(lexical.get(form, 0.0), weight)

    for t in terms:
        boost = FOCUS_FACTOR if t.text in focus_tokens else 1.0
        add(t, boost, 1.0)
        for part in t.parts:
            add(part, boost, EXPANSION_WEIGHT)
    tokens = [w for t in terms for w in (t.text, *(p.text for p in t.parts))]
    return Analysis(list(dict.fromkeys(tokens)), QueryTerms(terms, focus_tokens), lexical)
