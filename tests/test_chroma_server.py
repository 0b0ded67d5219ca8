"""Server mode: a real `chroma run` started here, used through HttpClient."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant import dense
from assistant.service import Assistant
from assistant.store import IndexUnavailable

from conftest import free_port, make_settings

CHROMA = Path(sys.executable).parent / "chroma"


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    exe = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("chroma server did not start")


@pytest.fixture()
def chroma_server(tmp_path):
    port = free_port()
    proc = start_chroma(tmp_path / "chroma-data", port)
    yield port, proc
    proc.kill()
    proc.wait()


def quoted(answer) -> list[tuple[str, str]]:
    return [(c.label, c.quote) for c in answer.citations]


def test_index_and_answer_through_a_chroma_server(tmp_path, small_corpus, embeddings, chroma_server, monkeypatch):
    port, proc = chroma_server
    settings = make_settings(tmp_path, small_corpus, chroma_host="127.0.0.1", chroma_port=port)
    assistant = Assistant(settings, embeddings=embeddings)
    report = assistant.index.ensure()
    assert report.total > 10
    assert not (tmp_path / "index" / "chroma").exists()  # nothing written to the embedded store

    # A second app process (same server, fresh client) serves the same generation, from the
    # vectors it read; a third, as for an index too large to hold, searches on the server.
    question = "单位安排不了年休假，没休的天数怎么给钱？"
    reader = Assistant(settings, embeddings=embeddings)
    answer = reader.ask(question)
    assert not answer.refused and answer.confidence == "high" and "300%" in answer.citations[0].quote
    assert reader.index.snapshot().name == report.collection
    monkeypatch.setattr(dense, "EXACT_LIMIT", 0)
    remote = Assistant(settings, embeddings=embeddings)
    assert isinstance(remote.index.snapshot().vectors, dense.ChromaVectors)
    assert quoted(remote.ask(question)) == quoted(answer)

    # The server goes away: the vectors held keep answering as before; searching on the
    # server, answers continue from BM25, and say so.
    proc.kill()
    proc.wait()
    assert quoted(reader.ask(question)) == quoted(answer)
    degraded = remote.ask(question)
    assert not degraded.refused and degraded.confidence == "low" and "300%" in degraded.citations[0].quote
    assert any("关键词检索" in note for note in degraded.notes)


def test_an_unreachable_server_is_a_clear_error(tmp_path, small_corpus, embeddings):
    settings = make_settings(tmp_path, small_corpus, chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(IndexUnavailable, match="无法连接 Chroma 服务器"):
        Assistant(settings, embeddings=embeddings)
