"""Phone-typed variants of an evaluation set: one homophone typo in each answerable question.

Typed with pinyin, a word can come out in another character of the same sound. For each
answerable question, one word of two or more characters gets one character swapped for
another character the corpus uses that sounds the same (toneless first reading): the typos
a cadre makes, in words the corpus knows. With `--near`, the character swapped in sounds
near instead: the same but for zh/z, ch/c, sh/s, n/l or -ng/-n (spelling.near_sound).
Seeded, so the same set comes out each time; questions with no such word are left out.
The evidence is unchanged: the variant must be answered from the same clause.

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

from assistant.spelling import near_sound, sound

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
_HAN = re.compile(r"[\u4e00-\u9fff]")


def homophones(near: bool = False) -> dict[str, list[str]]:
    """The corpus's characters by sound (by near sound with `near`)."""
    chars = {c for path in sorted(CORPUS.glob("*.*")) if path.suffix in (".md", ".txt")
             for c in _HAN.findall(path.read_text(encoding="utf-8"))}
    by_sound: dict[str, list[str]] = defaultdict(list)
    for c in sorted(chars):
        if sound(c):
            by_sound[near_sound(sound(c)) if near else sound(c)].append(c)
    return by_sound


def with_typo(question: str, by_sound: dict[str, list[str]], rng: random.Random, near: bool = False) -> str | None:
    words = [w for w in jieba.lcut(question) if len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w)]
    rng.shuffle(words)
    for word in words:
        i = rng.randrange(len(word))
        if near:  # a near sound, not the same one
            others = [c for c in by_sound.get(near_sound(sound(word[i])), ()) if sound(c) != sound(word[i])]
        else:
            others = [c for c in by_sound.get(sound(word[i]), ()) if c != word[i]]
        if others:
            return question.replace(word, word[:i] + rng.choice(others) + word[i + 1:], 1)
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--split", choices=["calibration", "test"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--near", action="store_true", help="a near sound (zh/z, n/l, -ng/-n), not the same")
    parser.add_argument("--where", choices=["last", "earlier"], default="last",
                        help="the question asked (default) or an earlier turn of a conversation")
    args = parser.parse_args(argv)
    rng, by_sound = random.Random(args.seed), homophones(args.near)
    for line in Path(args.file).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if (args.split and item.get("split") != args.split) or not item.get("answerable", True):
            continue
        turns = item["turns"]
        if args.where == "last":
            where = len(turns) - 1
        elif len(turns) > 1:
            where = rng.randrange(len(turns) - 1)
        else:
            continue
        typed = with_typo(turns[where], by_sound, rng, args.near)
        if typed is None:
            continue
        turns[where] = typed
        item["id"] += "-typo"
        print(json.dumps(item, ensure_ascii=False))


if __name__ == "__main__":
    jieba.setLogLevel(60)
    main(sys.argv[1:])
