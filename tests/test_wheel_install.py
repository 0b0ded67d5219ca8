"""The wheel is a working install on its own: `pip wheel` of the package source, `pip install
--target` of that wheel alone (dependencies come from this venv), then a fresh `python -c`
imports every module the wheel's RECORD lists, and `app.py` started over that install serves
/healthz and the 学习备课 tab, its topic list read from the installed study_topics.toml.
Every file of the checkout's package (modules and data alike) must be in the wheel.

The venv holds an editable install of the checkout, whose finder answers any `assistant.*`
submodule missing from an earlier path entry with the checkout's file, so a module left out of
the wheel would still import. The children run with a sitecustomize that removes that finder,
and the import check asserts every `assistant` module loaded comes from the install.
The wheel is built from a copy of the source, so setuptools' build/ and egg-info stay out of
the checkout (a stale build/lib there would also leak deleted files into the wheel)."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import httpx
import pytest

from conftest import DATA, ROOT, AppServer

PACKAGE = "assistant"
SOURCE = ["pyproject.toml", "README.md", PACKAGE]  # what the build reads

GUARD = '''"""Only the wheel's install may answer `import assistant`: drop the venv's editable finder."""
import sys

sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
'''

IMPORT_ALL = '''
import importlib, sys
from pathlib import Path

site = Path(sys.argv[1]).resolve()
editable = [f for f in sys.meta_path if getattr(f, "__module__", "").startswith("__editable__")]
assert not editable, editable
for name in sys.argv[2:]:
    importlib.import_module(name)
outside = {}
for name, module in list(sys.modules.items()):
    if name == "assistant" or name.startswith("assistant."):
        where = Path(module.__file__ or next(iter(module.__path__), "")).resolve()
        if not where.is_relative_to(site):
            outside[name] = str(where)
assert not outside, f"imported from outside the install: {outside}"
print(len(sys.argv) - 2)
'''


def _run(what: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _module_name(path: str) -> str:
    parts = Path(path).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    """The wheel built and installed into a bare folder: (work folder, site folder, files the
    wheel's RECORD lists under the package, child-process environment)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run("pip wheel", [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
                       "-w", str(tmp / "dist")])
    [wheel] = (tmp / "dist").glob("policy_qa-*.whl")
    site = tmp / "site"
    _run("pip install", [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)])
    with zipfile.ZipFile(wheel) as archive:
        [record] = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
        rows = csv.reader(io.StringIO(archive.read(record).decode()))
        listed = sorted(row[0] for row in rows if row and row[0].startswith(f"{PACKAGE}/"))
    guard = tmp / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard), str(site)])}
    return tmp, site, listed, env


def test_wheel_installs_every_module_and_data_file(install):
    tmp, site, listed, env = install
    checkout = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / PACKAGE).rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
    missing = sorted(set(checkout) - set(listed))
    assert not missing, f"files of the package missing from the wheel: {missing}"
    absent = [name for name in listed if not (site / name).is_file()]
    assert not absent, f"files of the wheel missing from the install: {absent}"

    modules = [_module_name(name) for name in listed if name.endswith(".py")]
    assert "assistant.web.webui" in modules and "assistant.data" not in modules
    done = _run("importing every module", [sys.executable, "-c", IMPORT_ALL, str(site), *modules], cwd=tmp, env=env)
    assert int(done.stdout.split()[-1]) == len(modules)


def _components(config: dict, kind: str) -> list[dict]:
    return [c for c in config["components"] if c.get("type") == kind]


@pytest.mark.slow
def test_app_from_the_install_serves_healthz_and_study_tab(install):
    tmp, _, _, env = install
    app = tmp / "app.py"
    shutil.copy2(ROOT / "app.py", app)
    home = tmp / "home"
    shutil.copytree(DATA / "small_corpus", home / "corpus")
    server = AppServer(home, home / "corpus", {"PYTHONPATH": env["PYTHONPATH"], "POLICYQA_ADMIN_TOKEN": ""},
                       app=app)
    try:
        server.wait_ready()
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["ready"] is True

        page = httpx.get(f"{server.url}/", timeout=30)
        assert page.status_code == 200 and "学习备课" in page.text
        config = httpx.get(f"{server.url}/config", timeout=30).json()
    finally:
        server.stop()

    tabs = {c["props"].get("label"): c["props"] for c in _components(config, "tabitem")}
    assert "学习备课" in tabs, sorted(filter(None, tabs))
    [topic] = [c["props"] for c in _components(config, "dropdown") if c["props"].get("elem_id") == "study-topic"]
    shipped = tomllib.loads((ROOT / PACKAGE / "data" / "study_topics.toml").read_text(encoding="utf-8"))
    assert [choice[0] for choice in topic["choices"]] == [t["name"] for t in shipped["topic"]], json.dumps(topic)
