"""Phone-typed variants of an evaluation set: one homophone typo in each answerable question.

Typed with pinyin, a word can come out in another character of the same sound. For each
answerable question, one word of two or more characters gets one character swapped for
another character the corpus uses that sounds the same (toneless first reading): the typos
a cadre makes, in words the corpus knows. Seeded, so the same set comes out each time;
questions with no such word are left out. The evidence is unchanged: the variant must be
answered from the same clause.

With `--where earlier`, the typo goes into an earlier turn of each conversation instead
(single questions are left out): the follow-up must still inherit the topic that turn set.

    python eval/typos.py eval/cadre.jsonl --split test --seed 7 > /tmp/typos.jsonl
    policy-qa eval /tmp/typos.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import jieba

from assistant.spelling import sound

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
_HAN = re.compile(r"[\u4e00-\u9fff]")


def homophones() -> dict[str, list[str]]:
    """The corpus's characters by sound."""
    chars = {c for path in sorted(CORPUS.glob("*.*")) if path.suffix in (".md", ".txt")
             for c in _HAN.findall(path.read_text(encoding="utf-8"))}
    by_sound: dict[str, list[str]] = defaultdict(list)
    for c in sorted(chars):
        if sound(c):
            by_sound[sound(c)].append(c)
    return by_sound


def with_typo(question: str, by_sound: dict[str, list[str]], rng: random.Random) -> str | None:
    words = [w for w in jieba.lcut(question) if len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w)]
    rng.shuffle(words)
    for word in words:
        i = rng.randrange(len(word))
        others = [c for c in by_sound.get(sound(word[i]), ()) if c != word[i]]
        if others:
            return question.replace(word, word[:i] + rng.choice(others) + word[i + 1:], 1)
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--split", choices=["calibration", "test"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--where", choices=["last", "earlier"], default="last",
                        help="the question asked (default) or an earlier turn of a conversation")
    args = parser.parse_args(argv)
    rng, by_sound = random.Random(args.seed), homophones()
    for line in Path(args.file).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if (args.split and item.get("split") != args.split) or not item.get("answerable", True):
            continue
        turns = item["turns"]
        where = len(turns) - 1 if args.where == "last" else rng.randrange(len(turns) - 1) if len(turns) > 1 else None
        typed = None if where is None else with_typo(turns[where], by_sound, rng)
        if typed is None:
            continue
        turns[where] = typed
        item["id"] += "-typo"
        print(json.dumps(item, ensure_ascii=False))


if __name__ == "__main__":
    jieba.setLogLevel(60)
    main(sys.argv[1:])
