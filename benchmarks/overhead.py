"""Per-call overhead of each decorator next to its peers, measured in one run.

Overhead is the time of a decorated call minus the time of the same bare call, in
nanoseconds, taken as the best of several interleaved repeats to shave off noise. Each
decorator's cases live in ``bench_<concern>.py`` beside this file (a ``groups()`` function,
and optionally ``notes()`` for other measurements); this script finds them all.

Run ``python benchmarks/overhead.py`` (``--quick`` for a smoke run, ``--only retry`` to run
groups whose name contains a word).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Group:
    """One comparison: the bare call, our decorated call and the peers' decorated calls.

    Each callable takes no arguments. For ``is_async`` groups they are coroutine functions.
    ``targets`` maps a peer label to the highest allowed ratio (our overhead / theirs).
    """

    name: str
    bare: Callable[[], Any]
    ours: Callable[[], Any]
    peers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)
    is_async: bool = False
    ours_label: str = "mlops-decorators"


def _time_sync(fn: Callable[[], Any], number: int) -> float:
    loop = range(number)
    start = time.perf_counter_ns()
    for _ in loop:
        fn()
    return (time.perf_counter_ns() - start) / number


def _time_async(fn: Callable[[], Any], number: int) -> float:
    async def run() -> float:
        loop = range(number)
        start = time.perf_counter_ns()
        for _ in loop:
            await fn()
        return (time.perf_counter_ns() - start) / number

    return asyncio.run(run())


def measure(group: Group, number: int, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` overhead in ns per call for ours and each peer."""
    timer = _time_async if group.is_async else _time_sync
    candidates = {group.ours_label: group.ours, **group.peers}
    best = {label: float("inf") for label in ["bare", *candidates]}
    for _ in range(repeat):  # interleave so drift affects every candidate alike
        best["bare"] = min(best["bare"], timer(group.bare, number))
        for label, fn in candidates.items():
            best[label] = min(best[label], timer(fn, number))
    return {label: max(best[label] - best["bare"], 0.0) for label in candidates}


def load(only: str | None) -> tuple[list[Group], list[str]]:
    """The groups whose name contains `only`, and the notes of the modules they come from.

    A module's optional ``notes()`` returns lines for measurements that are not per-call
    overheads (throughput, say).
    """
    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    groups: list[Group] = []
    notes: list[str] = []
    for path in sorted(here.glob("bench_*.py")):
        module = importlib.import_module(path.stem)
        chosen = [g for g in module.groups() if only is None or only in g.name]
        groups.extend(chosen)
        if chosen and hasattr(module, "notes"):
            notes.extend(module.notes())
    return groups, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations: a smoke run")
    parser.add_argument("--only", help="run only groups whose name contains this")
    args = parser.parse_args(argv)
    number, repeat = (200, 2) if args.quick else (20_000, 7)

    print(
        f"Python {sys.version.split()[0]}, {number} calls x best of {repeat}; overhead in ns/call"
    )
    groups, notes = load(args.only)
    width = max([len(label) for g in groups for label in (g.ours_label, *g.peers)], default=14)
    print(f"{'group':<34} {'implementation':<{width}} {'overhead':>9} {'ours/this':>10}  target")
    missed = 0
    for group in groups:
        overhead = measure(group, number, repeat)
        ours = overhead[group.ours_label]
        for label, value in overhead.items():
            ratio = "" if label == group.ours_label else f"{ours / value:.3f}x" if value else "n/a"
            target = group.targets.get(label)
            verdict = ""
            if target is not None and value:
                met = ours / value <= target
                missed += not met
                verdict = f"<= {target}x {'met' if met else 'MISSED'}"
            print(f"{group.name:<34} {label:<{width}} {value:>9.0f} {ratio:>10}  {verdict}")
    for line in notes:
        print(line)
        missed += "MISSED" in line
    print(f"targets missed: {missed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
