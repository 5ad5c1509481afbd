# pyright: strict
"""Never executed: wrong calls that ``mypy --strict`` and pyright must reject, each on the line
marked ``# E: <mypy error code>`` (tests/test_typing.py compares the lines exactly)."""

from __future__ import annotations

import mlops_decorators
from mlops_decorators import log_calls, timer, timer_stats


@timer
def add(a: int, b: int = 0) -> int:
    return a + b


@log_calls
async def fetch(url: str) -> bytes:
    return url.encode()


@timer
@log_calls
def stacked(x: int) -> str:
    return str(x)


class Model:
    @timer
    def predict(self, x: float) -> float:
        return x

    @log_calls
    @classmethod
    def load(cls, path: str) -> Model:
        return cls()


add("1")  # E: arg-type
add(1, c=2)  # E: call-arg
add(1, 2, 3)  # E: call-arg
text: str = add(1)  # E: assignment
_ = fetch(1)  # E: arg-type
stacked("x")  # E: arg-type
Model().predict("x")  # E: arg-type
Model.load(1)  # E: arg-type
timer(3)  # E: call-overload
timer(threshold="0.5")  # E: call-overload
log_calls(level=[20])  # E: call-overload
with timer("block") as block:
    _ = block.nope  # E: attr-defined
timer_stats(3)  # E: arg-type
timer_stats(add, "x")  # E: call-arg
count: str = timer_stats(add).count  # E: assignment
_ = timer_stats(add).nope  # E: attr-defined
mlops_decorators.timer_stat(add)  # E: attr-defined


def misspelled_import() -> None:
    from mlops_decorators import timr  # E: attr-defined

    del timr
