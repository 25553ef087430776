"""The house rules of imports (docs/design.md, "Imports"), checked on the source.

- a capability imports ``artkit.core``, ``artkit.nets``, ``artkit.weights`` and the public API of
  ``artkit.explain`` — never another capability's modules;
- no private (``_name``) import across modules;
- no import cycle between artkit modules (module-level imports);
- ``artkit.*`` imports sit at the top of modules, except a ``cli.py`` importing its library;
- importing any ``cli.py`` loads no torch (so ``--help`` is instant);
- library code never seeds global random state.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "artkit"
CAPABILITIES = ("doodle", "color", "story", "music", "explain", "classify")
SHARED = ("core", "nets", "weights")


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODULES = modules()


def imports(path: Path) -> list[tuple[str, list[str], bool, int]]:
    """(module, names, at module level, line) for every artkit import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0 \
                    and child.module.split(".")[0] == "artkit":
                found.append((child.module, [a.name for a in child.names], top, child.lineno))
            elif isinstance(child, ast.Import):
                for a in child.names:
                    if a.name.split(".")[0] == "artkit":
                        found.append((a.name, [], top, child.lineno))
            visit(child, nested)

    visit(tree, True)
    return found


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _resolve(module: str, names: list[str]) -> list[str]:
    """The artkit modules an import statement loads (``from artkit.nets import vgg`` → the
    submodule when it is one)."""
    out = [module] if module in MODULES else []
    out += [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    return out


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_capabilities_import_only_shared_packages_and_public_explain(capability):
    import artkit.explain as explain

    bad = []
    for name, path in MODULES.items():
        if _package(name) != capability:
            continue
        for module, names, _, line in imports(path):
            pkg = _package(module)
            if pkg in (None, capability) or pkg in SHARED:
                continue
            if module == "artkit.explain" and set(names) <= set(explain.__all__):
                continue
            bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {module} {names}")
    assert not bad, "\n".join(bad)


def test_no_private_names_cross_modules():
    bad = []
    for name, path in MODULES.items():
        for module, names, _, line in imports(path):
            if module == name:
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {module}.{n}")
    assert not bad, "\n".join(bad)


def test_artkit_imports_are_at_module_level():
    bad = []
    for name, path in MODULES.items():
        is_cli = name.endswith(".cli") or name == "artkit.cli"
        for module, names, top, line in imports(path):
            if top:
                continue
            if is_cli:
                continue  # a cli.py defers its library (and torch) to keep --help instant
            if name == "artkit.cli" or name == "artkit.nets":
                continue  # the lazy root command and the lazy nets package
            bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {module} inside a function")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for module, names, top, _ in imports(path):
            if top:
                graph[name].update(t for t in _resolve(module, names) if t != name)
                # importing artkit.a.b also runs artkit.a's __init__
                parts = module.split(".")
                graph[name].update(".".join(parts[:i]) for i in range(2, len(parts))
                                   if ".".join(parts[:i]) in MODULES and ".".join(parts[:i]) != name
                                   and not name.startswith(".".join(parts[:i]) + "."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def strong(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    assert not cycles, f"import cycles: {cycles}"


def test_cli_modules_do_not_import_torch():
    clis = [m for m in MODULES if m.endswith(".cli")]
    code = ("import sys, importlib\n"
            f"for m in {clis!r}:\n"
            "    importlib.import_module(m)\n"
            "    assert 'torch' not in sys.modules, m + ' imports torch'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-600:]


def test_library_never_seeds_global_random_state():
    bad = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        for needle in ("torch.manual_seed(", "np.random.seed(", "random.seed(",
                       "torch.cuda.manual_seed"):
            if needle in text:
                bad.append(f"{path.relative_to(ROOT.parent)}: {needle}")
    assert not bad, "\n".join(bad)
