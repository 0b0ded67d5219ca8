"""No import cycle in the package: the graph of `assistant.*` imports, read from the source with
`ast` (module-level and function-level imports alike, relative and absolute; imports under
`if TYPE_CHECKING:` only are left out, since they never run)."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = "assistant"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for its __init__)."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node that can run: the body of `if TYPE_CHECKING:` is skipped
    (its `else:` branch is not)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()

    def add(module: str) -> None:
        # `import assistant.a.b` names the module itself; a name that is no module (a class,
        # a function) belongs to the module it is imported from.
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module and module != name:
            targets.add(module)

    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    add(alias.name)
            continue
        if node.level:
            base = here
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
            if not (source == PACKAGE or source.startswith(PACKAGE + ".")):
                continue
        for alias in node.names:  # `from . import x`: x may be a submodule
            if f"{source}.{alias.name}" in known:
                add(f"{source}.{alias.name}")
            else:
                add(source)
    return targets


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that ends where it starts, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        colour[start] = GREY
        while path:
            step = next(iters[-1], None)
            if step is None:
                colour[path.pop()] = BLACK
                iters.pop()
            elif colour[step] == GREY:
                return path[path.index(step):] + [step]
            elif colour[step] == WHITE:
                colour[step] = GREY
                path.append(step)
                iters.append(iter(sorted(graph[step])))
    return None


def test_the_graph_is_read_from_every_module():
    graph = import_graph()
    assert "assistant.service" in graph and "assistant.web.server" in graph
    assert "assistant.store" in graph["assistant.service"]  # a module-level relative import
    assert "assistant.web.app_state" in graph["assistant.web.server"] or any(
        "assistant.web.app_state" in graph[m] for m in graph["assistant.web.server"])


def test_the_reader_sees_what_runs_and_skips_what_does_not(tmp_path):
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .. import a\n")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\nelse:\n    import assistant.c\n"
        "def f():\n    from .sub import d\n")
    (package / "b.py").write_text("from assistant.a import f\n")
    (package / "c.py").write_text("")
    (package / "sub" / "d.py").write_text("from ..b import x\n")
    found = modules(tmp_path)
    graph = {name: imports_of(name, path, set(found)) for name, path in found.items()}
    assert graph["assistant.a"] == {"assistant.c", "assistant.sub.d"}
    assert graph["assistant.b"] == {"assistant.a"}
    assert graph["assistant.sub"] == {"assistant.a"}
    assert graph["assistant.sub.d"] == {"assistant.b"}
    assert find_cycle(graph) == ["assistant.a", "assistant.sub.d", "assistant.b", "assistant.a"]
    graph["assistant.sub.d"] = set()  # the cycle broken, none is left
    assert find_cycle(graph) is None


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)
