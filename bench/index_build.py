"""Index build throughput on the shipped corpus: cold (every clause embedded) and
incremental (one document changed), embedded Chroma store.

    python bench/index_build.py
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, machine

from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def main() -> None:
    print(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="policyqa-build-"))
    shutil.copytree(ROOT / "corpus", tmp / "corpus")
    assistant = Assistant(Settings.from_env({}, corpus_dir=tmp / "corpus", index_dir=tmp / "index"))
    started = time.perf_counter()
    cold, _ = assistant.reindex()
    seconds = time.perf_counter() - started
    print(f"cold build: {cold.total} clauses in {seconds:.1f} s = {cold.total / seconds:.1f} clauses/s")

    leave = tmp / "corpus" / "paid-annual-leave-regulation-2007-12-14.md"
    leave.write_text(leave.read_text(encoding="utf-8").replace("年休假5天", "年休假6天"), encoding="utf-8")
    started = time.perf_counter()
    changed, _ = assistant.reindex()
    seconds = time.perf_counter() - started
    print(f"one document changed: {changed.embedded} clause re-embedded, {changed.reused} reused, "
          f"{seconds:.2f} s in all")
    started = time.perf_counter()
    same, _ = assistant.reindex()
    print(f"nothing changed: {time.perf_counter() - started:.2f} s ({'up to date' if same.unchanged else 'rebuilt?'})")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
