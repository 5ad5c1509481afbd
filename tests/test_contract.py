"""The contract every decorator keeps, checked over one table: a new decorator is one row.

Each decorator keeps the function's signature, ``__wrapped__`` and defaults, keeps an
``async def`` a coroutine function, works on methods, classmethods and staticmethods, accepts
``@deco``, ``@deco()`` and ``@deco(option=...)``, refuses options passed positionally, and its
accessor (``fn.timer_stats()`` and friends) survives stacking under every other decorator and
under a third-party ``functools.wraps`` decorator.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mlops_decorators import (
    cache_result,
    log_calls,
    memory_guard,
    monitor,
    retry,
    timer,
    validate_input,
)


@dataclass(frozen=True)
class Row:
    """One decorator, as the contract sees it."""

    decorator: Callable[..., Any]
    option: dict[str, Any]  # one valid keyword option, for @deco(option=...)
    positional: tuple[Any, ...]  # options passed positionally, which must be refused
    # The calls a decorated function's state accessor has counted (None: no accessor).
    counted: Callable[[Any], int] | None = None

    def __str__(self) -> str:
        return self.decorator.__name__


ROWS = [
    Row(timer, {"level": "DEBUG"}, ("load", "mlops"), lambda fn: fn.timer_stats().count),
    Row(log_calls, {"max_repr": 20}, ("mlops", "DEBUG")),
    Row(retry, {"max_attempts": 2}, (2,), lambda fn: fn.retry_stats().calls),
    Row(cache_result, {"maxsize": 8}, (60, 8), lambda fn: fn.cache_info().misses),
    Row(memory_guard, {"max_percent": 99}, (90,), lambda fn: fn.memory_guard_stats().calls),
    Row(validate_input, {"strict": True}, (True,), lambda fn: fn.validate_input_stats().calls),
    Row(monitor, {"slow": 1.0}, ("load",), lambda fn: fn.monitor_stats().calls),
]
WITH_ACCESSOR = [row for row in ROWS if row.counted is not None]


def third_party(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator from elsewhere that only knows `functools.wraps`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


OUTERS = [*((str(row), row.decorator) for row in ROWS), ("functools.wraps", third_party)]


def forms(row: Row) -> dict[str, Callable[[Any], Any]]:
    return {
        "bare": row.decorator,
        "called": row.decorator(),
        "with option": row.decorator(**row.option),
    }


def area(width: int, height: int = 2, *, unit: str = "m") -> str:
    """Docstring."""
    return f"{width * height}{unit}"


async def aarea(width: int, height: int = 2, *, unit: str = "m") -> str:
    """Docstring."""
    return f"{width * height}{unit}"


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_every_form_keeps_signature_metadata_and_defaults(row: Row) -> None:
    for form, decorate in forms(row).items():
        wrapped = decorate(area)
        assert wrapped(3) == area(3), form
        assert wrapped.__wrapped__ is area
        assert (wrapped.__name__, wrapped.__qualname__, wrapped.__doc__) == (
            "area",
            "area",
            "Docstring.",
        )
        assert inspect.signature(wrapped) == inspect.signature(area)
        assert wrapped.__defaults__ == (2,)
        assert wrapped.__kwdefaults__ == {"unit": "m"}


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_async_def_stays_a_coroutine_function(row: Row) -> None:
    for form, decorate in forms(row).items():
        wrapped = decorate(aarea)
        assert inspect.iscoroutinefunction(wrapped), form
        assert await wrapped(3, unit="cm") == "6cm"
        assert inspect.signature(wrapped) == inspect.signature(aarea)
        assert (wrapped.__defaults__, wrapped.__kwdefaults__) == ((2,), {"unit": "m"})


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_options_passed_positionally_are_refused(row: Row) -> None:
    with pytest.raises(TypeError, match="positional argument"):
        row.decorator(*row.positional)


def model_class(deco: Callable[[Any], Any]) -> type:
    """Every kind of method, sync and async, `deco` applied over and under the descriptor."""

    class Model:
        factor = 10

        def __init__(self) -> None:
            self.factor = 2

        @deco
        def method(self, x: int) -> int:
            return x * self.factor

        @deco
        async def amethod(self, x: int) -> int:
            return x * self.factor

        @deco
        @classmethod
        def cls_over(cls, x: int) -> int:
            return x * cls.factor

        @classmethod
        @deco
        def cls_under(cls, x: int) -> int:
            return x * cls.factor

        @deco
        @classmethod
        async def acls_over(cls, x: int) -> int:
            return x * cls.factor

        @classmethod
        @deco
        async def acls_under(cls, x: int) -> int:
            return x * cls.factor

        @deco
        @staticmethod
        def static_over(x: int) -> int:
            return -x

        @staticmethod
        @deco
        def static_under(x: int) -> int:
            return -x

        @deco
        @staticmethod
        async def astatic_over(x: int) -> int:
            return -x

        @staticmethod
        @deco
        async def astatic_under(x: int) -> int:
            return -x

    return Model


EXPECTED = {"method": 6, "cls_over": 30, "cls_under": 30, "static_over": -3, "static_under": -3}


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_methods_classmethods_and_staticmethods(row: Row) -> None:
    for form, decorate in forms(row).items():
        model = model_class(decorate)()
        for name, expected in EXPECTED.items():
            for target in (model, type(model)) if name != "method" else (model,):
                sync, coroutine = getattr(target, name), getattr(target, f"a{name}")
                assert inspect.iscoroutinefunction(coroutine), (form, name)
                assert not inspect.iscoroutinefunction(sync), (form, name)
                for _ in range(2):  # twice: a cache answers the second call itself
                    assert sync(3) == await coroutine(3) == expected, (form, name)
                if row.counted is not None:
                    assert row.counted(sync) >= 1, (form, name)
                    assert row.counted(coroutine) >= 1, (form, name)


STACKS = [
    pytest.param(inner, outer, id=f"{inner} under {label}")
    for inner, (label, outer) in itertools.product(WITH_ACCESSOR, OUTERS)
    if outer is not inner.decorator
]


@pytest.mark.parametrize(("inner", "outer"), STACKS)
def test_accessor_survives_stacking(inner: Row, outer: Callable[[Any], Any]) -> None:
    def double(x: int) -> int:
        return 2 * x

    stacked = outer(inner.decorator(double))
    assert stacked(4) == 8
    assert inspect.signature(stacked) == inspect.signature(double)
    assert inner.counted is not None
    assert inner.counted(stacked) == 1


def numbers(n: int = 2) -> Iterator[int]:
    yield from range(n)


async def anumbers(n: int = 2) -> AsyncIterator[int]:
    for i in range(n):
        yield i


@pytest.mark.parametrize("decorator", [timer, log_calls], ids=["timer", "log_calls"])
async def test_observing_decorators_keep_generator_functions(
    decorator: Callable[[Any], Any],
) -> None:
    gen, agen = decorator(numbers), decorator(anumbers)
    assert inspect.isgeneratorfunction(gen)
    assert inspect.isasyncgenfunction(agen)
    assert list(gen(3)) == [0, 1, 2]
    assert [i async for i in agen(3)] == [0, 1, 2]


@pytest.mark.parametrize("decorator", [retry, cache_result], ids=["retry", "cache_result"])
@pytest.mark.parametrize("fn", [numbers, anumbers])
def test_acting_on_the_result_refuses_generator_functions(
    decorator: Callable[[Any], Any], fn: Callable[..., Any]
) -> None:
    with pytest.raises(TypeError, match=f"cannot decorate generator function {fn.__name__}"):
        decorator(fn)
