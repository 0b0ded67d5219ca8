"""`policy-qa index --rebuild` killed with SIGKILL at each stage of a build; the next
`policy-qa index`, or the next app start (AppState.boot: LiveIndex.ensure), finishes it — resumes,
switches, cleans up — and the previous index serves meanwhile.

The kill comes from the build itself at a precise point (POLICYQA_TEST_KILL_AT, read in
assistant/store.py). Every step runs in its own process, as an operator would run it, over
a copy of one shipped document with its associated questions (without the shipped
vectors: every build here embeds).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import CORPUS

pytestmark = pytest.mark.slow

DOCUMENTS = ("paid-annual-leave-regulation-2007-12-14.md",)
STAGES = ("before-write", "mid-write", "written", "switched")
# asked in the document's own words: a one-document corpus weighs words unlike the nine the gate was fitted on
QUESTION = "职工连续工作满十年以后，一年能休几天年休假？"

# What the next app start does (app_state._boot): serve the index there is, then LiveIndex.ensure.
APP_START = """
import json, sys
from assistant.config import Settings
from assistant.service import Assistant
assistant = Assistant(Settings.load())
serving = assistant.index.snapshot()
answer = assistant.ask(sys.argv[1])
report = assistant.index.ensure()
print(json.dumps({"serving": serving.name, "clauses": len(serving.clauses), "refused": answer.refused,
                  "summary": report.summary() if report else None, "after": assistant.index.snapshot().name}))
"""
STATE = """
import json
from assistant.config import Settings
from assistant.store import IndexStore
store = IndexStore(Settings.load())
names = [c if isinstance(c, str) else c.name for c in store.client.list_collections()]
print(json.dumps({"pointer": store.pointer(), "collections": {n: store.client.get_collection(n).count() for n in names}}))
"""


def copy_documents(corpus: Path) -> None:
    """The documents, their catalog entries and their associated questions (not the shipped vectors)."""
    (corpus / "questions").mkdir(parents=True)
    shutil.copy(CORPUS / "catalog.toml", corpus)
    catalog = tomllib.loads((CORPUS / "catalog.toml").read_text(encoding="utf-8"))
    for entry in catalog["document"]:
        if entry["file"] in DOCUMENTS:
            shutil.copy(CORPUS / entry["file"], corpus)
            shutil.copy(CORPUS / "questions" / f"{entry['id']}.toml", corpus / "questions")


def env_for(home: Path, kill_at: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env.update(POLICYQA_HOME=str(home), POLICYQA_CORPUS_DIR=str(home / "corpus"),
               POLICYQA_INDEX_DIR=str(home / "index"), POLICYQA_DATA_DIR=str(home / "data"))
    if kill_at:
        env["POLICYQA_TEST_KILL_AT"] = kill_at
    return env


def run(home: Path, *args: str, kill_at: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env_for(home, kill_at), capture_output=True, text=True,
                          timeout=900)


def policy_qa(home: Path, *args: str, kill_at: str = "") -> subprocess.CompletedProcess:
    return run(home, "-m", "assistant.cli", *args, kill_at=kill_at)


def state(home: Path) -> dict:
    done = run(home, "-c", STATE)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def generation_set(pointer: dict) -> set[str]:
    """What a clean index holds: the pointer, the active and the previous generation."""
    names = {"policyqa-active"}
    for name in (pointer["active"], pointer.get("previous")):
        if name:
            names |= {name, f"{name}-q"}
    return names


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, dict]:
    """Two generations: a first build, then one after a document changed (the first kept as
    the previous one, which the rebuild's switch leaves behind for cleaning)."""
    home = tmp_path_factory.mktemp("base")
    copy_documents(home / "corpus")
    assert policy_qa(home, "index").returncode == 0
    leave = home / "corpus" / DOCUMENTS[0]
    leave.write_text(leave.read_text(encoding="utf-8").replace("年休假5天", "年休假5日"), encoding="utf-8")
    done = policy_qa(home, "index")
    assert done.returncode == 0 and "新嵌入 1，" in done.stdout, done.stdout + done.stderr
    before = state(home)
    assert before["pointer"]["previous"] and not before["pointer"].get("pending")
    return home, before


@pytest.fixture(scope="module", params=STAGES)
def killed(request, base, tmp_path_factory) -> tuple[str, Path, dict, dict]:
    """A copy of the base whose `policy-qa index --rebuild` was killed at the stage."""
    stage = request.param
    home = tmp_path_factory.mktemp(stage)
    shutil.copytree(base[0], home, dirs_exist_ok=True)
    done = policy_qa(home, "index", "--rebuild", kill_at=stage)
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    return stage, home, base[1], state(home)


def test_the_kill_leaves_the_previous_index_active_and_the_build_recorded(killed):
    stage, _, before, after = killed
    pointer, collections = after["pointer"], after["collections"]
    total, questions = before["pointer"]["clauses"], before["pointer"]["questions"]
    if stage == "before-write":
        assert after == before
    elif stage == "switched":
        assert pointer["previous"] == before["pointer"]["active"] and not pointer.get("pending")
        assert before["pointer"]["previous"] in collections  # not cleaned yet
    else:
        assert pointer["active"] == before["pointer"]["active"] and pointer["pending_rebuild"]
        pending = pointer["pending"]
        if stage == "mid-write":
            assert 0 < collections[pending] <= total and collections.get(f"{pending}-q", 0) < questions
        else:
            assert collections[pending] == total and collections[f"{pending}-q"] == questions


def expected_summary(stage: str, before: dict, after: dict) -> list[str]:
    """What finishing the build says, piece by piece (an empty list: nothing to finish)."""
    total = before["pointer"]["clauses"]
    if stage in ("before-write", "switched"):
        return []
    if stage == "mid-write":  # still a rebuild: what was not written is embedded again
        written = after["collections"][after["pointer"]["pending"]]
        return ["已续完上次中断的索引构建", f"新嵌入 {total - written}，复用 {written}，"]
    return ["已续完上次中断的索引构建", f"新嵌入 0，复用 {total}，"]


def expected_active(stage: str, before: dict, after: dict) -> str | None:
    """The generation served once the build is finished (None: a new one)."""
    return {"before-write": before["pointer"]["active"], "mid-write": None,
            "written": after["pointer"].get("pending"), "switched": after["pointer"]["active"]}[stage]


def check_finished(home: Path, stage: str, before: dict, after: dict) -> dict:
    final = state(home)
    pointer = final["pointer"]
    assert not pointer.get("pending")
    assert set(final["collections"]) == generation_set(pointer)
    assert final["collections"][pointer["active"]] == before["pointer"]["clauses"]
    assert final["collections"][f"{pointer['active']}-q"] == before["pointer"]["questions"]
    active = expected_active(stage, before, after)
    if active is None:
        assert pointer["active"] not in before["collections"] and pointer["active"] != after["pointer"]["pending"]
        assert pointer["previous"] == before["pointer"]["active"]
    else:
        assert pointer["active"] == active
    return pointer


def test_the_next_index_command_finishes_the_build(killed, tmp_path):
    stage, home, before, after = killed
    shutil.copytree(home, tmp_path, dirs_exist_ok=True)
    done = policy_qa(tmp_path, "index")
    assert done.returncode == 0, done.stderr
    pieces = expected_summary(stage, before, after)
    for piece in pieces or [f"索引已是最新（{before['pointer']['clauses']} 条）"]:
        assert piece in done.stdout
    check_finished(tmp_path, stage, before, after)
    assert "索引已是最新" in policy_qa(tmp_path, "index").stdout  # and nothing is left to do


def test_the_next_app_start_serves_the_previous_index_and_finishes_the_build(killed, tmp_path):
    stage, home, before, after = killed
    shutil.copytree(home, tmp_path, dirs_exist_ok=True)
    done = run(tmp_path, "-c", APP_START, QUESTION)
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)
    assert started["serving"] == after["pointer"]["active"]  # meanwhile: the index that was active, whole
    assert started["clauses"] == before["pointer"]["clauses"] and not started["refused"]
    pieces = expected_summary(stage, before, after)
    if pieces:
        assert all(piece in started["summary"] for piece in pieces), started["summary"]
    else:
        assert started["summary"] is None
    pointer = check_finished(tmp_path, stage, before, after)
    assert started["after"] == pointer["active"]
