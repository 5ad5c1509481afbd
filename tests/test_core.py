"""The shared decorator plumbing in `mlops_decorators._core`, through a tiny recording
decorator built on it, and through the real `timer` and `log_calls` for stacking."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import pytest

from fakes import FakeClock
from mlops_decorators import _core, log_calls, timer
from mlops_decorators._core import (
    Iterated,
    bare_or_called,
    decorate,
    function_or_option,
    is_async_callable,
    is_decoratable,
    qualified_name,
)


def tracing(
    events: list[str], *, allow_generators: bool = True, attrs: dict[str, Any] | None = None
) -> Callable[[Any], Any]:
    """A decorator that records which wrapper ran and when its call ended."""

    def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            events.append("sync start")
            result = func(*args, **kwargs)
            events.append("sync end")
            return result

        return wrapper

    def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            events.append("async start")
            result = await func(*args, **kwargs)
            events.append("async end")
            return result

        return wrapper

    def apply(fn: Any) -> Any:
        return decorate(
            fn,
            "tracing",
            sync=make_sync,
            async_=make_async,
            attrs=attrs,
            allow_generators=allow_generators,
        )

    return apply


def test_plain_function_gets_the_sync_wrapper() -> None:
    events: list[str] = []

    @tracing(events)
    def add(a: int, b: int) -> int:
        events.append("body")
        return a + b

    assert not inspect.iscoroutinefunction(add)
    assert add(1, 2) == 3
    assert events == ["sync start", "body", "sync end"]


async def test_async_function_gets_an_async_wrapper_covering_the_awaited_work() -> None:
    events: list[str] = []

    @tracing(events)
    async def fetch(x: int) -> int:
        events.append("body before await")
        await asyncio.sleep(0)
        events.append("body after await")
        return x * 2

    assert inspect.iscoroutinefunction(fetch)
    coroutine = fetch(21)
    assert events == []  # creating the coroutine runs nothing
    assert await coroutine == 42
    assert events == ["async start", "body before await", "body after await", "async end"]


def test_metadata_signature_and_wrapped_are_preserved() -> None:
    def original(a: int, b: str = "x", *, flag: bool = False) -> str:
        """Docstring."""
        return b * a

    original.custom = "kept"  # type: ignore[attr-defined]
    wrapped = tracing([])(original)
    assert wrapped is not original
    assert wrapped.__wrapped__ is original
    assert wrapped.__name__ == "original"
    assert wrapped.__qualname__ == original.__qualname__
    assert wrapped.__doc__ == "Docstring."
    assert wrapped.__module__ == __name__
    assert wrapped.__annotations__ == original.__annotations__
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped.custom == "kept"
    assert wrapped.__defaults__ == ("x",)
    assert wrapped.__kwdefaults__ == {"flag": False}
    assert wrapped(2, flag=True) == "xx"  # the copied defaults change no call
    partial = tracing([])(functools.partial(original, 2))
    assert partial.__defaults__ is None  # a partial has none to copy


def test_attrs_are_attached_to_the_wrapper() -> None:
    def stats() -> str:
        return "snapshot"

    @tracing([], attrs={"tracing_stats": stats})
    def fn() -> None:
        pass

    assert fn.tracing_stats() == "snapshot"


class Service:
    events: list[str] = []  # noqa: RUF012 -- shared on purpose, reset per test

    @tracing(events, attrs={"tracing_stats": lambda: "static"})
    @staticmethod
    def static(x: int) -> int:
        return x + 1

    @tracing(events, attrs={"tracing_stats": lambda: "class"})
    @classmethod
    def build(cls, x: int) -> tuple[type, int]:
        return cls, x

    @tracing(events)
    def method(self, x: int) -> tuple[Service, int]:
        return self, x

    @tracing(events)
    async def amethod(self, x: int) -> int:
        return x

    @tracing(events)
    @classmethod
    async def aclass(cls, x: int) -> tuple[type, int]:
        return cls, x


class SubService(Service):
    pass


def test_staticmethod_and_classmethod_objects_are_rewrapped() -> None:
    Service.events.clear()
    assert isinstance(Service.__dict__["static"], staticmethod)
    assert isinstance(Service.__dict__["build"], classmethod)
    assert Service.static(1) == 2
    assert Service().static(1) == 2
    assert SubService.build(5) == (SubService, 5)
    assert Service().build(5) == (Service, 5)
    assert Service.static.tracing_stats() == "static"
    assert Service.build.tracing_stats() == "class"
    assert Service.events == ["sync start", "sync end"] * 4


async def test_methods_sync_and_async() -> None:
    Service.events.clear()
    service = Service()
    assert service.method(3) == (service, 3)
    assert await service.amethod(4) == 4
    assert await SubService.aclass(6) == (SubService, 6)
    assert Service.events == ["sync start", "sync end"] + ["async start", "async end"] * 2


class AsyncCallable:
    async def __call__(self, x: int) -> int:
        await asyncio.sleep(0)
        return x + 1


class SyncCallable:
    def __call__(self, x: int) -> int:
        return x - 1


async def test_callable_objects_are_dispatched_by_their_call() -> None:
    events: list[str] = []
    async_wrapped = tracing(events)(AsyncCallable())
    sync_wrapped = tracing(events)(SyncCallable())
    assert inspect.iscoroutinefunction(async_wrapped)
    assert await async_wrapped(1) == 2
    assert sync_wrapped(1) == 0
    assert events == ["async start", "async end", "sync start", "sync end"]


async def test_partials_of_async_functions_are_async() -> None:
    async def scale(factor: int, x: int) -> int:
        return factor * x

    wrapped = tracing([])(functools.partial(scale, 3))
    assert inspect.iscoroutinefunction(wrapped)
    assert await wrapped(2) == 6


def test_a_class_with_async_call_is_called_synchronously() -> None:
    """Calling the class builds an instance; its async ``__call__`` is not what runs."""
    assert is_async_callable(AsyncCallable())
    assert not is_async_callable(AsyncCallable)
    wrapped = tracing([])(AsyncCallable)
    assert isinstance(wrapped(), AsyncCallable)


def test_non_callable_is_refused() -> None:
    with pytest.raises(TypeError, match=r"@tracing can only decorate a callable, got int 3"):
        tracing([])(3)


def gen() -> Generator[int, None, None]:
    yield 1


async def agen() -> Any:
    yield 1


@pytest.mark.parametrize("fn", [gen, agen])
def test_generator_functions_refused_when_not_allowed(fn: Callable[..., Any]) -> None:
    message = rf"@tracing cannot decorate generator function {fn.__name__}: it would act on"
    with pytest.raises(TypeError, match=message):
        tracing([], allow_generators=False)(fn)


def test_generator_functions_wrapped_when_allowed() -> None:
    assert list(tracing([])(gen)()) == [1]


# --- generators: iteration observed through one delegating generator --------------------


def observing(
    runs: list[tuple[tuple[Any, ...], Iterated]],
) -> Callable[[Any], Any]:
    """A decorator that observes generators: each iteration's call arguments and outcome."""

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[Iterated], None]:
        return lambda run: runs.append((args, run))

    def apply(fn: Any) -> Any:
        return decorate(fn, "observing", sync=lambda f: f, async_=lambda f: f, generators=begin)

    return apply


@pytest.fixture
def ticking(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(0.0)
    monkeypatch.setattr(_core, "perf_counter_ns", clock.ns)
    return clock


def test_generator_iteration_is_observed_from_first_next_to_exhaustion(
    ticking: FakeClock,
) -> None:
    runs: list[tuple[tuple[Any, ...], Iterated]] = []

    @observing(runs)
    def batches(n: int) -> Generator[int, None, str]:
        for i in range(n):
            ticking.advance(1)  # each batch takes 1 s to produce
            yield i
        return "done"

    assert inspect.isgeneratorfunction(batches)
    iterator = batches(3)
    ticking.advance(100)  # created long before it is iterated
    assert runs == []
    consumed = []
    for item in iterator:
        consumed.append(item)
        ticking.advance(10)  # the consumer's work between items
    assert consumed == [0, 1, 2]
    ((args, run),) = runs
    assert args == (3,)
    assert run == Iterated(
        items=3, inside_ns=3 * 10**9, elapsed_ns=33 * 10**9, closed=False, error=None
    )
    assert run.ending == "exhaustion"
    with pytest.raises(StopIteration) as stop:
        next(batches(0))
    assert stop.value.value == "done"  # the return value passes through


def test_generator_send_throw_and_close_are_delegated() -> None:
    runs: list[tuple[tuple[Any, ...], Iterated]] = []
    events: list[str] = []

    @observing(runs)
    def echo() -> Generator[str, str, None]:
        received = "start"
        try:
            while True:
                try:
                    received = yield received
                except KeyError:
                    received = "recovered"
        finally:
            events.append("inner finally")

    gen = echo()
    assert next(gen) == "start"
    assert gen.send("a") == "a"
    assert gen.throw(KeyError("k")) == "recovered"
    gen.close()
    assert events == ["inner finally"]
    assert runs[0][1].items == 3
    assert runs[0][1].closed
    assert runs[0][1].error is None
    assert runs[0][1].ending == "close"


def test_generator_errors_propagate_unchanged_and_are_observed() -> None:
    runs: list[tuple[tuple[Any, ...], Iterated]] = []
    error = ValueError("bad row")

    @observing(runs)
    def rows() -> Generator[int, None, None]:
        yield 1
        raise error

    with pytest.raises(ValueError, match="bad row") as info:
        list(rows())
    assert info.value is error
    assert runs[0][1].error is error
    assert runs[0][1].items == 1
    assert runs[0][1].ending == "ValueError"
    gen = rows()
    next(gen)
    with pytest.raises(RuntimeError, match="thrown"):
        gen.throw(RuntimeError("thrown"))  # not caught inside: it ends the iteration
    assert isinstance(runs[1][1].error, RuntimeError)


def test_generators_not_iterated_are_not_observed_and_abandoned_ones_are_closed() -> None:
    runs: list[tuple[tuple[Any, ...], Iterated]] = []

    @observing(runs)
    def numbers() -> Generator[int, None, None]:
        yield from range(10)

    numbers()  # created, never iterated
    gen = numbers()
    next(gen)
    del gen  # garbage collection closes it
    gc.collect()
    (run,) = [run for _, run in runs]
    assert (run.items, run.closed, run.error) == (1, True, None)


def test_generator_bad_arguments_raise_at_first_next() -> None:
    runs: list[tuple[tuple[Any, ...], Iterated]] = []

    @observing(runs)
    def one(a: int) -> Generator[int, None, None]:
        yield a

    gen = one(1, 2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        next(gen)
    assert isinstance(runs[0][1].error, TypeError)


async def test_async_generator_iteration_is_observed(ticking: FakeClock) -> None:
    runs: list[tuple[tuple[Any, ...], Iterated]] = []
    events: list[str] = []

    @observing(runs)
    async def stream(n: int) -> AsyncIterator[int]:
        try:
            for i in range(n):
                await asyncio.sleep(0)
                ticking.advance(2)
                received = yield i
                if received == "skip":
                    events.append("skipped")
        finally:
            events.append("inner finally")

    assert inspect.isasyncgenfunction(stream)
    consumed = []
    async for item in stream(2):
        consumed.append(item)
        ticking.advance(5)
    assert consumed == [0, 1]
    assert runs[0][1] == Iterated(2, 4 * 10**9, 14 * 10**9, closed=False, error=None)

    gen = stream(5)
    assert await gen.asend(None) == 0
    assert await gen.asend("skip") == 1
    await gen.aclose()
    assert events == ["inner finally", "skipped", "inner finally"]
    assert (runs[1][1].items, runs[1][1].closed, runs[1][1].error) == (2, True, None)


async def test_async_generator_errors_and_throws() -> None:
    runs: list[tuple[tuple[Any, ...], Iterated]] = []

    @observing(runs)
    async def stream() -> AsyncIterator[int]:
        try:
            yield 1
        except KeyError:
            yield 2
        raise ValueError("broken")

    gen = stream()
    assert await gen.__anext__() == 1
    assert await gen.athrow(KeyError("k")) == 2
    with pytest.raises(ValueError, match="broken"):
        await gen.__anext__()
    assert isinstance(runs[0][1].error, ValueError)
    assert runs[0][1].items == 2


def test_without_a_hook_generator_functions_get_the_sync_wrapper() -> None:
    events: list[str] = []
    wrapped = tracing(events)(gen)
    assert list(wrapped()) == [1]
    assert events == ["sync start", "sync end"]  # only the call that created the generator


def test_bare_or_called() -> None:
    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.applied = True  # type: ignore[attr-defined]
        return fn

    def target() -> None:
        pass

    assert bare_or_called(None, "deco", apply) is apply
    assert bare_or_called(target, "deco", apply) is target
    assert target.applied  # type: ignore[attr-defined]
    with pytest.raises(TypeError) as info:
        bare_or_called(3, "deco", apply)  # type: ignore[arg-type]
    message = str(info.value)
    assert "deco() takes keyword arguments only" in message
    assert "positional argument 3" in message
    assert "@deco(option=value)" in message


def test_function_or_option() -> None:
    def target() -> None:
        pass

    assert function_or_option(target, default=60.0) == (target, 60.0)
    method = staticmethod(target)
    assert function_or_option(method) == (method, None)
    assert function_or_option("load") == (None, "load")
    assert function_or_option(None, default=60.0) == (None, None)  # None is a value too


def test_is_decoratable() -> None:
    assert is_decoratable(print)
    assert is_decoratable(staticmethod(print))
    assert is_decoratable(classmethod(print))
    assert is_decoratable(SyncCallable())
    assert not is_decoratable(3)
    assert not is_decoratable("name")
    assert not is_decoratable(None)


def test_qualified_name() -> None:
    def local() -> None:
        pass

    assert qualified_name(local) == "test_qualified_name.<locals>.local"
    assert qualified_name(staticmethod(local)) == "test_qualified_name.<locals>.local"
    assert qualified_name(Service.method) == "Service.method"
    assert qualified_name(SyncCallable()) == "SyncCallable"
    assert qualified_name(functools.partial(local)) == "test_qualified_name.<locals>.local"
    assert qualified_name(functools.partial(functools.partial(Service.method))) == "Service.method"


STACKINGS = {
    "timer outside": lambda f: timer(log_calls(f)),
    "timer inside": lambda f: log_calls(timer(f)),
    "timer in the middle": lambda f: log_calls(timer(tracing([])(f))),
    "called forms": lambda f: log_calls(level="DEBUG")(timer(name="stacked")(f)),
}


@pytest.mark.parametrize("stack", STACKINGS.values(), ids=STACKINGS.keys())
def test_stats_accessor_survives_stacking_in_any_order(stack: Callable[[Any], Any]) -> None:
    def work(x: int) -> int:
        return x * 2

    decorated = stack(work)
    assert decorated(2) == 4
    assert decorated.timer_stats().count == 1
    assert inspect.signature(decorated) == inspect.signature(work)


@pytest.mark.parametrize("stack", STACKINGS.values(), ids=STACKINGS.keys())
async def test_stacked_async_functions_stay_async(stack: Callable[[Any], Any]) -> None:
    async def work(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    decorated = stack(work)
    assert inspect.iscoroutinefunction(decorated)
    assert await decorated(2) == 4
    assert decorated.timer_stats().count == 1


def test_stats_accessor_survives_stacking_on_staticmethod_objects() -> None:
    class Model:
        @log_calls
        @timer
        @staticmethod
        def predict(x: int) -> int:
            return x

        @timer
        @log_calls
        @classmethod
        def load(cls) -> type:
            return cls

    assert Model.predict(1) == 1
    assert Model.load() is Model
    assert Model.predict.timer_stats().count == 1
    assert Model.load.timer_stats().count == 1
