"""Never executed: wrong calls that ``mypy --strict`` must reject, each on the line marked
``# E: <error code>`` (tests/test_typing.py compares the lines and codes exactly)."""

from __future__ import annotations

from mlops_decorators import log_calls, timer


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
