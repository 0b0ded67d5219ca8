"""Subjects of cadres' working lives that no document in the corpus governs (公积金, 产假天数,
差旅标准 …), from `data/uncovered_topics.toml` — compiled from the domain, not from any
evaluation question. A question whose subject is one of them, answered by a clause that
does not speak of it, is most likely not covered: the gate weighs that (gate.py)."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from .lexical import normalize, question_words

DATA_FILE = Path(__file__).parent / "data" / "uncovered_topics.toml"


class UncoveredTopics:
    def __init__(self, words: dict[str, str]):
        self.topic_of = words  # word -> topic name
        self._by_length = sorted(words, key=lambda w: (-len(w), w))
        self._parts: dict[str, frozenset[str]] | None = None  # a word's content words, built on first use

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "UncoveredTopics":
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls({w: t["name"] for t in data.get("topic", []) for w in t.get("words", ())})

    def named_in(self, text: str) -> list[str]:
        """The topic words the text uses: as written (longest first, no overlaps), or with all
        their two or more content words present ("病假期间工资" names 病假工资)."""
        if self._parts is None:
            self._parts = {w: _parts(w) for w in self.topic_of}
        words = set(question_words(text))
        found = [w for w, parts in self._parts.items() if len(parts) >= 2 and parts <= words]
        norm = normalize(text)
        taken = [False] * len(norm)
        for word in self._by_length:
            start = norm.find(word)
            while start >= 0:
                end = start + len(word)
                if not any(taken[start:end]) and word not in found:
                    found.append(word)
                    taken[start:end] = [True] * len(word)
                start = norm.find(word, start + 1)
        return found


def _parts(word: str) -> frozenset[str]:
    """The words a topic word is made of, the longest only (病假工资 -> 病假, 工资)."""
    parts = set(question_words(word)) - {word}
    return frozenset(p for p in parts if not any(p != q and p in q for q in parts))


@lru_cache(maxsize=1)
def default_uncovered() -> UncoveredTopics:
    return UncoveredTopics.load()
