# pyright: strict
"""Never executed: type-checked by ``mypy --strict`` and pyright (see tests/test_typing.py).

`validate_input` keeps the decorated signature and return type, bare or called, sync or async,
on functions and methods; `validate_input_stats` reads the counts; `Array` specs fit in
``Annotated`` and as overrides; `InputValidationError.errors` is typed.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Annotated, Any

from typing_extensions import assert_type

from mlops_decorators import (
    Array,
    InputValidationError,
    ValidationStats,
    validate_input,
    validate_input_stats,
)
from mlops_decorators.exceptions import InputErrorDetails

Features = Annotated[list[float], Array(shape=("n", ...), dtype=("float32", "floating"), ge=0)]


@validate_input
def bare(a: int, b: str = "x") -> list[str]:
    return [b] * a


@validate_input(strict=True, validate_return=True, specs={"strict": bool}, a=int)
def called(a: Any, *, strict: Any = False) -> int:
    return int(a)


@validate_input(rows=Array(ndim=2, allow_nan=True, mean=(0, 1), coerce=True))
async def fetch(rows: Features, limit: int = 10) -> bytes:
    return b""


class Model:
    @validate_input
    def predict(self, x: float) -> float:
        return x

    @classmethod
    @validate_input
    def build(cls, size: int) -> Model:
        return cls()


assert_type(bare(2), list[str])
assert_type(bare(2, b="y"), list[str])
assert_type(called(1, strict=True), int)
assert_type(Model().predict(1.0), float)
assert_type(Model.build(3), Model)


async def use_async() -> None:
    coroutine: Coroutine[Any, Any, bytes] = fetch([1.0])  # an async def stays one
    assert_type(await coroutine, bytes)


stats = validate_input_stats(bare)
assert_type(stats, ValidationStats)
assert_type(stats.calls, int)
assert_type(stats.rejected, int)
assert_type(stats.by_parameter, dict[str, int])
assert_type(validate_input_stats(Model.build).name, str)

try:
    bare(1)
except InputValidationError as error:
    assert_type(error.errors(), list[InputErrorDetails])
    assert_type(error.errors()[0]["path"], tuple[str | int, ...])
    assert_type(error.function, str)
