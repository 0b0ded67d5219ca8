"""Every bench, one after another, and one Markdown report on stdout, pasted into README's
性能与规模 as it is printed (the benches' own output goes to stderr meanwhile).

    python bench/run_all.py [--quick]

index_build.py runs first and leaves the index of the shipped corpus that latency.py and
load.py start from; then load.py with unique traffic (client and server sharing the cores,
then pinned apart) and repeated traffic at 8 clients; then scale.py. About 30 minutes on
2 cores. --quick: a smoke run of a few minutes over two documents, one short run of each.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, copy_corpus, machine

BUSY = 0.05  # CPU share taken by other work above which figures are flagged
QUICK_DOCUMENTS = ["paid-annual-leave-regulation-2007-12-14.md", "zj-cadre-incentive-opinion-news-2018-08-24.txt"]


def plan(quick: bool, corpus: Path, index: Path) -> list[list[str]]:
    """The bench command lines, in order."""
    given = ["--corpus", str(corpus), "--index-from", str(index)]
    if quick:
        return [["index_build.py", "--rounds", "1", "--changes", "2", "--corpus", str(corpus), "--keep-index", str(index)],
                ["latency.py", "--rounds", "2", "--starts", "1", "--questions", "40", *given],
                ["load.py", "--seconds", "2", "--runs", "1", "--levels", "1,4,64", *given],
                ["load.py", "--seconds", "2", "--runs", "1", "--levels", "4", "--traffic", "repeated",
                 "--placement", "shared", *given],
                ["scale.py", "--sizes", "1000", "--pool", "100", "--queries", "50", "--rounds", "2"]]
    return [["index_build.py", "--corpus", str(corpus), "--keep-index", str(index)],
            ["latency.py", *given],
            ["load.py", *given],
            ["load.py", "--levels", "8", "--traffic", "repeated", "--placement", "shared", *given],
            ["scale.py"]]


def code_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few minutes, not figures to publish")
    args = parser.parse_args()
    started = time.monotonic()
    date = time.strftime("%Y-%m-%d %H:%M %z")
    tmp = Path(tempfile.mkdtemp(prefix="policyqa-run-all-"))
    corpus = copy_corpus(ROOT / "corpus", tmp / "corpus", QUICK_DOCUMENTS if args.quick else None)
    results = []
    for n, command in enumerate(plan(args.quick, corpus, tmp / "index")):
        out = tmp / f"{n}.json"
        print(f"\n$ python bench/{shlex.join(command)}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / command[0]), *command[1:], "--json", str(out)],
                       stdout=sys.stderr, check=True)
        result = json.loads(out.read_text(encoding="utf-8"))
        results.append(result)
    shutil.rmtree(tmp, ignore_errors=True)

    argv = " ".join(["python bench/run_all.py", *sys.argv[1:]])
    lines = [f"Measured {date} on {machine()}; code {code_version()}.",
             f"Command: `{argv}` ({(time.monotonic() - started) / 60:.0f} min in all"
             + (", a smoke run over two documents: not figures to publish" if args.quick else "") + ").",
             "Each figure is the median over the runs, min–max in brackets. When each bench began: the load"
             " average (1, 5, 15 min) and the share of CPU busy with other work over 3 s."]
    busy = [r["bench"] for r in results if r["busy"] > BUSY]
    if busy:
        lines.append(f"**The machine was busy with other work when {', '.join(busy)} began: not figures to publish.**")
    lines += ["", "| what | figure | runs | bench: load average, CPU busy at its start |", "|---|---|---|---|"]
    for result in results:
        for what, figure, runs in result["rows"]:
            lines.append(f"| {what} | {figure} | {runs} | `{result['bench']}`: {result['load']}, {result['busy']:.0%} |")
    for result in results:
        lines += [f"\n{table}" for table in result["tables"]]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
