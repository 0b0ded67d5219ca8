"""Subjects of cadres' working lives that no document in the corpus governs (公积金, 产假天数,
差旅标准 …), from `data/uncovered_topics.toml` — compiled from the domain, not from any
evaluation question. A question whose subject is one of them (query.topics_named), answered
by a clause that does not speak of it, is most likely not covered: the gate weighs that."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "uncovered_topics.toml"


class UncoveredTopics:
    def __init__(self, words: dict[str, str]):
        self.topic_of = words  # word -> topic name

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "UncoveredTopics":
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls({w: t["name"] for t in data.get("topic", []) for w in t.get("words", ())})


@lru_cache(maxsize=1)
def default_uncovered() -> UncoveredTopics:
    return UncoveredTopics.load()
