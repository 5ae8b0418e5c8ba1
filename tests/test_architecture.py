"""The shape of the code, as README "Architecture" draws it: which package may import which,
no import circles between modules (imports inside functions count), and ``app/`` kept to
composition."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PRODUCT = {"tests", "bench", "migrations", "deploy", "static"}

# What each package may import of ours; everything else is refused. ``app`` composes them all.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "signaling": set(),
    "booking": {"core"},
    "idstatus": {"core", "booking"},
    "staff": {"core", "booking"},
    "calls": {"core", "booking", "staff", "signaling"},
    "cases": {"core", "booking", "staff"},
    "postcall": {"core", "booking", "cases"},
    "online": {"core", "booking", "staff", "cases", "postcall"},
    "mail": {"core", "booking", "cases", "postcall", "online", "idstatus"},
    "privacy": {"core", "booking", "staff", "calls", "cases", "postcall", "online",
                "accessibility"},
    "accessibility": {"core"},
    "insights": {"core", "booking", "staff", "calls", "cases", "postcall", "online"},
    "monitoring": {"core", "booking", "cases", "postcall"},
    # The municipalities' scope names the tables of every package it keeps apart.
    "tenants": {"core", "booking", "staff", "calls", "cases", "postcall", "online", "idstatus",
                "accessibility"},
}
APP_COMPOSITION_MAX_LINES = 3000  # app/ outside its api/ and pages/ handlers


def packages(root: Path = ROOT) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in NOT_PRODUCT
                  and not p.name.startswith(".") and (p / "__init__.py").exists())


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the modules of ours it imports (at the top or inside functions)."""
    ours = packages(root)
    modules = {module_name(f, root): f for pkg in ours for f in (root / pkg).rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            targets: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.Import):
                targets = [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = mod.split(".")
                    keep = len(anchor) - node.level + (1 if path.name == "__init__.py" else 0)
                    base = ".".join([*anchor[:keep], base] if base else anchor[:keep])
                targets = [(base, [alias.name for alias in node.names])]
            for target, names in targets:
                if target.split(".")[0] not in ours:
                    continue
                for candidate in [f"{target}.{n}" for n in names] + [target]:
                    if candidate in modules and candidate != mod:
                        edges[mod].add(candidate)
                        break
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def forbidden_imports(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for mod, targets in edges.items():
        pkg = mod.split(".")[0]
        if pkg == "app":
            continue
        allowed = ALLOWED.get(pkg)
        for target in targets:
            other = target.split(".")[0]
            if other != pkg and (allowed is None or other not in allowed):
                wrong.append(f"{mod} imports {target}")
    return sorted(wrong)


def test_every_package_has_its_place() -> None:
    assert set(packages()) == {*ALLOWED, "app"}


def test_imports_point_one_way() -> None:
    assert forbidden_imports(import_graph()) == []


def test_no_import_circles_between_modules() -> None:
    assert circles(import_graph()) == []


def test_the_checks_see_what_they_should(tmp_path: Path) -> None:
    # A tiny tree with a circle hidden in a function and a kernel that imports the app.
    for pkg in ("core", "app"):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "core" / "a.py").write_text("def f():\n    from app import b\n")
    (tmp_path / "app" / "b.py").write_text("from core.a import f\n")
    edges = import_graph(tmp_path)
    assert circles(edges) == [["app.b", "core.a"]]
    assert forbidden_imports(edges) == ["core.a imports app.b"]


def test_app_is_composition() -> None:
    lines = sum(path.read_text(encoding="utf-8").count("\n")
                for path in (ROOT / "app").rglob("*.py")
                if not {"api", "pages"} & set(path.relative_to(ROOT / "app").parts[:-1]))
    assert lines < APP_COMPOSITION_MAX_LINES


def test_every_booking_opens_a_request() -> None:
    """Only ``cases.intake`` books through ``booking.service``: any other caller would make an
    appointment without its request."""
    callers = []
    for pkg in packages():
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            imported = {alias.asname or alias.name for node in ast.walk(tree)
                        if isinstance(node, ast.ImportFrom) and node.module == "booking.service"
                        for alias in node.names if alias.name == "book"}
            service_names = {alias.asname or "service" for node in ast.walk(tree)
                             if isinstance(node, ast.ImportFrom) and node.module == "booking"
                             for alias in node.names if alias.name == "service"}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                direct = isinstance(func, ast.Name) and func.id in imported
                through = (isinstance(func, ast.Attribute) and func.attr == "book"
                           and isinstance(func.value, ast.Name) and func.value.id in service_names)
                if direct or through:
                    callers.append(module_name(path, ROOT))
    assert sorted(set(callers)) == ["cases.intake"], callers
