"""Shared by the benchmark scripts: start the app as an operator would, repeat measurements,
report medians with their spread.

Every bench repeats its measurement (rounds, or runs of a fixed duration) and reports the
median over them with the min–max, after the machine's load average and the share of CPU
busy with other work at its start. With `--json FILE` it also writes what it printed as
rows for bench/run_all.py."""
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


def spread(values: list[float], digits: int = 1) -> str:
    """Median over the runs, with min–max when there was more than one."""
    median = f"{statistics.median(values):.{digits}f}"
    return median if len(values) == 1 else f"{median} ({min(values):.{digits}f}–{max(values):.{digits}f})"


class Report:
    """What a bench found: table rows (what, figure, runs) printed as they come, extra
    Markdown tables, and the same as JSON for run_all."""

    def __init__(self, bench: str, json_path: str | None):
        self.bench, self.json_path = bench, json_path
        self.load, self.busy = load_average(), busy_share()
        self.rows: list[list] = []
        self.tables: list[str] = []
        print(f"{bench} — machine: {machine()}; load average at start: {self.load}; "
              f"CPU busy with other work: {self.busy:.0%}", flush=True)

    def row(self, what: str, figure: str, runs: int) -> None:
        self.rows.append([what, figure, runs])
        print(f"{what}: {figure}   (runs: {runs})", flush=True)

    def table(self, markdown: str) -> None:
        self.tables.append(markdown)
        print(markdown, flush=True)

    def save(self) -> None:
        if self.json_path:
            Path(self.json_path).write_text(json.dumps({"bench": self.bench, "load": self.load, "busy": self.busy,
                                                        "rows": self.rows, "tables": self.tables},
                                                       ensure_ascii=False), encoding="utf-8")


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
