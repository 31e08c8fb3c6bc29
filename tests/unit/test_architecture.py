"""The house rules of docs/architecture.md, checked on the code itself.

The layers are import-linter's (.importlinter, run by ``make test``); this
module adds what import-linter does not say: no import cycle between any two
modules (function-level imports count, they only hide a cycle), and modules and
functions a reader can hold in their head. A long function may stay long when
its docstring says why in a sentence starting "Long because".
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = ("inference", "streams", "api", "gridsight")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
REASON = "Long because"


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*RUNTIME_PACKAGES, "tests", cache_dir=None, exclude_type_checking_imports=True)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


def _runtime_files() -> list[Path]:
    return sorted(p for pkg in RUNTIME_PACKAGES for p in (REPO / pkg).rglob("*.py"))


def long_modules(files: list[Path], root: Path = REPO) -> list[str]:
    return [
        f"{p.relative_to(root)}: {n} lines"
        for p in files
        if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    ]


def long_functions(files: list[Path], root: Path = REPO) -> list[str]:
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and REASON not in (ast.get_docstring(node) or ""):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}(): {length} lines")
    return found


def test_no_import_cycle_between_modules() -> None:
    cycles = import_cycles(_graph())
    assert not cycles, "import cycles (break them; a function-level import only hides one):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    graph.add_import(importer="pkg", imported="pkg.a")
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_runtime_modules_stay_short() -> None:
    too_long = long_modules(_runtime_files())
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them):\n" + "\n".join(too_long)


def test_functions_stay_short_or_say_why() -> None:
    too_long = long_functions(_runtime_files())
    assert not too_long, (
        f"functions over {MAX_FUNCTION_LINES} lines without '{REASON} ...' in their docstring:\n" + "\n".join(too_long)
    )


def test_the_size_checks_see_a_long_function_and_its_reason(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    plain = tmp_path / "plain.py"
    plain.write_text(f"def f():\n{body}\n", encoding="utf-8")
    excused = tmp_path / "excused.py"
    excused.write_text(f'def f():\n    """{REASON} it is a table."""\n{body}\n', encoding="utf-8")
    assert long_functions([plain], root=tmp_path) == [f"plain.py:1 f(): {MAX_FUNCTION_LINES + 1} lines"]
    assert long_functions([excused], root=tmp_path) == []
    assert long_modules([plain], root=tmp_path) == []


def test_import_linter_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
