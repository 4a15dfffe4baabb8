"""``python -m bench [NAME] [options]``: run the benchmarks.

* ``python -m bench`` runs every benchmark with its default options.
* ``python -m bench NAME [options]`` runs one; ``python -m bench NAME --help`` lists its options.
* ``python -m bench --list`` names them.
* Options with no name go to the default benchmark (``store``).

A benchmark is a module ``bench/NAME.py`` that exposes ``main(argv: list[str]) -> int`` and
a one-line ``DESCRIPTION``; adding such a file is all it takes to add one (``grading``,
``startup``, ``generation``, ...). The exit status is the worst of the benchmarks run:
0 all targets met, 1 a target missed, 2 a usage error.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

import bench

DEFAULT = "store"
# Benchmarks listed here run first, in this order; any other bench/NAME.py with a main()
# and a DESCRIPTION runs after them, alphabetically.
ORDER = ("store",)


def _is_benchmark(module: ModuleType) -> bool:
    description = getattr(module, "DESCRIPTION", None)
    return callable(getattr(module, "main", None)) and isinstance(description, str)


def discover() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(bench.__path__)
        if not info.name.startswith("_") and not info.ispkg
    )
    for name in (*[n for n in ORDER if n in names], *[n for n in names if n not in ORDER]):
        module = importlib.import_module(f"bench.{name}")
        if _is_benchmark(module):
            found[name] = module
    return found


def _usage(benchmarks: dict[str, ModuleType]) -> str:
    lines = [
        "usage: python -m bench [NAME] [options]",
        "",
        "Runs every benchmark, or the one named (options with no name go to "
        f"{DEFAULT!r}); `python -m bench NAME --help` lists a benchmark's options.",
        "",
        "benchmarks:",
    ]
    width = max((len(name) for name in benchmarks), default=0)
    lines += [f"  {name.ljust(width)}  {module.DESCRIPTION}" for name, module in benchmarks.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    benchmarks = discover()
    if args and args[0] in ("-h", "--help"):
        print(_usage(benchmarks))
        return 0
    if args and args[0] == "--list":
        print("\n".join(benchmarks))
        return 0
    if args and not args[0].startswith("-"):
        name, rest = args[0], args[1:]
        if name not in benchmarks:
            print(f"unknown benchmark {name!r}; known: {', '.join(benchmarks)}", file=sys.stderr)
            return 2
        return int(benchmarks[name].main(rest))
    if args:  # options without a name: the default benchmark
        return int(benchmarks[DEFAULT].main(args))
    worst = 0
    for index, (name, module) in enumerate(benchmarks.items()):
        if index:
            print()
        print(f"=== bench {name}: {module.DESCRIPTION}", flush=True)
        worst = max(worst, int(module.main([])))
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
