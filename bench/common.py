"""Shared by the benchmark scripts: start the app as an operator would, time things, report."""
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine() -> str:
    mem_kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB, Python {platform.python_version()}"


def percentile(values: list[float], p: float) -> float:
    from assistant.evaluation import percentile as sorted_percentile

    return sorted_percentile(sorted(values), p)


def summary(values_ms: list[float]) -> str:
    return f"median {statistics.median(values_ms):7.1f} ms   p95 {percentile(values_ms, 95):7.1f} ms   (n={len(values_ms)})"


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
    """Every question of the dev and held-out sets (the last turn), de-duplicated."""
    out = []
    for name in ("dev.jsonl", "heldout.jsonl"):
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["turns"][-1])
    return list(dict.fromkeys(out))


class App:
    """`python app.py` on a free port, over a copy of the shipped corpus unless told otherwise."""

    def __init__(self, env: dict[str, str] | None = None, index_dir: Path | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="policyqa-bench-"))
        corpus = self.tmp / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "POLICYQA_CORPUS_DIR": str(corpus),
                    "POLICYQA_INDEX_DIR": str(index_dir or self.tmp / "index"),
                    "POLICYQA_DATA_DIR": str(self.tmp / "data"), **(env or {})}
        self.log = open(self.tmp / "app.log", "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(self.port)],
                                     env=full_env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 600) -> float:
        """Seconds from process start to /healthz answering ready."""
        while time.monotonic() - self.started < timeout:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError((self.tmp / "app.log").read_text()[-3000:])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()
