"""Our modules' bytecode, compiled before a start-up benchmark measures a launch.

A user's Python reads ``__pycache__`` (pip compiles a wheel's modules when it installs them,
and a checkout's are written on its first run), so a launch never compiles our sources. A
build or test environment may set ``PYTHONDONTWRITEBYTECODE``, which leaves an editable
checkout without bytecode: every launch would then compile several hundred modules from source
and the benchmark would measure the compiler. ``compile_ours`` writes the bytecode the way a
first run would (``compileall`` writes it whatever that variable says).
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "viewmodels", "migrations", "tests/bench")


def compile_ours() -> None:
    for package in PACKAGES:
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise RuntimeError(f"{package}: a module does not compile")
