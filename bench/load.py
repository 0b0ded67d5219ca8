"""Load on /api/ask over loopback: throughput and latency at rising concurrency, and what
happens past saturation (bounded queue, clear 503s).

    python bench/load.py [--seconds 10] [--levels 1,2,4,8,16,32,64,128] [--traffic unique|repeated]

`unique`: question texts varied so that no cache helps (trailing question marks: the same
retrieval, a different text to embed) — the worst case.
`repeated`: the dev and held-out questions over and over (a class asking the same things;
the answer cache serves repeats). Reports, per level: answered per second, median and p95
latency of answered requests, and 503s.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import time

import httpx

from common import App, machine, percentile, questions

SEQUENCE = itertools.count()


async def level(url: str, clients: int, seconds: float, traffic: str, pool: list[str]) -> dict:
    latencies: list[float] = []
    refused = errors = declined = 0
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)

    async def client(c: httpx.AsyncClient, i: int) -> None:
        nonlocal refused, errors, declined
        n = 0
        while time.monotonic() < end:
            k = next(SEQUENCE)  # shared by every client and level: no text comes round again soon
            q = pool[k % len(pool)]
            if traffic == "unique":  # 68 questions x 61 variants: more texts than any cache holds
                q = q.rstrip("？?") + "？" * (1 + k // len(pool) % 61)
            started = time.perf_counter()
            try:
                reply = await c.post("/api/ask", json={"question": q})
                if reply.status_code == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                    declined += reply.json()["refused"]
                elif reply.status_code == 503:
                    refused += 1
                    await asyncio.sleep(0.2)  # a client honouring Retry-After, loosely
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            n += 1

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as c:
        started = time.monotonic()
        await asyncio.gather(*(client(c, i) for i in range(clients)))
        elapsed = time.monotonic() - started
    return {"clients": clients, "per_second": len(latencies) / elapsed, "refused": refused, "errors": errors,
            "declined": declined / max(len(latencies), 1),
            "p50": percentile(latencies, 50) if latencies else float("nan"),
            "p95": percentile(latencies, 95) if latencies else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--levels", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--traffic", choices=["unique", "repeated"], default="unique")
    args = parser.parse_args()
    print(f"machine: {machine()}; traffic: {args.traffic}; {args.seconds:.0f} s per level")
    app = App()
    app.wait_ready()
    pool = questions()
    try:
        asyncio.run(level(app.url, 2, 3, args.traffic, pool))  # warm-up
        print("| clients | answered/s | p50 ms | p95 ms | 503s | errors | declined (not covered) |")
        print("|---|---|---|---|---|---|---|")
        for clients in (int(x) for x in args.levels.split(",")):
            r = asyncio.run(level(app.url, clients, args.seconds, args.traffic, pool))
            print(f"| {clients} | {r['per_second']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['refused']} | "
                  f"{r['errors']} | {r['declined']:.0%} |", flush=True)
    finally:
        app.stop()


if __name__ == "__main__":
    main()
