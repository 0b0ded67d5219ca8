"""Load on /api/ask over loopback: throughput and latency at rising concurrency, and what
happens past saturation (a bounded queue, 503 with Retry-After).

    python bench/load.py [--seconds 4] [--runs 3] [--levels 1,2,4,8,16,32,64,128]
                         [--traffic unique|repeated] [--placement shared|pinned|both]
                         [--corpus DIR] [--index-from DIR] [--json FILE]

The client (this process: asyncio, httpx) needs CPU too. `shared`: client and server share
every core, as when both run on one machine — the client's work slows the server.
`pinned`: the client on core 0, the server on the other cores (`taskset`); on 2 cores the
server then has one core to itself. Comparing the two tells the server's own capacity from
the cost of the client beside it.

`unique`: every request a spelling of a question the server has not seen (no cache helps):
the worst case. `repeated`: 40 evaluation questions over and over, each asked once before
the first level (a class asking the same things; the answer cache serves them).

Each level runs --runs times for --seconds; per run: answered per second, p50 and p95 of
answered requests, 503s and errors. Reported: the median over the runs (min–max).
Every 503 must carry a Retry-After of whole seconds, and the client waits that long before
its next question, as a well-behaved client does. An error is printed with its kind (the
exception, or the HTTP status).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
from collections import Counter

import httpx

from common import App, Figure, Report, Spread, bench_arguments, built_index, percentile, questions, variant

REPEATED = 40  # questions in the repeated traffic
SEQUENCE = itertools.count()  # shared by every client, run and level: no text comes round again


def retry_after(reply: httpx.Response) -> int | None:
    value = reply.headers.get("retry-after", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


async def run(url: str, clients: int, seconds: float, traffic: str, pool: list[str]) -> dict:
    latencies: list[float] = []
    refused = without_retry_after = declined = 0
    errors: Counter[str] = Counter()  # by kind: the exception, or the HTTP status
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal refused, without_retry_after, declined
        while time.monotonic() < end:
            k = next(SEQUENCE)
            q = variant(pool[k % len(pool)], k // len(pool)) if traffic == "unique" else pool[k % len(pool)]
            started = time.perf_counter()
            try:
                reply = await c.post("/api/ask", json={"question": q})
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                continue
            if reply.status_code == 200:
                latencies.append((time.perf_counter() - started) * 1000)
                declined += reply.json()["refused"]
            elif reply.status_code == 503:
                refused += 1
                wait = retry_after(reply)
                without_retry_after += wait is None
                await asyncio.sleep(wait or 1)
            else:
                errors[f"HTTP {reply.status_code}"] += 1

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as c:
        started = time.monotonic()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        elapsed = time.monotonic() - started
    return {"per_second": len(latencies) / elapsed, "refused": refused, "without_retry_after": without_retry_after,
            "errors": sum(errors.values()), "error_kinds": dict(errors), "declined": declined / max(len(latencies), 1),
            "p50": percentile(latencies, 50) if latencies else float("nan"),
            "p95": percentile(latencies, 95) if latencies else float("nan")}


def placement_cpus(placement: str) -> tuple[str, set[int] | None]:
    """The server's CPU list for taskset and the client's CPUs (None: every core)."""
    if placement == "shared":
        return "", None
    cores = sorted(os.sched_getaffinity(0))
    assert len(cores) >= 2, "pinning needs at least 2 cores"
    return ",".join(map(str, cores[1:])), {cores[0]}


def measure(args, placement: str, report: Report) -> None:
    server_cpus, client_cpus = placement_cpus(placement)
    everywhere = os.sched_getaffinity(0)
    app = App(args.corpus, args.index_from, cpus=server_cpus)
    app.wait_ready()
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)
    pool = questions()[:REPEATED] if args.traffic == "repeated" else questions()
    where = ("client and server share every core" if placement == "shared"
             else f"client on core {min(client_cpus)}, server on core{'s' * (',' in server_cpus)} {server_cpus}")
    rows, per_level = [], []
    try:
        asyncio.run(run(app.url, 2, 3, args.traffic, pool))  # warm-up
        if args.traffic == "repeated":
            for q in pool:
                httpx.post(f"{app.url}/api/ask", json={"question": q}, timeout=60).raise_for_status()
        for clients in (int(x) for x in args.levels.split(",")):
            runs = [asyncio.run(run(app.url, clients, args.seconds, args.traffic, pool)) for _ in range(args.runs)]
            per_level.append(runs)
            rows.append([str(clients), Spread([r["per_second"] for r in runs]), Spread([r["p50"] for r in runs], 0),
                         Spread([r["p95"] for r in runs], 0), Figure("{} ({})", refusals(runs)),
                         Spread([r["errors"] for r in runs], 0),
                         Spread([100 * r["declined"] for r in runs], 0)])
            print(" | ".join(map(str, rows[-1])), flush=True)
            for r in runs:
                if r["errors"]:
                    print(f"errors at {clients} clients: {r['error_kinds']}", flush=True)
    finally:
        os.sched_setaffinity(0, everywhere)
        app.stop()
    report.table(f"Load, {args.traffic} traffic, {where} ({{runs}} runs of {args.seconds:.0f} s per level; "
                 "503s and errors per run):",
                 ["clients", "answered/s", "p50 ms", "p95 ms", "503s (with Retry-After)", "errors", "declined %"], rows)
    # the r-th run of every level counts as one sweep: its best throughput at any level
    report.row(f"best throughput, {args.traffic} traffic, {where}", "{} answers/s (the best level of each run)",
               Spread([max(runs[r]["per_second"] for runs in per_level) for r in range(args.runs)]))
    if args.traffic == "unique":  # the highest level: past saturation
        report.row(f"{rows[-1][0]} clients, {where}: 503s (of which with Retry-After) / errors, per run",
                   "{} ({}) / {}", *refusals(per_level[-1]), Spread([r["errors"] for r in per_level[-1]], 0))


def refusals(runs: list[dict]) -> list[Spread]:
    """503s per run, and how many of them carried Retry-After."""
    return [Spread([r["refused"] for r in runs], 0), Spread([r["refused"] - r["without_retry_after"] for r in runs], 0)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levels", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--traffic", choices=["unique", "repeated"], default="unique")
    parser.add_argument("--placement", choices=["shared", "pinned", "both"], default="both")
    bench_arguments(parser)
    args = parser.parse_args()
    report = Report("load.py", args.json)
    args.index_from = args.index_from or built_index(args.corpus)
    for placement in (["shared", "pinned"] if args.placement == "both" else [args.placement]):
        measure(args, placement, report)
    report.save()


if __name__ == "__main__":
    main()
