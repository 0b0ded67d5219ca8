"""An eval set with the last turn of every conversation wrapped in what a cadre adds in a
chat — a greeting, a request to ask, thanks, an emoji — to check that the answers do not
depend on it (README, Quality: Courtesies). The same words around every question.

    python eval/wrap.py eval/cadre.jsonl --split calibration --style polite > /tmp/polite.jsonl
    policy-qa eval /tmp/polite.jsonl
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STYLES = {
    "polite": ("领导好，想请教一下，", " 谢谢！！😭"),
    "hello": ("你好 ", ""),
    "thanks": ("", " 谢谢！！"),
    "emoji": ("", "😭"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--split", help="only the questions of this half")
    parser.add_argument("--style", choices=sorted(STYLES), default="polite")
    args = parser.parse_args()
    before, after = STYLES[args.style]
    for line in args.file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if args.split and item.get("split") != args.split:
            continue
        item["turns"] = [*item["turns"][:-1], before + item["turns"][-1] + after]
        sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
