"""Latency at one client, extractive mode; start-up time; peak memory.

    python bench/latency.py [--rounds 3] [--starts 3] [--questions N] [--corpus DIR] [--index-from DIR] [--json FILE]

Without --index-from the app's first start builds the index (timed once; it takes the
vectors shipped in the corpus folder, as a fresh install does). Then the app is
started over a copy of that index, and restarted --starts times (time to /healthz ready);
the last one serves.

Each round takes every question of the evaluation sets, in a spelling not asked before,
ten at a time: over HTTP (nothing cached), over HTTP again (the answer cache), then in
this process the query embedding alone, retrieval alone (embedding included) and the whole
answer pipeline without HTTP (Assistant.ask) — each uncached (the question's tagging
too). A round yields a p50 and p95 of each way; reported is the median over the rounds
(min–max). The ratio HTTP p50 ÷ embedding p50 is taken in each round, the two measured
on the same questions seconds apart: it carries over between machines where absolute
times do not.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from common import App, Report, Spread, bench_arguments, peak_rss_mb, percentile, questions, variant

BLOCK = 10  # questions timed one way, then the same ones the next way: a drift of the machine weighs on all


def timed(function, texts: list[str], before=None) -> list[float]:
    out = []
    for text in texts:
        if before is not None:
            before()
        started = time.perf_counter()
        function(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def ask_over_http(client: httpx.Client, text: str) -> None:
    reply = client.post("/api/ask", json={"question": text})
    assert reply.status_code == 200, reply.text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--questions", type=int, help="only the first N questions (a quicker run)")
    bench_arguments(parser)
    args = parser.parse_args()
    report = Report("latency.py", args.json)
    qs = questions()[:args.questions]

    index_from, first = args.index_from, None
    if index_from is None:
        first = App(args.corpus)
        report.row("first start to ready (builds the index), s", "{}", Spread([first.wait_ready()]))
        first.stop(keep_index=True)
        index_from = first.index
    app = App(args.corpus, index_from)
    app.wait_ready()  # the first start over the copy builds its BM25 cache, as any first start does
    starts = []
    for _ in range(args.starts):
        app.restart()
        starts.append(app.wait_ready())
    report.row("restart to ready, index present, s", "{}", Spread(starts))

    from assistant.config import Settings, configure_process
    from assistant.lexical import question_word_parts
    from assistant.ranking import RANK_DEPTH
    from assistant.retrieval import HybridRetriever
    from assistant.service import Assistant

    local = Path(tempfile.mkdtemp(prefix="policyqa-latency-"))
    shutil.copytree(index_from, local / "index")
    settings = Settings.load({}, corpus_dir=app.corpus, index_dir=local / "index")
    configure_process(settings)  # as the app does: the embedding engine's OpenMP policy
    assistant = Assistant(settings)
    model = assistant.embeddings.inner  # uncached
    retriever = HybridRetriever(assistant.index.snapshot(), model, assistant.thesaurus)
    forget = question_word_parts.cache_clear  # retrieval and the pipeline each tag the text afresh, as the app does

    rounds: dict[str, list[tuple[float, float]]] = {k: [] for k in ("http", "cached", "embed", "retrieve", "ask")}
    ratios = []
    with httpx.Client(base_url=app.url, timeout=60) as client:
        ask_over_http(client, variant(qs[0], 253))  # the first request pays for lazy imports
        ways = {"http": lambda t: ask_over_http(client, t), "cached": lambda t: ask_over_http(client, t),
                "embed": model.embed_query, "retrieve": lambda t: retriever.search(t, RANK_DEPTH),
                "ask": assistant.ask}
        for r in range(args.rounds):
            texts = [variant(q, r) for q in qs]
            measured: dict[str, list[float]] = {key: [] for key in ways}
            for i in range(0, len(texts), BLOCK):
                for key, way in ways.items():
                    measured[key] += timed(way, texts[i:i + BLOCK], forget if key in ("retrieve", "ask") else None)
            for key, values in measured.items():
                rounds[key].append((percentile(values, 50), percentile(values, 95)))
            ratios.append(rounds["http"][-1][0] / rounds["embed"][-1][0])
            print(f"round {r + 1}: " + ", ".join(f"{k} p50 {v[-1][0]:.1f} ms" for k, v in rounds.items()), flush=True)

    def p50_p95(key: str) -> tuple[Spread, Spread]:
        return Spread([a for a, _ in rounds[key]]), Spread([b for _, b in rounds[key]])

    n = f"{len(qs)} questions"
    both = "p50 {}, p95 {}"
    report.row(f"question over HTTP, 1 client, nothing cached ({n}), ms", both, *p50_p95("http"))
    report.row("the same question again (answer cache), ms", both, *p50_p95("cached"))
    report.row("answer pipeline in process, no HTTP (Assistant.ask), ms", both, *p50_p95("ask"))
    report.row("retrieval alone (embedding included), ms", both, *p50_p95("retrieve"))
    report.row("query embedding alone, ms", both, *p50_p95("embed"))
    report.row("HTTP p50 ÷ query-embedding p50, same round", "{}", Spread(ratios, 2))
    report.row("peak RSS of the serving process, MB", "{}", Spread([peak_rss_mb(app.proc.pid)], 0))
    app.stop()
    if first is not None:
        shutil.rmtree(first.tmp, ignore_errors=True)
    shutil.rmtree(local, ignore_errors=True)
    report.save()


if __name__ == "__main__":
    main()
