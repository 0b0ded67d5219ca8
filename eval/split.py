"""Assign each question of a set to the calibration or the test half, by a fixed seed.

Stratified: within each (document, kind, answerable) group the questions are ordered by
a seeded hash of their id and dealt alternately, so both halves cover every document and
every kind of question. Re-running gives the same split; a question keeps its half when
others are added. Thresholds, thesaurus and associated questions are tuned on the
calibration half only; the README reports the test half.

    python eval/split.py eval/cadre.jsonl            # writes the "split" field in place
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

SEED = "policy-qa-2026"


def order_key(item_id: str) -> str:
    return hashlib.sha256(f"{SEED}:{item_id}".encode()).hexdigest()


def assign(items: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for item in items:
        groups[(item.get("doc", ""), item.get("kind", ""), bool(item.get("answerable", True)))].append(item)
    start = 0  # alternate which half gets a group's odd one out, so the halves stay even
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda i: order_key(i["id"]))
        for n, item in enumerate(members):
            item["split"] = "calibration" if (n + start) % 2 == 0 else "test"
        start += len(members) % 2
    return items


def main(path: str) -> None:
    file = Path(path)
    items = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    assign(items)
    file.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    halves = defaultdict(int)
    for i in items:
        halves[(i["split"], i.get("answerable", True))] += 1
    for (half, answerable), n in sorted(halves.items()):
        print(f"{half:12s} {'answerable' if answerable else 'out of scope':13s} {n}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "eval/cadre.jsonl")
