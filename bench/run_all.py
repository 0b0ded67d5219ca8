"""Every bench, one Markdown report on stdout, pasted into README's 性能与规模 as it is
printed (the benches' own output goes to stderr meanwhile).

    python bench/run_all.py [--passes 2] [--quick]

The benches run one after another, and the whole sequence runs --passes times. Each pass
runs each bench for part of its runs, and the report pools the runs of all passes: a
figure's min–max spans the whole run of this script, so a drift of the machine's speed in
that time (on a shared virtual machine, several per cent in half an hour) widens the spread
a second run is compared with, instead of lying between two narrow ones.

In each pass index_build.py runs first and leaves the index of the shipped corpus that
latency.py and load.py start from; then load.py with unique traffic (client and server
sharing the cores, then pinned apart) and repeated traffic at 8 clients; then scale.py.
40 to 45 minutes on 2 cores. --quick: a smoke run of a few minutes over two documents,
one short run of each bench in each pass.
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

from common import ROOT, Figure, Table, copy_corpus, machine

BUSY = 0.05  # CPU share taken by other work above which figures are flagged
QUICK_DOCUMENTS = ["paid-annual-leave-regulation-2007-12-14.md", "zj-cadre-incentive-opinion-news-2018-08-24.txt"]


def plan(quick: bool, corpus: Path, index: Path) -> list[list[str]]:
    """The bench command lines of one pass, in order."""
    given = ["--corpus", str(corpus), "--index-from", str(index)]
    if quick:
        return [["index_build.py", "--rounds", "1", "--changes", "2", "--corpus", str(corpus), "--keep-index", str(index)],
                ["latency.py", "--rounds", "1", "--starts", "1", "--questions", "40", *given],
                ["load.py", "--seconds", "2", "--runs", "1", "--levels", "1,4,64", *given],
                ["load.py", "--seconds", "2", "--runs", "1", "--levels", "4", "--traffic", "repeated",
                 "--placement", "shared", *given],
                ["scale.py", "--sizes", "1000", "--pool", "100", "--queries", "50", "--rounds", "1"]]
    return [["index_build.py", "--rounds", "1", "--changes", "2", "--corpus", str(corpus), "--keep-index", str(index)],
            ["latency.py", "--rounds", "2", "--starts", "2", *given],
            ["load.py", "--runs", "2", *given],
            ["load.py", "--runs", "2", "--levels", "8", "--traffic", "repeated", "--placement", "shared", *given],
            ["scale.py", "--rounds", "2"]]


class Result:
    """One bench's report, pooled over the passes."""

    def __init__(self, data: dict):
        self.bench = data["bench"]
        self.starts = [(data["load"], data["busy"])]  # the load average and CPU busy share at each pass's start
        self.rows = [(what, Figure.from_json(figure)) for what, figure in data["rows"]]
        self.tables = [Table.from_json(t) for t in data["tables"]]

    def pool(self, other: "Result") -> None:
        assert [w for w, _ in self.rows] == [w for w, _ in other.rows], f"{self.bench}: not the same rows"
        self.starts += other.starts
        self.rows = [(what, a.pooled(b)) for (what, a), (_, b) in zip(self.rows, other.rows)]
        self.tables = [a.pooled(b) for a, b in zip(self.tables, other.tables)]

    def started(self) -> str:
        return "; ".join(f"{load}, {busy:.0%}" for load, busy in self.starts)


def code_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=2, help="times the whole sequence of benches runs")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few minutes, not figures to publish")
    args = parser.parse_args()
    started = time.monotonic()
    date = time.strftime("%Y-%m-%d %H:%M %z")
    tmp = Path(tempfile.mkdtemp(prefix="policyqa-run-all-"))
    corpus = copy_corpus(ROOT / "corpus", tmp / "corpus", QUICK_DOCUMENTS if args.quick else None)
    commands = plan(args.quick, corpus, tmp / "index")
    results: list[Result] = []
    for p in range(args.passes):
        for n, command in enumerate(commands):
            out = tmp / f"{p}-{n}.json"
            print(f"\n[pass {p + 1} of {args.passes}] $ python bench/{shlex.join(command)}", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, str(ROOT / "bench" / command[0]), *command[1:], "--json", str(out)],
                           stdout=sys.stderr, check=True)
            result = Result(json.loads(out.read_text(encoding="utf-8")))
            if p == 0:
                results.append(result)
            else:
                results[n].pool(result)
    shutil.rmtree(tmp, ignore_errors=True)

    argv = " ".join(["python bench/run_all.py", *sys.argv[1:]])
    lines = [f"Measured {date} on {machine()}; code {code_version()}.",
             f"Command: `{argv}` ({(time.monotonic() - started) / 60:.0f} min in all, {args.passes} passes"
             + (", a smoke run over two documents: not figures to publish" if args.quick else "") + ").",
             "Each figure is the median over the runs of every pass, min–max in brackets. When each bench began,"
             " in each pass: the load average (1, 5, 15 min) and the share of CPU busy with other work over 3 s."]
    busy = sorted({r.bench for r in results for _, b in r.starts if b > BUSY})
    if busy:
        lines.append(f"**The machine was busy with other work when {', '.join(busy)} began: not figures to publish.**")
    lines += ["", "| what | figure | runs | bench: load average, CPU busy at its start in each pass |",
              "|---|---|---|---|"]
    for result in results:
        for what, figure in result.rows:
            lines.append(f"| {what} | {figure} | {figure.runs} | `{result.bench}`: {result.started()} |")
    for result in results:
        lines += [f"\n{table.markdown()}" for table in result.tables]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
