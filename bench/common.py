"""Shared by the benchmark scripts: start the app as an operator would, repeat measurements,
report medians with their spread.

Every bench repeats its measurement (rounds, or runs of a fixed duration) and reports the
median over them with the min–max, after the machine's load average and the share of CPU
busy with other work at its start. With `--json FILE` it also writes what it printed, every
figure with the values measured in each run, so that bench/run_all.py can pool the runs of
the same bench run several times."""
from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine() -> str:
    mem_kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return (f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was before the bench."""
    return " ".join(open("/proc/loadavg").read().split()[:3])


def busy_share(seconds: float = 3.0) -> float:
    """The share of the machine's CPU time taken over a few seconds before the bench starts:
    other work. It matters more than it seems: the embedding model's OpenMP threads wait
    for each other, and on a busy machine those waits can make an embedding many times slower."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    total, idle = sample()
    time.sleep(seconds)
    total2, idle2 = sample()
    return 1 - (idle2 - idle) / max(total2 - total, 1)


def percentile(values: list[float], p: float) -> float:
    from assistant.evaluation import percentile as sorted_percentile

    return sorted_percentile(sorted(values), p)


@dataclass
class Spread:
    """One quantity, measured once per run: shown as the median, with min–max when the runs
    differ."""

    values: list[float]
    digits: int = 1

    def __str__(self) -> str:
        d, values = self.digits, self.values
        median = f"{statistics.median(values):.{d}f}"
        low, high = f"{min(values):.{d}f}", f"{max(values):.{d}f}"
        return median if low == high else f"{median} ({low}–{high})"


@dataclass
class Figure:
    """A figure as printed: a template whose {} are filled by Spreads ("p50 {}, p95 {}"), or
    fixed text. The same bench run again pools into it: every Spread takes the other's values."""

    template: str
    spreads: list[Spread]

    def __str__(self) -> str:
        return self.template.format(*self.spreads)

    @property
    def runs(self) -> int:
        return max((len(s.values) for s in self.spreads), default=0)

    def pooled(self, other: "Figure") -> "Figure":
        assert self.template == other.template, f"not the same figure: {self.template!r}, {other.template!r}"
        return Figure(self.template, [Spread(a.values + b.values, a.digits) for a, b in zip(self.spreads, other.spreads)])

    def to_json(self) -> dict:
        return {"template": self.template, "spreads": [[s.values, s.digits] for s in self.spreads]}

    @classmethod
    def from_json(cls, data: dict) -> "Figure":
        return cls(data["template"], [Spread(values, digits) for values, digits in data["spreads"]])


def cell(value: "Figure | Spread | str") -> Figure:
    """A table cell as a Figure: a Spread fills it, text stays as it is."""
    if isinstance(value, Figure):
        return value
    if isinstance(value, Spread):
        return Figure("{}", [value])
    return Figure(value.replace("{", "{{").replace("}", "}}"), [])


@dataclass
class Table:
    """A Markdown table of Figures; a `{runs}` in the title becomes the number of runs."""

    title: str
    header: list[str]
    rows: list[list[Figure]]

    def markdown(self) -> str:
        runs = max((f.runs for row in self.rows for f in row), default=0)
        lines = [self.title.format(runs=runs), "", "| " + " | ".join(self.header) + " |",
                 "|" + "---|" * len(self.header)]
        return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in self.rows])

    def pooled(self, other: "Table") -> "Table":
        assert len(self.rows) == len(other.rows), f"not the same table: {self.title!r}"
        return Table(self.title, self.header, [[a.pooled(b) for a, b in zip(mine, theirs)]
                                               for mine, theirs in zip(self.rows, other.rows)])

    def to_json(self) -> dict:
        return {"title": self.title, "header": self.header, "rows": [[f.to_json() for f in row] for row in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> "Table":
        return cls(data["title"], data["header"], [[Figure.from_json(f) for f in row] for row in data["rows"]])


class Report:
    """What a bench found: rows (what, figure) printed as they come, Markdown tables, and the
    same as JSON for run_all, every figure with its values per run."""

    def __init__(self, bench: str, json_path: str | None):
        self.bench, self.json_path = bench, json_path
        self.load, self.busy = load_average(), busy_share()
        self.rows: list[tuple[str, Figure]] = []
        self.tables: list[Table] = []
        print(f"{bench} — machine: {machine()}; load average at start: {self.load}; "
              f"CPU busy with other work: {self.busy:.0%}", flush=True)

    def row(self, what: str, template: str, *spreads: Spread) -> None:
        figure = Figure(template, list(spreads))
        self.rows.append((what, figure))
        print(f"{what}: {figure}   (runs: {figure.runs})", flush=True)

    def table(self, title: str, header: list[str], rows: list[list["Figure | Spread | str"]]) -> None:
        self.tables.append(Table(title, header, [[cell(v) for v in row] for row in rows]))
        print(self.tables[-1].markdown(), flush=True)

    def save(self) -> None:
        if self.json_path:
            Path(self.json_path).write_text(json.dumps(
                {"bench": self.bench, "load": self.load, "busy": self.busy,
                 "rows": [[what, figure.to_json()] for what, figure in self.rows],
                 "tables": [t.to_json() for t in self.tables]}, ensure_ascii=False), encoding="utf-8")


def bench_arguments(parser, *, index: bool = True) -> None:
    """The options every bench shares."""
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="the corpus to serve (a copy is used)")
    if index:
        parser.add_argument("--index-from", type=Path, help="an index of that corpus to start from (copied), "
                                                            "instead of building one first")
    parser.add_argument("--json", help="also write the results to this file (for bench/run_all.py)")


def peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions() -> list[str]:
    """The last turn of every question of the evaluation sets, de-duplicated: the texts the
    benches ask (read at run time; none is written into the code)."""
    out = []
    for name in ("dev.jsonl", "cadre.jsonl", "calibration-extra.jsonl"):
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["turns"][-1])
    return list(dict.fromkeys(out))


def variant(question: str, k: int) -> str:
    """The k-th distinct spelling of a question's ending (？ and ? in every order, up to seven
    marks: 254 spellings): the same retrieval, a text no cache has seen."""
    length, k = 1, k % 254
    while k >= 2 ** length:
        k -= 2 ** length
        length += 1
    marks = "".join("？?"[k >> i & 1] for i in range(length))
    return question.rstrip("？?") + marks


def copy_corpus(source: Path, dest: Path, documents: list[str] | None = None) -> Path:
    """A copy of a corpus folder, or of some of its documents with their catalog entries and
    associated questions."""
    if documents is None:
        shutil.copytree(source, dest)
        return dest
    (dest / "questions").mkdir(parents=True)
    shutil.copy(source / "catalog.toml", dest)
    for entry in tomllib.loads((source / "catalog.toml").read_text(encoding="utf-8"))["document"]:
        if entry["file"] in documents:
            shutil.copy(source / entry["file"], dest)
            questions_file = source / "questions" / f"{entry['id']}.toml"
            if questions_file.exists():
                shutil.copy(questions_file, dest / "questions")
    return dest


def app_environment(home: Path, corpus: Path) -> dict[str, str]:
    """The environment of an app or CLI the bench starts: the default settings (extractive
    mode: any POLICYQA_* of the caller's is left out) over these folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "POLICYQA_HOME": str(home), "POLICYQA_CORPUS_DIR": str(corpus), "POLICYQA_INDEX_DIR": str(home / "index"),
            "POLICYQA_DATA_DIR": str(home / "data")}


def built_index(corpus: Path) -> Path:
    """An index of the corpus built by `policy-qa index`, for a bench given none."""
    tmp = Path(tempfile.mkdtemp(prefix="policyqa-index-"))
    env = app_environment(tmp, corpus)
    print(f"building an index of {corpus} …", flush=True)
    subprocess.run([sys.executable, "-m", "assistant.cli", "index"], env=env, check=True, stdout=subprocess.DEVNULL)
    return tmp / "index"


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the app was not ready in {timeout:.0f} s: {log.read_text()[-3000:]}")


class App:
    """`python app.py` on a free port over a copy of a corpus, with a copy of an index (or
    none: it builds one), on the given CPUs (`taskset`) or any."""

    def __init__(self, corpus: Path, index_from: Path | None = None, cpus: str = ""):
        self.tmp = Path(tempfile.mkdtemp(prefix="policyqa-bench-"))
        self.corpus = shutil.copytree(corpus, self.tmp / "corpus")
        self.index = self.tmp / "index"
        if index_from is not None:
            shutil.copytree(index_from, self.index)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [*(["taskset", "-c", cpus] if cpus else []), sys.executable, str(ROOT / "app.py"),
                        "--port", str(self.port)]
        self.log_path = self.tmp / "app.log"
        self.log = open(self.log_path, "a")
        self._start()

    def _start(self) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.command, env=app_environment(self.tmp, self.corpus), stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self) -> float:
        """Seconds from process start to /healthz answering ready."""
        wait_ready(self.url, self.proc, self.log_path)
        return time.monotonic() - self.started

    def restart(self) -> None:
        """Stopped and started again over the same folders, as an operator restarts it."""
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._start()

    def stop(self, keep_index: bool = False) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        if not keep_index:
            shutil.rmtree(self.tmp, ignore_errors=True)
