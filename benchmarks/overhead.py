"""Per-call overhead of each decorator next to its peers, measured in one run.

Overhead is the time of a decorated call minus the time of the same bare call, in
nanoseconds, taken as the best of several interleaved repeats to shave off noise. Each
decorator's cases live in ``bench_<concern>.py`` beside this file (a ``groups()`` function,
and optionally ``notes()`` for other measurements); this script finds them all.

Run ``python benchmarks/overhead.py`` (``--quick`` for a smoke run, ``--only retry`` to run
groups whose name contains a word, ``--write docs/benchmarks.md`` to put the results of a full
run on that page between its ``overhead.py`` markers, as ``make bench`` does).
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

import _page


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


SECTION = "overhead.py"  # the page's markers around this script's results

# Sections of the page in the order a reader meets the decorators; other modules follow.
ORDER = ["timing", "logging", "retry", "caching", "validation", "memory", "monitor"]

# The peers and the libraries that set the figures, named with their versions on the page.
LIBRARIES = [
    "codetiming",
    "backoff",
    "tenacity",
    "stamina",
    "cachetools",
    "pydantic",
    "pydantic-core",
    "psutil",
    "prometheus-client",
    "opentelemetry-sdk",
    "numpy",
    "xxhash",
    "torch",
]


def load(only: str | None) -> tuple[list[Group], list[str]]:
    """The groups whose name contains `only`, and the notes of the modules they come from.

    A module's optional ``notes()`` returns Markdown lines for measurements that are not
    per-call overheads (throughput, say); a blank line separates one module's from the next.
    """
    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    concerns = [path.stem.removeprefix("bench_") for path in here.glob("bench_*.py")]
    ranked = sorted(concerns, key=lambda c: (ORDER.index(c) if c in ORDER else len(ORDER), c))
    groups: list[Group] = []
    notes: list[str] = []
    for concern in ranked:
        module = importlib.import_module(f"bench_{concern}")
        chosen = [g for g in module.groups() if only is None or only in g.name]
        groups.extend(chosen)
        if chosen and hasattr(module, "notes"):
            notes.extend([*module.notes(), ""])
    return groups, notes


def table(results: list[tuple[Group, dict[str, float]]]) -> tuple[list[str], int, int]:
    """A Markdown table of each group's overheads, with ratios and targets; targets set, missed."""
    lines = [
        "| group | implementation | overhead (ns) | ours/this | target |",
        "|---|---|---:|---:|---|",
    ]
    targets = missed = 0
    for group, overhead in results:
        ours = overhead[group.ours_label]
        for label, value in overhead.items():
            name = group.name if label == group.ours_label else ""
            shown = f"**{label}**" if label == group.ours_label else label
            ratio = target = ""
            if label != group.ours_label:
                ratio = f"{ours / value:.3g}x" if value else "n/a"
            limit = group.targets.get(label)
            if limit is not None:
                met = bool(value) and ours / value <= limit
                targets += 1
                missed += not met
                target = f"<= {limit}x, {_page.verdict(met)}"
            cells = [name, shown, f"{value:,.0f}", ratio, target]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines, targets, missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations: a smoke run")
    parser.add_argument("--only", help="run only groups whose name contains this")
    parser.add_argument(
        "--write",
        type=Path,
        metavar="PAGE",
        help="also put the results in the page's generated section (docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    if args.write and (args.quick or args.only):
        parser.error("--write records a full run: drop --quick and --only")
    run = _page.provenance(_page.command_line(argv), LIBRARIES)
    number, repeat = (200, 2) if args.quick else (20_000, 7)

    groups, notes = load(args.only)
    results = []
    for group in groups:
        print(f"measuring {group.name}", file=sys.stderr)
        results.append((group, measure(group, number, repeat)))
    lines, targets, missed = table(results)
    missed += sum("MISSED" in line for line in notes)
    targets += sum("target" in line for line in notes)
    body = "\n".join(
        [
            run,
            "",
            f"Overhead: ns per call above the bare call, best of {repeat} interleaved repeats "
            f"of {number:,} calls; ours/this: our overhead divided by that row's.",
            "",
            *lines,
            "",
            *notes,
            f"Targets missed in this run: {missed} of {targets}.",
        ]
    )
    print(body)
    if args.write:
        _page.write_section(args.write, SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
