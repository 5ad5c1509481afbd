# pyright: strict
"""Never executed: wrong calls that ``mypy --strict`` and pyright must reject on the lines
marked ``# E: <error code>`` (tests/test_typing.py)."""

from __future__ import annotations

from mlops_decorators import Array, validate_input, validate_input_stats


@validate_input
def add(a: int, b: int = 0) -> int:
    return a + b


@validate_input(strict=True)
async def fetch(url: str) -> bytes:
    return url.encode()


add("1")  # E: arg-type
add(1, c=2)  # E: call-arg
text: str = add(1)  # E: assignment
_ = fetch(1)  # E: arg-type
validate_input(3)  # E: call-overload
validate_input(strict="yes")  # E: call-overload
validate_input(validate_return=1)  # E: call-overload
Array(ndim="2")  # E: arg-type
Array(allow_nan=None)  # E: arg-type
validate_input_stats("add")  # E: arg-type
rejected: str = validate_input_stats(add).rejected  # E: assignment
_ = validate_input_stats(add).nope  # E: attr-defined
