"""Calibrate the citation check's support threshold on the dev set.

For each answerable dev question, the first clause the extractive answer cites that holds
the expected evidence is the "right" clause. Sentences like a model would write citing it are simulated from the
question and a window of the quote (a restatement keeps the key terms, drops some);
each is scored against the right clause (should pass) and against the other retrieved
clauses that do not hold the evidence (same topic, wrong clause: should fail).

    python bench/citation_check_calibration.py [eval/dev.jsonl]
"""
from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.citation_check import SUPPORT_THRESHOLD, support  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluation import load_items  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def restatements(question: str, quote: str, rng: random.Random) -> list[str]:
    """What a model citing this quote might write: the quote cut down, led by the question."""
    core = question.rstrip("？?").replace("吗", "").replace("什么", "")
    out = []
    for share in (0.4, 0.6, 0.8):
        size = max(8, int(len(quote) * share))
        start = rng.randint(0, max(0, len(quote) - size))
        out.append(f"{core}：{quote[start:start + size]}")
    return out


def main(path: str = "eval/dev.jsonl") -> None:
    rng = random.Random(7)
    assistant = Assistant(Settings.from_env())
    assistant.index.ensure()
    right, wrong = [], []
    for item in load_items(Path(path)):
        if not item.answerable:
            continue
        response = assistant.answer(item.question, item.history)
        first = next((c for c in response.answer().citations if item.found_in(c.text)), None)
        if first is None:
            continue
        others = [h.clause.text for h in response.prepared.retrieval.hits
                  if h.clause.id != first.clause_id and not item.found_in(h.clause.text)]
        for sentence in restatements(item.question, first.quote, rng):
            right.append(support(sentence, first.text))
            wrong.extend(support(sentence, text) for text in others)

    def describe(values):
        q = statistics.quantiles(values, n=20)
        return f"n={len(values)} min={min(values):.2f} p5={q[0]:.2f} median={statistics.median(values):.2f} " \
               f"p95={q[-1]:.2f} max={max(values):.2f}"

    print(f"right clause : {describe(right)}")
    print(f"wrong clause : {describe(wrong)}")
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        kept = sum(v >= threshold for v in right) / len(right)
        passed = sum(v >= threshold for v in wrong) / len(wrong)
        mark = "  <- SUPPORT_THRESHOLD" if threshold == SUPPORT_THRESHOLD else ""
        print(f"threshold {threshold:.2f}: right kept {kept:6.1%}, wrong passed {passed:6.1%}{mark}")


if __name__ == "__main__":
    main(*sys.argv[1:])
