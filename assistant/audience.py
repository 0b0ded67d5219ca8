"""Who a rule is for: 公务员, 事业单位工作人员, 党员, 国有企业管理人员 …

`data/audiences.toml` names each audience, the words that name it in a question or a
clause, and the audiences it includes (公职人员 includes 公务员 and 事业单位工作人员);
each document's `applies_to` in the catalog refers to them. A clause is for the audiences
its quote names, else for those of its document; a question is about the audiences it
names, else about a cadre's own (the `default` ones). A clause whose audience neither
covers nor falls under the question's answers a different person's question ("国企管理人员
在政务处分期内……" for a civil servant), whatever words the two share.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .lexical import longest_matches

DATA_FILE = Path(__file__).parent / "data" / "audiences.toml"


class AudienceError(ValueError):
    pass


@dataclass(frozen=True)
class Audience:
    id: str
    name: str
    words: tuple[str, ...]
    includes: tuple[str, ...]
    default: bool


class Audiences:
    def __init__(self, audiences: list[Audience]):
        self.by_id = {a.id: a for a in audiences}
        unknown = {i for a in audiences for i in a.includes} - set(self.by_id)
        if unknown:
            raise AudienceError(f"audiences include unknown ids: {sorted(unknown)}")
        self.defaults = frozenset(a.id for a in audiences if a.default)
        self._audience_of = {w: a.id for a in audiences for w in a.words}
        self._words = sorted(self._audience_of, key=lambda w: (-len(w), w))
        self._below = {a.id: self._closure(a.id) for a in audiences}

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "Audiences":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise AudienceError(f"{path} 无法读取 / cannot read: {exc}") from exc
        return cls([Audience(str(a["id"]), str(a.get("name", a["id"])), tuple(a.get("words", ())),
                             tuple(a.get("includes", ())), bool(a.get("default", False)))
                    for a in data.get("audience", [])])

    def _closure(self, audience_id: str) -> frozenset[str]:
        seen, todo = {audience_id}, [audience_id]
        while todo:
            for below in self.by_id[todo.pop()].includes:
                if below not in seen:
                    seen.add(below)
                    todo.append(below)
        return frozenset(seen)

    def named_in(self, text: str) -> frozenset[str]:
        """Audiences the text names (the longest word wins where two overlap: 村干部 is not 干部)."""
        return frozenset(self._audience_of[word] for word in longest_matches(text, self._words))

    def related(self, a: str, b: str) -> bool:
        """One includes the other (or they are the same)."""
        return b in self._below.get(a, ()) or a in self._below.get(b, ())

    def mismatch(self, asked: frozenset[str], meant: frozenset[str]) -> bool:
        """The clause is for someone else: its audiences and the question's have nothing to do
        with each other — or the question names whom it is about and the clause is only for
        some of them (a rule for 事业单位领导人员 does not answer for 事业单位工作人员)."""
        if not meant:
            return False
        if not asked:
            return not any(self.related(q, c) for q in self.defaults for c in meant)
        return not any(q in self._below.get(c, ()) for q in asked for c in meant)

    def check(self, ids) -> None:
        unknown = [i for i in ids if i not in self.by_id]
        if unknown:
            raise AudienceError(f"unknown audience {unknown[0]!r} (one of {sorted(self.by_id)})")


@lru_cache(maxsize=1)
def default_audiences() -> Audiences:
    return Audiences.load()
