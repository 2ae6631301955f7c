"""Core never names ``viewmodels``: no import of it, no string that imports it by name.

The runtime layer test (``tests/core/test_foundation.py``) sees what importing core loads; this
one reads the source, so a lazy import inside a function that no test runs is caught too. The
CLI finds the layers above core through entry points (``core/cli/commands.py``).

What counts as naming it: an ``import``/``from`` of ``viewmodels``; any string literal other than
a docstring containing ``viewmodels`` (``import_module("viewmodels.kiosk")``, a list of module
names); and, anywhere in the text, comments and docstrings included, a module path such as
``viewmodels.kiosk`` or a quoted ``"viewmodels"``. Prose that says "the viewmodels" is allowed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CORE = REPO / "core"
LAYER = "viewmodels"
MODULE_PATH = re.compile(rf"""\b{LAYER}(\.\w+)+|["']{LAYER}["']""")


def _docstrings(tree: ast.Module) -> set[int]:
    nodes: list[ast.AST] = [tree]
    nodes += [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    found = set()
    for node in nodes:
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            found.add(id(body[0].value))
    return found


def references(source: str) -> list[str]:
    """Every place in ``source`` (Python text) that names the ``viewmodels`` layer."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == LAYER
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == LAYER:
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and LAYER in node.value
            and id(node) not in docstrings
        ):
            found.append(f"line {node.lineno}: string {node.value!r}")
    for lineno, line in enumerate(source.splitlines(), start=1):
        if MODULE_PATH.search(line):
            found.append(f"line {lineno}: names a module: {line.strip()}")
    return found


def test_no_core_file_names_viewmodels() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 20  # the walk found the tree
    offences = [
        f"{path.relative_to(REPO)} {where}"
        for path in files
        for where in references(path.read_text(encoding="utf-8"))
    ]
    assert offences == []


@pytest.mark.parametrize(
    "source",
    [
        "import viewmodels\n",
        "import viewmodels.kiosk as k\n",
        "from viewmodels import cli\n",
        "from viewmodels.kiosk import run\n",
        "def f():\n    from viewmodels.screenshot import run_screenshot\n",
        "import importlib\nk = importlib.import_module('viewmodels.kiosk')\n",
        "MODULES = ('core.cli.render', 'viewmodels.cli')\n",
        "__import__('viewmodels')\n",
        "def f():\n    '''Loads viewmodels.kiosk lazily.'''\n",
        "x = 1  # see viewmodels.cli\n",
    ],
)
def test_each_way_of_naming_it_is_caught(source: str) -> None:
    assert references(source)


def test_prose_is_allowed() -> None:
    source = (
        '"""Shared by the CLI and the viewmodels.\n\nHow viewmodels stay on the Qt thread."""\n'
    )
    assert references(source) == []
