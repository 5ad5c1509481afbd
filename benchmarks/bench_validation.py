"""`validate_input` vs `pydantic.validate_call`; the cost of `Array` checks.

``groups()``: per-call overhead on ``(x: int, y: float)`` next to ``pydantic.validate_call``
(target: at most 1.2x its overhead; both run the same pydantic core), and an
``Array(shape, dtype)`` check next to a hand-written shape-and-dtype test.
``notes()``: the ``Array(shape, dtype)`` overhead on a 1 KiB and a 100 MB array against its
budget (under 3 µs whatever the size), and the throughput of each value check on a 100 MB
float32 array, with numpy's own ``isfinite(x).all()`` as the reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pydantic
from _page import verdict
from overhead import Group, measure

from mlops_decorators import Array, validate_input

PARITY_TARGET = 1.2
FIXED_COST_BUDGET_NS = 3000.0
MB = 1_000_000


def _work(x: int, y: float) -> float:
    return x + y


def _take(X: Any) -> Any:  # noqa: N803 -- the ML name of a feature matrix
    return X


def _structural() -> Callable[[Any], Any]:
    """``Array(shape, dtype)`` with no value check (floats: NaN and inf allowed)."""
    spec = Array(shape=(None, 4), dtype="float32", allow_nan=True, allow_inf=True)
    return validate_input(X=spec)(_take)


def _by_hand(float32: Any) -> Callable[[Any], Any]:
    def check(X: Any) -> Any:  # noqa: N803
        if X.ndim != 2 or X.shape[1] != 4 or X.dtype != float32:
            raise ValueError("bad X")
        return X

    return check


def groups() -> list[Group]:
    try:
        import numpy as np
    except ImportError:
        np = None
    result = [
        Group(
            name="validate_input (x: int, y: float)",
            bare=lambda: _work(1, 2.0),
            ours=lambda: ours(1, 2.0),
            peers={"pydantic.validate_call": lambda: theirs(1, 2.0)},
            targets={"pydantic.validate_call": PARITY_TARGET},
        )
    ]
    ours, theirs = validate_input(_work), pydantic.validate_call(_work)
    if np is not None:
        small = np.zeros((64, 4), dtype=np.float32)
        checked, by_hand = _structural(), _by_hand(np.dtype("float32"))
        result.append(
            Group(
                name="validate_input Array(shape, dtype), 64x4 float32",
                bare=lambda: _take(small),
                ours=lambda: checked(small),
                peers={"hand-written shape/dtype test (reference)": lambda: by_hand(small)},
            )
        )
    return result


def _best_ns(call: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        call()
        best = min(best, time.perf_counter_ns() - start)
    return best


def notes() -> list[str]:
    """The fixed cost of an Array check by array size, and value-check throughput."""
    try:
        import numpy as np
    except ImportError:
        return ["validate_input Array checks: skipped (numpy is not installed)"]
    checked = _structural()
    costs = {}
    for label, rows in (("1 KiB", 64), ("100 MB", 25 * MB // 4)):
        x = np.zeros((rows, 4), dtype=np.float32)
        group = Group(name=label, bare=lambda x=x: _take(x), ours=lambda x=x: checked(x))
        costs[label] = measure(group, 20_000, 5)[group.ours_label]
    met = max(costs.values()) < FIXED_COST_BUDGET_NS
    lines = [
        "- `validate_input` with `Array(shape, dtype)` and no value check: "
        + ", ".join(f"{ns:,.0f} ns on {label}" for label, ns in costs.items())
        + f" (target < {FIXED_COST_BUDGET_NS:,.0f} ns for any size, {verdict(met)}).",
        "",
    ]

    rng = np.random.default_rng(0)
    arrays = {
        f"{size} MB numpy": rng.random((size * MB // 16, 4), dtype=np.float32) for size in (10, 100)
    }
    try:
        import torch
    except ImportError:
        pass
    else:  # the same 100 MB, shared with numpy
        arrays["100 MB torch tensor (CPU)"] = torch.from_numpy(arrays["100 MB numpy"])
    specs = {
        "`Array()`: no NaN or inf (the default)": Array(),
        "`Array(ge=0, le=1)`": Array(ge=0, le=1, allow_nan=True, allow_inf=True),
        "`Array(mean=..., std=...)`": Array(
            mean=(0.4, 0.6), std=(0.2, 0.4), allow_nan=True, allow_inf=True
        ),
        "all of the above": Array(ge=0, le=1, mean=(0.4, 0.6), std=(0.2, 0.4)),
    }
    big = arrays["100 MB numpy"]
    reference = big.nbytes / _best_ns(lambda: bool(np.isfinite(big).all()), 5)
    lines += [
        f"`validate_input` value checks on float32 arrays, in GB/s (numpy's own "
        f"`isfinite(x).all()` on 100 MB: {reference:.1f} GB/s):",
        "",
        "| check | " + " | ".join(arrays) + " |",
        "|---|" + "---:|" * len(arrays),
    ]
    for label, spec in specs.items():
        call = validate_input(X=spec)(_take)
        rates = [f"{x.nbytes / _best_ns(lambda x=x, f=call: f(x), 5):.1f}" for x in arrays.values()]
        lines.append(f"| {label} | " + " | ".join(rates) + " |")
    return lines
