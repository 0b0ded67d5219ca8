"""The cadre-domain thesaurus: everyday words and the statute's words for the same thing.

`data/thesaurus.toml` groups words by concept — the terms the corpus uses (`statute`) and
what cadres say for them (`everyday`) — built from the corpus's own terms, never from
evaluation questions. A word of a concept found in a question also matches every other
word of the concept in a clause. Every word is added to the tokenizer's dictionary, so
"年假" or "处分期" stays one word instead of falling apart into characters.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "thesaurus.toml"
PERSON_CATEGORY = "roles_offices"  # who is asking or concerned (公务员, 事业单位工作人员, 党员 …)


class ThesaurusError(ValueError):
    pass


@dataclass(frozen=True)
class Concept:
    category: str
    statute: tuple[str, ...]
    everyday: tuple[str, ...]

    @property
    def words(self) -> tuple[str, ...]:
        return self.statute + self.everyday


class Thesaurus:
    def __init__(self, concepts: list[Concept]):
        self.concepts = concepts
        self._concept_of: dict[str, Concept] = {}
        for concept in concepts:
            for word in concept.words:
                self._concept_of.setdefault(word, concept)

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "Thesaurus":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ThesaurusError(f"同义词表 {path} 无法读取 / cannot read the thesaurus: {exc}") from exc
        concepts = []
        for i, raw in enumerate(data.get("concept", []), 1):
            statute = tuple(w.strip() for w in raw.get("statute", []) if w.strip())
            everyday = tuple(w.strip() for w in raw.get("everyday", []) if w.strip())
            if not statute:
                raise ThesaurusError(f"{path}: concept #{i} has no statute term")
            concepts.append(Concept(str(raw.get("category", "")), statute, everyday))
        return cls(concepts)

    @property
    def words(self) -> list[str]:
        return list(self._concept_of)

    def concept(self, word: str) -> Concept | None:
        return self._concept_of.get(word)

    def forms(self, word: str) -> tuple[str, ...]:
        """Every word that means what `word` means (itself first); () when it is no entry."""
        concept = self._concept_of.get(word)
        if concept is None:
            return ()
        return (word, *(w for w in concept.words if w != word))


@lru_cache(maxsize=1)
def default_thesaurus() -> Thesaurus:
    return Thesaurus.load()
