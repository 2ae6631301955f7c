"""``make bench``: run every ``tests/bench/bench_*.py`` (or those named) and print results.

Each benchmark module exposes ``main() -> None`` and prints its own figures: a rate for our
code and, measured in the same run, the reference it is compared with, plus their ratio.
Select some with ``make bench BENCH_ARGS="import node"``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(selected: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if n.removeprefix("bench_") in selected or n in selected]
        if not names:
            print(f"no benchmark named {', '.join(selected)}", file=sys.stderr)
            return 2
    for name in names:
        print(f"== {name.removeprefix('bench_')} ==", flush=True)
        importlib.import_module(f"tests.bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
