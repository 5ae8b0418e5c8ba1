"""Product code uses third-party libraries through their public names only.

A private name (`_x`, or a module path with a segment `_x`; dunder names such as `__version__`
are public) is the library's to change in any release; code that imports one breaks on an
update that its version pins only postpone. The scan reads every product package as text with
`ast`, so nothing is imported or run, and it sees imports inside functions too, as well as
`importlib.import_module("…")` and `__import__("…")` with a literal name. The standard library
and our own packages are allowed: their private names are ours or Python's to manage.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Top-level directories that hold no product code even when they are packages.
NOT_PRODUCT = frozenset({"tests", "bench", "migrations", "deploy", "static"})


@dataclass(frozen=True)
class PrivateImport:
    path: Path
    line: int
    names: tuple[str, ...]
    module: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} takes {', '.join(self.names)} from {self.module}"


def product_packages(root: Path) -> list[str]:
    """Top-level directories with an __init__.py, less tests, benchmarks and deployment."""
    return sorted(
        entry.name for entry in root.iterdir()
        if entry.is_dir() and entry.name not in NOT_PRODUCT and not entry.name.startswith(".")
        and (entry / "__init__.py").is_file()
    )  # fmt: skip


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names taken from it) for every absolute import in the tree; a relative
    import (`from . import x`) never leaves our own package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func, first = node.func, node.args[0]
            dynamic = (isinstance(func, ast.Name) and func.id == "__import__") or (
                isinstance(func, ast.Attribute) and func.attr == "import_module"
            )
            if dynamic and isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value, []


def private_imports(root: Path) -> list[PrivateImport]:
    """Every private name a product module takes from a third-party package."""
    ours = set(product_packages(root))
    found: list[PrivateImport] = []
    for package in sorted(ours):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for line, target, names in _imports(tree):
                parts = target.split(".")
                if not parts[0] or parts[0] in ours or parts[0] in sys.stdlib_module_names:
                    continue
                hidden = [part for part in parts if _private(part)]
                hidden += [name for name in names if _private(name)]
                if hidden:
                    found.append(PrivateImport(path.relative_to(root), line, tuple(hidden),
                                               target))  # fmt: skip
    return found


def assert_no_private_imports(root: Path) -> None:
    found = private_imports(root)
    assert not found, "private names of third-party packages:\n" + "\n".join(map(str, found))


# --- the product ---------------------------------------------------------------------------


def test_product_code_imports_no_private_names_of_libraries() -> None:
    packages = product_packages(ROOT)
    assert {"app", "booking", "postcall", "signaling"} <= set(packages)
    assert_no_private_imports(ROOT)


# --- the scanner itself ----------------------------------------------------------------------


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def test_packages_are_found_by_their_init_file(tmp_path: Path) -> None:
    make_tree(tmp_path, {
        "shop/__init__.py": "", "billing/__init__.py": "", "scripts/run.py": "",
        "tests/__init__.py": "", "bench/__init__.py": "", "migrations/__init__.py": "",
        "deploy/__init__.py": "", "static/__init__.py": "", ".venv/__init__.py": "",
    })  # fmt: skip
    assert product_packages(tmp_path) == ["billing", "shop"]


def test_the_scan_reports_each_private_import_with_file_and_line(tmp_path: Path) -> None:
    bad = '''\
import fpdf._internal
from fpdf.output import PDFFont, _tt_font_widths


def draw() -> None:
    from pypdf._writer import PdfWriter
    import importlib
    importlib.import_module("segno._compat")
    __import__("_cffi_backend")
'''
    fine = '''\
from __future__ import annotations
import os
from os import _exit
from collections import _count_elements
import fpdf
from fpdf import __version__
from fpdf.enums import XPos
from segno.helpers import make_epc_qr
from segno import encoder as _encoder
from shop import _helpers
from shop._helpers import _secret
from . import _sibling
from ._sibling import _thing
'''
    make_tree(tmp_path, {
        "shop/__init__.py": "", "shop/_helpers.py": "_secret = 1\n", "shop/_sibling.py": "",
        "shop/letters/__init__.py": "", "shop/letters/render.py": bad,
        "shop/letters/fine.py": fine,
        # Not product code: never scanned.
        "tests/__init__.py": "", "tests/test_x.py": "from fpdf.output import _tt_font_widths\n",
    })  # fmt: skip
    found = private_imports(tmp_path)
    assert [str(item) for item in found] == [
        "shop/letters/render.py:1 takes _internal from fpdf._internal",
        "shop/letters/render.py:2 takes _tt_font_widths from fpdf.output",
        "shop/letters/render.py:6 takes _writer from pypdf._writer",
        "shop/letters/render.py:8 takes _compat from segno._compat",
        "shop/letters/render.py:9 takes _cffi_backend from _cffi_backend",
    ]
    # The check the product test runs fails on this tree, naming each place.
    with pytest.raises(AssertionError) as failure:
        assert_no_private_imports(tmp_path)
    for item in found:
        assert str(item) in str(failure.value)


def test_relative_imports_are_our_own(tmp_path: Path) -> None:
    make_tree(tmp_path, {
        "shop/__init__.py": "from ._core import _x\n", "shop/_core.py": "_x = 1\n",
        "shop/sub/__init__.py": "from .. import _core\n",
        "shop/sub/deep.py": "from .._core import _x\nimport shop._core\n",
    })  # fmt: skip
    assert private_imports(tmp_path) == []
