"""Latency at one client, extractive mode, shipped corpus; start-up time; peak memory.

    python bench/latency.py [--rounds 3]

Prints medians and p95 for: a question end to end over HTTP (first time each question is
asked, and again from the answer cache), retrieval alone, query embedding alone (in
process, uncached); the app's start-up to ready with a fresh index and with an existing
one; the serving process's peak RSS.
"""
from __future__ import annotations

import argparse
import time

import httpx

from common import App, machine, peak_rss_mb, questions, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    qs = questions()
    print(f"machine: {machine()}")

    cold = App()
    print(f"start-up to ready, building the index:   {cold.wait_ready():6.1f} s")
    cold.stop()
    warm = App(index_dir=cold.tmp / "index")
    print(f"start-up to ready, index already built:  {warm.wait_ready():6.1f} s")

    first, repeat = [], []
    with httpx.Client(base_url=warm.url, timeout=30) as client:
        for round_no in range(args.rounds):
            for q in qs:
                # Each round a different text (trailing question marks): nothing is cached.
                q = q.rstrip("？?") + "？" * (round_no + 1)
                started = time.perf_counter()
                assert client.post("/api/ask", json={"question": q}).status_code == 200
                first.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                assert client.post("/api/ask", json={"question": q}).status_code == 200
                repeat.append((time.perf_counter() - started) * 1000)
    print(f"question over HTTP (not cached):         {summary(first)}")
    print(f"question over HTTP (asked again: cache): {summary(repeat)}")
    print(f"peak RSS of the serving process:          {peak_rss_mb(warm.proc.pid):6.0f} MB")
    warm.stop()

    import os
    from pathlib import Path

    os.environ["POLICYQA_INDEX_DIR"] = str(Path(cold.tmp) / "index")
    os.environ["POLICYQA_CORPUS_DIR"] = str(Path(cold.tmp) / "corpus")
    from assistant.config import Settings
    from assistant.retrieval import HybridRetriever
    from assistant.service import Assistant

    assistant = Assistant(Settings.from_env())
    retriever = HybridRetriever(assistant.snapshot(), assistant.embeddings.inner)
    embed, retrieve = [], []
    for round_no in range(args.rounds):
        for q in qs:
            q = q.rstrip("？?") + "？" * (round_no + 1)
            started = time.perf_counter()
            assistant.embeddings.inner.embed_query(q)
            embed.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            retriever.search(q, 6)
            retrieve.append((time.perf_counter() - started) * 1000)
    print(f"query embedding alone (uncached):        {summary(embed)}")
    print(f"retrieval alone (embedding included):    {summary(retrieve)}")


if __name__ == "__main__":
    main()
