"""Cost of ``import mlops_decorators`` next to a bare interpreter start.

Each measurement starts a fresh interpreter (``python -c ...``) many times and keeps the
median wall time; the difference is what importing the package adds. Also reported: the
cost of the first ``from mlops_decorators import timer`` (the package plus one module).

Run ``python benchmarks/import_time.py`` (``--quick`` for a smoke run, ``--write
docs/benchmarks.md`` to put the results of a full run on that page between its
``import_time.py`` markers, as ``make bench`` does).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _page

TARGET_MS = 5.0
SECTION = "import_time.py"  # the page's markers around this script's results


def median_start_ms(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", code], check=True, env={"PYTHONPATH": _path()})
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _path() -> str:
    # -S skips site (and its .pth scanning noise); put the package's location on the path.
    import mlops_decorators

    return str(__import__("pathlib").Path(mlops_decorators.__file__).parent.parent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs: a smoke run")
    parser.add_argument(
        "--write",
        type=Path,
        metavar="PAGE",
        help="also put the results in the page's generated section (docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    if args.write and args.quick:
        parser.error("--write records a full run: drop --quick")
    run = _page.provenance(_page.command_line(argv), [])
    runs = 5 if args.quick else 40

    bare = median_start_ms("pass", runs)
    package = median_start_ms("import mlops_decorators", runs)
    one = median_start_ms("from mlops_decorators import timer", runs)
    body = "\n".join(
        [
            run,
            "",
            f"Median wall time of {runs} fresh interpreters started with `python -S -c ...`.",
            "",
            "| what | time | added |",
            "|---|---:|---:|",
            f"| bare interpreter | {bare:.1f} ms | |",
            f"| `import mlops_decorators` | {package:.1f} ms | **{package - bare:+.1f} ms** "
            f"(target < {TARGET_MS:g} ms, {_page.verdict(package - bare < TARGET_MS)}) |",
            f"| `from mlops_decorators import timer` | {one:.1f} ms | {one - bare:+.1f} ms |",
        ]
    )
    print(body)
    if args.write:
        _page.write_section(args.write, SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
