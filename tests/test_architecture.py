"""The package's structure: no import cycles, nothing imports the CLI, a light import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import recsys_embed as rse

PACKAGE = Path(rse.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules ``name`` imports anywhere: at the top, inside functions and under
    ``if TYPE_CHECKING:`` (a type-only import is still a dependency). ``from pkg import sub`` counts as importing ``pkg.sub`` when that is
    a module, else as importing ``pkg`` itself; the implicit import of parent packages does not
    count (every module would import the top-level package otherwise)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    out.add(sub)
                elif base in known:
                    out.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_graph_sees_known_edges():
    graph = import_graph()
    assert "recsys_embed.models.base" in graph["recsys_embed.models.ease"]
    assert "recsys_embed.metrics" in graph["recsys_embed.evaluate"]
    # a cycle planted in a copy of the graph is found
    planted = {k: set(v) for k, v in graph.items()}
    planted["recsys_embed.errors"].add("recsys_embed.models.als")
    assert any("recsys_embed.errors" in c for c in cycles(planted))


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, f"import cycles: {found}"


def is_cli(name: str) -> bool:
    return name == "recsys_embed.cli" or name.startswith("recsys_embed.cli.")


def cli_users(graph: dict[str, set[str]]) -> list[str]:
    """Modules outside the CLI package that import any of its modules."""
    return sorted(m for m, deps in graph.items() if not is_cli(m) and any(map(is_cli, deps)))


def test_nothing_imports_the_cli():
    graph = import_graph()
    assert "recsys_embed.cli.parser" in graph["recsys_embed.cli"]  # the package's own modules
    users = cli_users(graph)
    assert users == ["recsys_embed.__main__"], users
    # an import of any module of the CLI package from outside it is caught
    planted = {k: set(v) for k, v in graph.items()}
    planted["recsys_embed.pipeline"].add("recsys_embed.cli.log")
    assert cli_users(planted) == ["recsys_embed.__main__", "recsys_embed.pipeline"]


def test_heavy_libraries_are_imported_only_in_their_modules():
    graph_src = {name: path.read_text() for name, path in modules().items()}
    homes = {
        # transforms borrows implicit's bm25/tfidf weighting, imported inside that function
        "implicit": {
            "recsys_embed.models.als",
            "recsys_embed.models.bpr",
            "recsys_embed.data.transforms",
        },
        "lightfm": {"recsys_embed.models.lightfm"},
        "pyspark": None,  # only inside recsys_embed.spark
    }
    for lib, allowed in homes.items():
        for name, src in graph_src.items():
            tree = ast.parse(src)
            for node in ast.walk(tree):
                mods = []
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    mods = [node.module or ""]
                if any(m == lib or m.startswith(lib + ".") for m in mods):
                    ok = (
                        name.startswith("recsys_embed.spark")
                        if allowed is None
                        else name in allowed
                    )
                    assert ok, f"{name} imports {lib}"


def test_import_is_light_and_the_namespace_is_lazy():
    code = (
        "import sys\n"
        "import recsys_embed as rse\n"
        "heavy = ['implicit', 'lightfm', 'gensim', 'optuna', 'pyspark', 'numba', 'matplotlib']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "print('recsys_embed.models' in sys.modules, 'recsys_embed.tuning' in sys.modules)\n"
        "m = rse.models.create('popularity')\n"
        "print(type(m).__name__, callable(rse.evaluate), rse.metrics.ndcg_at_k.__name__)\n"
        "print(rse.tuning.tune.__name__, rse.split.random_split.__name__)\n"
        "print(sorted(m for m in ['implicit', 'lightfm', 'pyspark'] if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[]", f"importing recsys_embed pulled in {lines[0]}"
    assert lines[1] == "False False"
    assert lines[2] == "Popularity True ndcg_at_k"
    assert lines[3] == "tune random_split"
    assert lines[4] == "[]"  # creating a model does not import its library either


def test_namespace_lists_the_lazy_names():
    names = dir(rse)
    for name in ("models", "metrics", "split", "tuning", "evaluate", "Interactions"):
        assert name in names
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = rse.nonsense  # type: ignore[attr-defined]


def test_evaluate_stays_callable_whatever_is_imported_first():
    code = (
        "import recsys_embed.tuning\n"  # imports the recsys_embed.evaluate module first
        "import recsys_embed as rse\n"
        "from recsys_embed.testing import planted\n"
        "inter = planted()\n"
        "pop = rse.models.create('popularity').fit(inter)\n"
        "report = rse.evaluate({'pop': pop}, inter, inter, k=[3], exclude_train=False)\n"
        "from recsys_embed.evaluate import Report, evaluate\n"
        "print(type(report).__name__, report.ks, evaluate.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Report", "[3]", "evaluate"]


def private_names(tree: ast.Module) -> set[str]:
    """Underscore names a module defines: functions, classes, methods, assigned names."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
    return {n for n in out if n.startswith("_") and not n.startswith("__")}


def test_no_module_uses_another_modules_underscore_names():
    """Inside the package, ``x._name`` and ``from m import _name`` only reach names the same
    module defines (or ``self``/``cls``/``super()``'s): the rest goes through public names."""
    trees = {name: ast.parse(path.read_text()) for name, path in modules().items()}
    defined = {name: private_names(tree) for name, tree in trees.items()}
    package_private = set().union(*defined.values())
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("recsys_embed"):
                found += [
                    f"{name}: from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            if node.attr.startswith("__") or node.attr not in package_private:
                continue  # dunders, and other libraries' private names
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "super":
                continue
            if node.attr in defined[name]:
                continue  # the module's own private names
            found.append(f"{name}:{node.lineno}: .{node.attr}")
    assert found == []


def test_module_sizes():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert sizes["recsys_embed.models.base"] <= 250
    assert {name: n for name, n in sizes.items() if n > 400} == {}


def test_one_top_k_loop():
    """Only the retrieval module walks users in chunks and calls top-k selection."""
    callers = set()
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "topk":
                callers.add(name)
    assert callers <= {"recsys_embed.models.retrieval", "recsys_embed.models.vectors"}


MODEL_LIBRARIES = ("implicit", "lightfm")
# the model files that wrap implicit (als, bpr) and lightfm (lightfm, the hybrid)
MODEL_LIBRARY_HOMES = {
    "recsys_embed.models.als",
    "recsys_embed.models.bpr",
    "recsys_embed.models.lightfm",
    "recsys_embed.models.hybrid",
}


def libraries_imported(tree: ast.AST, libraries: tuple[str, ...]) -> set[str]:
    """Which of ``libraries`` a module imports anywhere: ``import``, ``from ... import`` (also
    inside functions) and ``importlib.import_module`` / ``__import__`` of a literal name."""
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant):
                names = [str(first.value)]
        found.update(lib for lib in libraries for n in names if n.split(".")[0] == lib)
    return found


def test_implicit_and_lightfm_are_imported_only_by_model_files():
    planted = ast.parse(
        "import numpy\n"
        "def f():\n    from implicit.nearest_neighbours import bm25_weight\n"
        "g = importlib.import_module('lightfm.data')\n"
        "import implicitly\n"
    )
    assert libraries_imported(planted, MODEL_LIBRARIES) == {"implicit", "lightfm"}
    importers = {
        name: libraries_imported(ast.parse(path.read_text()), MODEL_LIBRARIES)
        for name, path in modules().items()
    }
    outside = sorted(n for n, libs in importers.items() if libs and n not in MODEL_LIBRARY_HOMES)
    assert not outside, f"implicit/lightfm imported outside the model files: {outside}"
    assert importers["recsys_embed.models.als"] == {"implicit"}  # the walk sees the real imports
    assert importers["recsys_embed.models.lightfm"] == {"lightfm"}
