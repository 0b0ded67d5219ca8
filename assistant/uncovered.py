"""Subjects of cadres' working lives that no document in the corpus governs (公积金, 产假天数,
差旅标准 …, and the policies of provinces other than 浙江), from `data/uncovered_topics.toml` —
compiled from the domain, not from any evaluation question. A question whose subject is one
of them (query.topics_named), answered by a clause that does not speak of it, is most likely
not covered: the gate weighs that, as it weighs a document the catalog lists as absent."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "uncovered_topics.toml"


class UncoveredTopics:
    def __init__(self, words: dict[str, str], as_written: frozenset[str] = frozenset()):
        self.topic_of = words  # word -> topic name
        # Words found only as written: a province's name, whose characters apart (江, 苏) say nothing.
        self.as_written = as_written

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "UncoveredTopics":
        topics = tomllib.loads(path.read_text(encoding="utf-8")).get("topic", [])
        return cls({w: t["name"] for t in topics for w in t.get("words", ())},
                   frozenset(w for t in topics if t.get("as_written") for w in t.get("words", ())))


@lru_cache(maxsize=1)
def default_uncovered() -> UncoveredTopics:
    return UncoveredTopics.load()
