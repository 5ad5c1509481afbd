"""Cost of ``import mlops_decorators`` next to a bare interpreter start.

Each measurement starts a fresh interpreter (``python -c ...``) many times and keeps the
median wall time; the difference is what importing the package adds. Also reported: the
cost of the first ``from mlops_decorators import timer`` (the package plus one module).

Run ``python benchmarks/import_time.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_MS = 5.0


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
    args = parser.parse_args(argv)
    runs = 5 if args.quick else 40

    bare = median_start_ms("pass", runs)
    package = median_start_ms("import mlops_decorators", runs)
    one = median_start_ms("from mlops_decorators import timer", runs)
    version = sys.version.split()[0]
    print(f"median of {runs} fresh interpreters (python -S -c ...), Python {version}")
    print(f"{'bare interpreter':<40} {bare:8.2f} ms")
    print(f"{'import mlops_decorators':<40} {package:8.2f} ms  (+{package - bare:.2f} ms)")
    print(f"{'from mlops_decorators import timer':<40} {one:8.2f} ms  (+{one - bare:.2f} ms)")
    verdict = "met" if package - bare < TARGET_MS else "MISSED"
    print(f"target: import adds < {TARGET_MS} ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
