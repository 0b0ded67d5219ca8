"""Homophone typos, read as the corpus word the cadre meant.

Typed with pinyin on a phone, a word can come out in other characters of the same sound
(a 考合 for 考核), or of a near sound where the cadre's accent or a fuzzy-pinyin keyboard
does not tell zh/ch/sh from z/c/s, n from l, or -ng from -n (a 资称 for 职称, a 从亲 for
从轻). Those characters then match no clause, the question's words look unknown to the
corpus, and the gate leans towards declining a question the corpus answers. So a stretch
of the question that jieba cannot make into a known word is read as a word of the corpus
(its index vocabulary, associated questions included, and the function words the index
leaves out) when

- both are as long and sound alike: each character's first reading, without tones, the
  same or the same but for those confusions;
- they differ in one character only, and not in a function word (了, 是, 几 are typed on purpose);
- jieba's word frequencies find the whole question likelier, by more than 1 / TYPO_ODDS
  (1 / NEAR_TYPO_ODDS for a near sound), read with the corpus word than as typed: a typo is
  rare, so the reading must make the question far more probable to be believed.

The answer says what it read for what (see `Reading.note`), and the standalone question
shows the reading; the question as typed is kept as the cadre's.
"""
from __future__ import annotations

import importlib.util
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .lexical import STOPWORDS, in_dictionary, log_probability, segments

# How rare a typo is taken to be, against the question as typed. On the calibration sets'
# own questions (typed with care, 639 of them) and one typo made in each of their 348
# answerable cadre questions (eval/typos.py, seed 7): at 1/100 six of the former were read
# otherwise, three of them wrongly, and 242 typos read right; at 1/1000 two, one
# wrongly, and 199 typos. A wrong reading misleads, so the rarer.
TYPO_ODDS = 0.001
# A near sound is taken to be ten times rarer than the same sound. On the same calibration
# questions and one near-sound typo made in each of 334 (eval/typos.py --near, seed 7): at
# 1/1000 one more careful question was read otherwise, wrongly (a word split across two), and
# 192 typos read right; at 1/10000 none, and 136.
NEAR_TYPO_ODDS = TYPO_ODDS / 10
# What a southern accent or a fuzzy-pinyin keyboard does not tell apart: each initial with the
# one it is merged into, and -ng with -n.
_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINAL_NG = re.compile(r"(?<=[aei]n)g$")  # -ang/-eng/-ing as -an/-en/-in
_FUNCTION_CHARS = frozenset(w for w in STOPWORDS if len(w) == 1)
_CJK_RUN = re.compile(r"^[\u4e00-\u9fff]+$")
_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


@dataclass(frozen=True)
class Reading:
    text: str  # the question as read
    fixes: tuple[tuple[str, str], ...] = ()  # (as typed, as read)

    @property
    def note(self) -> str:
        """What the answer tells the cadre, or "" when the question was read as typed."""
        if not self.fixes:
            return ""
        read = "、".join(f"“{typed}”按“{meant}”理解" for typed, meant in self.fixes)
        return f"{read}（疑为同音或音近字输入错误）；如非此意，请改用准确说法再问。"


@lru_cache(maxsize=1)
def _first_readings() -> dict[str, str]:
    """Each character's first (most common) reading without its tone, from pypinyin's table.
    The table is read as a file: importing pypinyin loads its phrase dictionary too (55 MB)."""
    spec = importlib.util.find_spec("pypinyin")
    table = json.loads((Path(spec.submodule_search_locations[0]) / "pinyin_dict.json").read_text(encoding="utf-8"))
    return {chr(int(code)): "".join(c for c in unicodedata.normalize("NFD", readings.split(",")[0])
                                    if not unicodedata.combining(c))
            for code, readings in table.items() if 0x4E00 <= int(code) <= 0x9FFF}


def sound(char: str) -> str:
    """The character's toneless first reading ("" for none): what a pinyin keyboard typed."""
    return _first_readings().get(char, "")


def near_sound(reading: str) -> str:
    """The reading with the confusions above undone: the key of every reading it may be typed for."""
    for heard, typed in _INITIALS:
        if reading.startswith(heard) and reading != "ng":
            reading = typed + reading[len(heard):]
            break
    return _FINAL_NG.sub("", reading)


def _near_sounds(word: str) -> tuple[str, ...] | None:
    sounds = tuple(near_sound(sound(c)) for c in word)
    return sounds if all(sounds) else None


class Spelling:
    """The corpus words by sound, and the reading of a question against them."""

    def __init__(self, words: Iterable[str], rarity):
        """`rarity(word)`: its IDF — of two words that sound alike, the commoner is meant."""
        self._words = set(words)
        self._rarity = rarity
        self._by_sound: dict[tuple[str, ...], list[str]] = {}
        for word in self._words:
            if _WORD.match(word) and (sounds := _near_sounds(word)):
                self._by_sound.setdefault(sounds, []).append(word)

    def read(self, question: str) -> Reading:
        """The question with each typo read as the corpus word meant, longest words first."""
        chars, fixes = list(question), []
        for start, end in self._unknown_runs(question):
            i = start
            while i < end - 1:
                meant = next(filter(None, (self._meant(chars, i, i + n) for n in (4, 3, 2) if i + n <= end)), "")
                if meant:
                    fixes.append(("".join(chars[i:i + len(meant)]), meant))
                    chars[i:i + len(meant)] = meant
                i += len(meant) or 1
        return Reading("".join(chars), tuple(fixes))

    def _unknown_runs(self, question: str) -> list[tuple[int, int]]:
        """Stretches of two or more characters jieba could only cut into single characters or
        into words neither it nor the corpus knows: where a typo has broken a word."""
        runs: list[list[int]] = []
        for token, start, end in segments(question):
            broken = bool(_CJK_RUN.match(token)) and (len(token) == 1 or (
                token not in self._words and not in_dictionary(token)))
            if not broken:
                continue
            if runs and runs[-1][1] == start:
                runs[-1][1] = end
            else:
                runs.append([start, end])
        return [(s, e) for s, e in runs if e - s >= 2]

    def _meant(self, chars: list[str], start: int, end: int) -> str:
        """The corpus word meant by chars[start:end], or ""."""
        typed = "".join(chars[start:end])
        if typed in self._words or in_dictionary(typed) or not (sounds := _near_sounds(typed)):
            return ""
        # The same sound before a near one, then the commoner word first.
        alike = sorted(((_near(typed, w), self._rarity(w), w) for w in self._by_sound.get(sounds, ())
                        if _one_content_char_apart(typed, w)))
        if not alike:
            return ""
        as_typed = log_probability("".join(chars))
        for near, _, word in alike:
            as_read = log_probability("".join(chars[:start]) + word + "".join(chars[end:]))
            if as_read + math.log(NEAR_TYPO_ODDS if near else TYPO_ODDS) > as_typed:
                return word
        return ""


def _near(typed: str, word: str) -> bool:
    """Whether the word sounds only near what was typed, not the same."""
    return any(sound(a) != sound(b) for a, b in zip(typed, word))


def _one_content_char_apart(typed: str, word: str) -> bool:
    differ = [(a, b) for a, b in zip(typed, word) if a != b]
    return len(differ) == 1 and differ[0][0] not in _FUNCTION_CHARS
