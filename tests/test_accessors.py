"""The typed accessors (`retry_stats`, `timer_stats`, `cache_info`, `cache_clear`,
`cache_invalidate`): they find a decorator's state along ``__wrapped__`` through any stack,
agree with the attribute forms, and refuse a function without that decorator by name."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest

from mlops_decorators import (
    cache_clear,
    cache_info,
    cache_invalidate,
    cache_result,
    log_calls,
    memory_guard,
    memory_guard_stats,
    retry,
    retry_stats,
    timer,
    timer_stats,
)

Deco = Callable[[Any], Any]

# accessor, the decorator it needs (as its error message names it), the attribute form.
ACCESSORS: list[tuple[Callable[[Any], Any], str, Deco, str]] = [
    (retry_stats, "retry", retry(delay=0), "retry_stats"),
    (timer_stats, "timer", timer, "timer_stats"),
    (cache_info, "cache_result", cache_result, "cache_info"),
    (memory_guard_stats, "memory_guard", memory_guard(max_percent=100), "memory_guard_stats"),
]
IDS = [name for _, _, _, name in ACCESSORS]


def third_party(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A foreign decorator that keeps ``__wrapped__`` but copies no attribute, so only the
    ``__wrapped__`` walk can find the state."""

    @functools.wraps(fn, updated=())
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def other_decorators(name: str) -> list[Deco]:
    """The package's other decorators, for stacking around the one under test."""
    others: dict[str, Deco] = {
        "retry_stats": retry(delay=0),
        "timer_stats": timer,
        "cache_info": cache_result,
        "memory_guard_stats": memory_guard(max_percent=100),
    }
    return [log_calls, *(deco for key, deco in others.items() if key != name)]


@pytest.mark.parametrize(("accessor", "decorator", "deco", "attr"), ACCESSORS, ids=IDS)
def test_accessor_reads_what_the_attribute_form_reads(
    accessor: Callable[[Any], Any], decorator: str, deco: Deco, attr: str
) -> None:
    @deco
    def double(x: int) -> int:
        return 2 * x

    assert double(2) == double(2) == 4
    assert accessor(double) == getattr(double, attr)()
    assert (
        type(accessor(double)).__name__
        == {
            "retry_stats": "RetryStats",
            "timer_stats": "TimerStats",
            "cache_info": "CacheInfo",
            "memory_guard_stats": "MemoryGuardStats",
        }[attr]
    )


@pytest.mark.parametrize(("accessor", "decorator", "deco", "attr"), ACCESSORS, ids=IDS)
def test_accessor_finds_the_state_under_every_other_decorator_and_a_foreign_one(
    accessor: Callable[[Any], Any], decorator: str, deco: Deco, attr: str
) -> None:
    def double(x: int) -> int:
        return 2 * x

    decorated = deco(double)
    stacked = decorated
    for outer in [*other_decorators(attr), third_party]:
        stacked = outer(stacked)
    stacked = third_party(third_party(stacked))

    assert not hasattr(stacked, attr)  # the outer foreign wrappers copied nothing
    assert stacked(3) == 6
    assert accessor(stacked) == getattr(decorated, attr)()


@pytest.mark.parametrize(("accessor", "decorator", "deco", "attr"), ACCESSORS, ids=IDS)
def test_accessor_works_on_methods_classmethods_staticmethods_and_async(
    accessor: Callable[[Any], Any], decorator: str, deco: Deco, attr: str
) -> None:
    class Model:
        @deco
        def predict(self, x: int) -> int:
            return x

        @classmethod
        @deco
        def load(cls, path: str) -> str:
            return path

        @staticmethod
        @deco
        def version() -> str:
            return "1"

        @deco
        async def apredict(self, x: int) -> int:
            return x

    model = Model()
    assert (model.predict(1), Model.load("p"), Model.version()) == (1, "p", "1")
    assert asyncio.run(model.apredict(2)) == 2
    for target, attribute_of in [
        (model.predict, Model.predict),
        (Model.predict, Model.predict),
        (Model.load, Model.load),
        (vars(Model)["load"], Model.load),
        (Model.version, Model.version),
        (vars(Model)["version"], Model.version),
        (third_party(model.apredict), Model.apredict),
    ]:
        assert accessor(target) == getattr(attribute_of, attr)(), target


@pytest.mark.parametrize(("accessor", "decorator", "deco", "attr"), ACCESSORS, ids=IDS)
def test_a_function_without_the_decorator_is_refused_by_name(
    accessor: Callable[[Any], Any], decorator: str, deco: Deco, attr: str
) -> None:
    def plain() -> None: ...

    expected = f"{attr}() needs a function decorated with @{decorator}; got "
    for wrong in [plain, third_party(plain), *(d(plain) for d in other_decorators(attr))]:
        with pytest.raises(TypeError) as info:
            accessor(wrong)
        assert str(info.value).startswith(expected)
        assert "plain" in str(info.value)
    with pytest.raises(TypeError, match=rf"^{attr}\(\) needs .* got 3$"):
        accessor(3)


def test_the_outermost_of_two_identical_decorators_answers_like_the_attribute() -> None:
    @timer("outer")
    @timer("inner")
    def step() -> None: ...

    step()
    attribute_form = step.timer_stats  # type: ignore[attr-defined]
    assert timer_stats(step).name == attribute_form().name == "outer"


@pytest.mark.parametrize("accessor", [cache_info, cache_clear], ids=["cache_info", "cache_clear"])
def test_an_lru_cache_function_is_not_taken_for_a_cached_one(
    accessor: Callable[[Any], Any],
) -> None:
    @functools.lru_cache
    def square(x: int) -> int:
        return x * x

    square(2)
    with pytest.raises(TypeError, match="decorated with @cache_result"):
        accessor(square)
    assert square.cache_info().currsize == 1  # cache_clear did not clear it either
    with pytest.raises(TypeError, match=r"^cache_invalidate\(\) needs"):
        cache_invalidate(square, 2)


def test_cache_clear_empties_the_cache_and_resets_its_counters() -> None:
    calls: list[int] = []

    @third_party
    @cache_result
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    square(2), square(2), square(3)
    cache_clear(square)
    assert cache_info(square) == vars(square)["__wrapped__"].cache_info()
    assert (cache_info(square).hits, cache_info(square).currsize) == (0, 0)
    square(2)
    assert calls == [2, 3, 2]


def test_cache_invalidate_drops_one_entry_and_says_whether_it_was_there() -> None:
    calls: list[tuple[int, int]] = []

    @third_party
    @cache_result
    def add(a: int, b: int = 1) -> int:
        calls.append((a, b))
        return a + b

    add(1), add(2)
    assert cache_invalidate(add, a=1) is True  # the key binds arguments: a=1 is add(1)
    assert cache_invalidate(add, 1) is False
    add(1), add(2)
    assert calls == [(1, 1), (2, 1), (1, 1)]


def test_cache_invalidate_takes_a_bound_method_or_the_instance_first() -> None:
    calls: list[int] = []

    class Model:
        @cache_result
        def predict(self, x: int) -> int:
            calls.append(x)
            return x

    model = Model()
    model.predict(1), model.predict(2)
    assert cache_invalidate(model.predict, 1) is True
    assert cache_invalidate(Model.predict, model, 2) is True
    assert cache_invalidate(model.predict, 2) is False
    model.predict(1), model.predict(2)
    assert calls == [1, 2, 1, 2]
