"""Decorator plumbing shared by every decorator in the package.

A decorator module supplies two wrapper factories, one for plain functions and one for
``async def`` functions, and `decorate` does the rest once, at decoration time:

- picks the factory for the function's kind (so an ``async def`` is wrapped by an
  ``async def`` and the decorator covers the awaited work, not coroutine creation);
- wraps generator and async generator functions, for the decorators that observe them, in
  one generator that delegates to the original and measures its iteration (`Iterated`);
- unwraps ``staticmethod``/``classmethod`` objects and wraps them again around the result;
- copies name, docstring, signature, defaults and ``__wrapped__`` (`functools.update_wrapper`),
  which also carries attributes such as ``timer_stats`` or ``cache_info`` set by inner
  decorators, so state accessors survive stacking in any order;
- attaches this decorator's own accessors (``fn.<decorator>_stats()`` and friends).

`bare_or_called` gives every decorator the ``@deco`` / ``@deco()`` / ``@deco(option=...)``
forms without repeating the check (after `function_or_option`, for the decorators that also
take one option positionally: ``@timer("load")``). `CallSignature` reads a function's
signature once and binds calls to it with one receiver rule (``self``/``cls`` left out).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# Defaults too, for tools that read them instead of the signature, onto a wrapper taking
# (*args, **kwargs), where the copies change no call. A wrapper with parameters of its own
# (cache_result's) has its defaults already. Absent on partials and callable objects.
_ASSIGNED = (*functools.WRAPPER_ASSIGNMENTS, "__defaults__", "__kwdefaults__")

SyncWrapperFactory = Callable[[Callable[..., Any]], Callable[..., Any]]
AsyncWrapperFactory = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]


@dataclass(frozen=True, slots=True)
class Iterated:
    """How one iteration of a decorated generator went (sync or async).

    A generator's work happens while it is iterated, not when it is called, so decorators
    that observe generators measure from the first ``next`` to the end: exhaustion, close
    (a ``break``, ``close()``, garbage collection) or an exception.

    Attributes:
        items: Values it yielded.
        inside_ns: Nanoseconds spent inside the generator: from each resumption (``next``,
            ``send``, ``throw``, ``close``) until it yielded, returned or raised. The
            consumer's work between items is not included; an async generator's awaits are.
        elapsed_ns: Nanoseconds from the first ``next`` to the end.
        closed: It was closed before it was exhausted.
        error: The exception it raised, else None.

    Example:
        >>> Iterated(items=3, inside_ns=5, elapsed_ns=9, closed=False, error=None).ending
        'exhaustion'
    """

    items: int
    inside_ns: int
    elapsed_ns: int
    closed: bool
    error: BaseException | None

    @property
    def ending(self) -> str:
        """How it ended, for log messages: ``exhaustion``, ``close`` or the exception's type."""
        if self.error is not None:
            return type(self.error).__name__
        return "close" if self.closed else "exhaustion"


#: Called with the call's ``(args, kwargs)`` when a decorated generator starts iterating;
#: returns what to call with its `Iterated` when the iteration ends.
IterationHook = Callable[[tuple[Any, ...], dict[str, Any]], Callable[[Iterated], None]]


def is_async_callable(fn: object) -> bool:
    """Whether calling `fn` returns an awaitable coroutine (functions, partials, callables)."""
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isroutine(fn) or inspect.isclass(fn):  # a class's own __call__ is not called
        return False
    call = getattr(fn, "__call__", None)  # noqa: B004 -- objects with an async __call__
    return inspect.iscoroutinefunction(call)


def decorate(
    fn: F,
    decorator: str,
    *,
    sync: SyncWrapperFactory,
    async_: AsyncWrapperFactory,
    attrs: Mapping[str, Any] | None = None,
    allow_generators: bool = True,
    generators: IterationHook | None = None,
) -> F:
    """Wrap `fn` with the factory for its kind and attach `attrs` to the wrapper.

    Args:
        fn: The function, method, ``staticmethod`` or ``classmethod`` being decorated.
        decorator: The decorator's name, for error messages.
        sync: Builds the wrapper for a plain function, taking ``(*args, **kwargs)`` or
            (cache_result's) the function's own parameters.
        async_: Builds the wrapper (an ``async def``) for a coroutine function.
        attrs: Attributes to set on the wrapper, e.g. ``{"timer_stats": snapshot}``.
        allow_generators: False where wrapping a generator function would be a bug
            (caching or retrying a generator object).
        generators: For decorators that observe generators: a generator or async generator
            function is wrapped in a generator (of the same kind, so
            ``inspect.isgeneratorfunction`` still holds) that delegates to it, ``send``,
            ``throw`` and ``close`` included, calls this hook when iteration starts and
            what it returned when iteration ends. Without it, generator functions get the
            `sync` wrapper, which sees only the call that creates the generator.

    Returns:
        The wrapper, with `fn`'s metadata.

    Raises:
        TypeError: `fn` is not callable, or is a generator function that is not allowed.
    """
    target = check_target(fn, decorator, allow_generators=allow_generators)
    wrapper: Callable[..., Any]
    if generators is not None and inspect.isgeneratorfunction(target):
        wrapper = _observed_generator(target, generators)
    elif generators is not None and inspect.isasyncgenfunction(target):
        wrapper = _observed_async_generator(target, generators)
    elif is_async_callable(target):
        wrapper = async_(target)
    else:
        wrapper = sync(target)
    code = getattr(wrapper, "__code__", None)
    named = code is not None and (code.co_argcount or code.co_kwonlyargcount)
    functools.update_wrapper(
        wrapper, target, assigned=functools.WRAPPER_ASSIGNMENTS if named else _ASSIGNED
    )
    if attrs:
        wrapper.__dict__.update(attrs)
    if isinstance(fn, (staticmethod, classmethod)):
        return type(fn)(wrapper)
    return wrapper  # type: ignore[return-value]


def _observed_generator(
    func: Callable[..., Generator[Any, Any, Any]], begin: IterationHook
) -> Callable[..., Generator[Any, Any, Any]]:
    # A generator function itself, so that what checks for one (pytest fixtures, FastAPI
    # dependencies, contextlib) still sees one. Its body, the call to `func` included, runs
    # at the first next(): that is when iteration starts.
    def observed(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        end = begin(args, kwargs)
        first = perf_counter_ns()
        inside = items = 0
        closed = False
        error: BaseException | None = None
        try:
            generator = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:  # `yield from`, spelled out to time each resumption
                resumed = perf_counter_ns()
                try:
                    item = generator.send(sent) if thrown is None else generator.throw(thrown)
                except StopIteration as stop:
                    return stop.value
                finally:
                    inside += perf_counter_ns() - resumed
                items += 1
                try:
                    sent, thrown = (yield item), None
                except GeneratorExit:
                    closed = True
                    resumed = perf_counter_ns()
                    try:
                        generator.close()
                    finally:
                        inside += perf_counter_ns() - resumed
                    raise
                except BaseException as exc:  # thrown in by the consumer: pass it on
                    sent, thrown = None, exc
        except BaseException as exc:
            if not (closed and isinstance(exc, GeneratorExit)):
                error = exc
            raise
        finally:
            end(Iterated(items, inside, perf_counter_ns() - first, closed, error))

    return observed


def _observed_async_generator(
    func: Callable[..., AsyncGenerator[Any, Any]], begin: IterationHook
) -> Callable[..., AsyncGenerator[Any, Any]]:
    # The same as `_observed_generator`, awaiting each step of the async generator.
    async def observed(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        end = begin(args, kwargs)
        first = perf_counter_ns()
        inside = items = 0
        closed = False
        error: BaseException | None = None
        try:
            generator = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                resumed = perf_counter_ns()
                try:
                    if thrown is None:
                        item = await generator.asend(sent)
                    else:
                        item = await generator.athrow(thrown)
                except StopAsyncIteration:
                    return
                finally:
                    inside += perf_counter_ns() - resumed
                items += 1
                try:
                    sent, thrown = (yield item), None
                except GeneratorExit:
                    closed = True
                    resumed = perf_counter_ns()
                    try:
                        await generator.aclose()
                    finally:
                        inside += perf_counter_ns() - resumed
                    raise
                except BaseException as exc:
                    sent, thrown = None, exc
        except BaseException as exc:
            if not (closed and isinstance(exc, GeneratorExit)):
                error = exc
            raise
        finally:
            end(Iterated(items, inside, perf_counter_ns() - first, closed, error))

    return observed


def check_target(fn: Any, decorator: str, *, allow_generators: bool = True) -> Callable[..., Any]:
    """The function `decorate` will wrap (unwrapped from a ``staticmethod``/``classmethod``),
    for decorators that build per-function state before calling `decorate`.

    Raises:
        TypeError: `fn` is not callable, or is a generator function that is not allowed.
    """
    target: Callable[..., Any] = unwrap_method(fn)
    if not callable(target):
        raise TypeError(
            f"@{decorator} can only decorate a callable, got {type(fn).__name__} {fn!r}"
        )
    if not allow_generators and (
        inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target)
    ):
        raise TypeError(
            f"@{decorator} cannot decorate generator function {target.__qualname__}: it would "
            "act on the generator object, not on the values it yields"
        )
    return target


def bare_or_called(fn: F | None, decorator: str, apply: Callable[[F], F]) -> F | Callable[[F], F]:
    """The one form of every decorator: ``@decorator`` (`fn` given) and ``@decorator()`` /
    ``@decorator(option=...)`` (`fn` is None).

    Args:
        fn: The decorator's first positional argument: the function in bare use, else None.
        decorator: The decorator's name, for the error message.
        apply: The decorator, with its options already checked.

    Returns:
        ``apply(fn)`` in bare use, else `apply`.

    Raises:
        TypeError: Something other than a function was passed positionally, such as
            ``@retry(3)`` instead of ``@retry(max_attempts=3)``.

    Example:
        >>> def twice(fn=None, /, *, label="x"):
        ...     return bare_or_called(fn, "twice", lambda f: lambda: (label, f(), f()))
        >>> twice(lambda: 1)(), twice(label="y")(lambda: 2)()
        (('x', 1, 1), ('y', 2, 2))
    """
    if fn is None:
        return apply
    if not is_decoratable(fn):
        raise TypeError(
            f"{decorator}() takes keyword arguments only; got the positional argument {fn!r}. "
            f"Use @{decorator} or @{decorator}(option=value)."
        )
    return apply(fn)


def function_or_option(first: Any, default: Any = None) -> tuple[Any, Any]:
    """Split the first positional argument of a decorator that also takes one option
    positionally (``timer(name)``, ``log_calls(logger)``, ``cache_result(ttl)``).

    Args:
        first: The function in bare use, else the option's value.
        default: The option's value in bare use.

    Returns:
        ``(function, default)`` in bare use, else ``(None, first)``: pass the function on to
        `bare_or_called` and check the value like the option's keyword form.

    Example:
        >>> function_or_option(print, default=60.0)
        (<built-in function print>, 60.0)
        >>> function_or_option(30)
        (None, 30)
    """
    return (first, default) if is_decoratable(first) else (None, first)


def is_decoratable(obj: object) -> bool:
    """Whether `obj` is something a decorator can wrap (a function in bare use, not an
    option's value)."""
    return callable(obj) or isinstance(obj, (staticmethod, classmethod))


def unwrap_method(fn: Any) -> Any:
    """The function inside a ``staticmethod`` or ``classmethod`` object, else `fn` itself
    (for reading a signature or a name before `decorate` unwraps it)."""
    return fn.__func__ if isinstance(fn, (staticmethod, classmethod)) else fn


_RECEIVER_NAMES = ("self", "cls")
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class CallSignature:
    """`fn`'s signature, read once at decoration time (through staticmethod/classmethod/partial).

    The receiver rule, the same for every decorator: the receiver is

    - the first positional parameter of a ``classmethod`` object, whatever its name;
    - nothing for a ``staticmethod`` object, whatever its first parameter is called;
    - else the first positional parameter when it is named ``self`` or ``cls`` *and* `fn` was
      defined in a class body, per its ``__qualname__`` (``Model.predict``, but not
      ``predict`` at module level nor ``Model.fit.<locals>.step``, a nested function).

    A ``staticmethod`` applied *over* a decorator hands it a plain function defined in a
    class body, so a first parameter named ``self`` or ``cls`` there counts as a receiver;
    partials and bound methods never have one (their signature already leaves it out).

    Attributes:
        signature: `fn`'s `inspect.Signature`; an empty one when it cannot be read (some
            builtins).
        readable: Whether `fn`'s signature could be read.
        receiver: Name of the receiver parameter to leave out (``self``/``cls``), or None.

    Example:
        >>> class Model:
        ...     def predict(self, x: int, scale: int = 2) -> int:
        ...         return x * scale
        >>> CallSignature(Model.predict).bind((Model(), 3), {})
        {'x': 3, 'scale': 2}
    """

    __slots__ = ("readable", "receiver", "signature")

    def __init__(self, fn: Any) -> None:
        target = unwrap_method(fn)
        try:
            self.signature = inspect.signature(target)
            self.readable = True
        except (TypeError, ValueError):  # some builtins have no signature
            self.signature = inspect.Signature()
            self.readable = False
        first = next(iter(self.signature.parameters.values()), None)
        self.receiver: str | None = None
        if first is None or first.kind not in _POSITIONAL or isinstance(fn, staticmethod):
            return
        if isinstance(fn, classmethod) or (
            first.name in _RECEIVER_NAMES and _defined_in_class(target)
        ):
            self.receiver = first.name

    def bind(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], *, apply_defaults: bool = True
    ) -> dict[str, Any]:
        """Arguments by parameter name, receiver left out.

        Args:
            args: The call's positional arguments (the receiver first, for a method).
            kwargs: The call's keyword arguments.
            apply_defaults: Fill in the parameters the call left out with their defaults
                (``*args``/``**kwargs`` as empty).

        Returns:
            A new dict from parameter name to value, in signature order.

        Raises:
            TypeError: The call does not fit the signature (Python's own message).
        """
        bound = self.signature.bind(*args, **kwargs)
        if apply_defaults:
            bound.apply_defaults()
        arguments = bound.arguments
        if self.receiver is not None:
            arguments.pop(self.receiver, None)
        return arguments

    def passed(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments a call passed, by parameter name (receiver and defaults left out),
        for logs: ``arg0``, ``arg1``... and the keywords when the call does not fit the
        signature (it is about to raise `TypeError` itself).

        Example:
            >>> def scale(x: int, factor: int = 2) -> int: ...
            >>> CallSignature(scale).passed((3,), {})
            {'x': 3}
            >>> CallSignature(scale).passed((1, 2, 3), {})
            {'arg0': 1, 'arg1': 2, 'arg2': 3}
        """
        try:
            return self.bind(args, kwargs, apply_defaults=False)
        except TypeError:
            return {f"arg{i}": value for i, value in enumerate(args)} | kwargs

    def by_name(
        self, target: Callable[..., Any], option: str, function: str
    ) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
        """A caller of `target` (an option's callable: an estimate, a fallback, labels) with a
        call's arguments by parameter name: those `target` declares (all of them if it takes
        ``**kwargs``), the receiver included when `target` names it.

        Args:
            target: The option's callable.
            option: The option's name, for the error message.
            function: The decorated function's name, for the error message.

        Returns:
            ``caller(args, kwargs)``, returning what `target` returns. Where either signature
            cannot be read, the caller passes the call's arguments on as they are.

        Raises:
            TypeError: `target` requires a parameter the call cannot pass it by name.

        Example:
            >>> def fit(X: list[int], y: list[int], epochs: int = 10) -> None: ...
            >>> size_of = CallSignature(fit).by_name(lambda X: 8 * len(X), "estimate", "fit")
            >>> size_of(([1, 2, 3], [0, 1, 0]), {"epochs": 5})
            24
        """
        try:
            wanted = inspect.signature(target).parameters
        except (TypeError, ValueError):  # no signature to read (some builtins)
            return lambda args, kwargs: target(*args, **kwargs)
        if not self.readable:
            return lambda args, kwargs: target(*args, **kwargs)
        by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        for parameter in wanted.values():
            if parameter.default is not inspect.Parameter.empty:
                continue
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY or (
                parameter.kind in by_name and parameter.name not in self.signature.parameters
            ):
                raise TypeError(
                    f"{option} {qualified_name(target)} needs parameter {parameter.name!r}, "
                    f"which {function}() does not pass by name; {option} is called with the "
                    "call's arguments by parameter name (the ones it declares)"
                )
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in wanted.values())
        chosen = None if takes_all else [n for n, p in wanted.items() if p.kind in by_name]
        receiver = self.receiver if chosen is None or self.receiver in chosen else None

        def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            arguments = self.bind(args, kwargs)
            if receiver is not None:
                arguments[receiver] = args[0]
            if chosen is not None:
                arguments = {name: arguments[name] for name in chosen if name in arguments}
            return target(**arguments)

        return call


def _defined_in_class(fn: Any) -> bool:
    """Whether `fn`'s ``__qualname__`` says it was defined in a class body."""
    if inspect.ismethod(fn):  # bound: the receiver is already left out of its signature
        return False
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(qualname, str):
        return False
    owner, dot, _ = qualname.rpartition(".")
    return bool(dot) and not owner.endswith("<locals>")


def module_name(fn: Any) -> str:
    """The module `fn` was defined in: its module logger is a decorator's default logger."""
    return getattr(unwrap_method(fn), "__module__", None) or __package__ or "mlops_decorators"


def qualified_name(fn: Callable[..., Any]) -> str:
    """The name logs and statistics use for `fn`: its ``__qualname__``.

    A partial is named after the function it wraps and a callable object after its class, so
    names stay stable across processes (a repr would carry a memory address).
    """
    fn = unwrap_method(fn)
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name if isinstance(name, str) else type(fn).__qualname__


def accessor(fn: Callable[..., object], name: str, decorator: str) -> Any:
    """The accessor ``name`` that ``@decorator`` attached to `fn` or to a function it wraps,
    for the typed module-level accessors (``timer_stats(fn)``, ``cache_info(fn)``, ...).

    The search follows ``__wrapped__`` (`inspect.unwrap`), so the accessor is found under
    any stack, including third-party `functools.wraps` decorators, on bound methods and on
    ``staticmethod``/``classmethod`` objects. Only an accessor defined in this package counts:
    `functools.lru_cache` also attaches a ``cache_info``.

    Args:
        fn: The decorated function, as the caller holds it.
        name: The attribute ``@decorator`` attaches, also the public accessor's name.
        decorator: The decorator's name, for the error message.

    Returns:
        The attached accessor (the caller annotates what calling it returns).

    Raises:
        TypeError: Neither `fn` nor anything along its ``__wrapped__`` chain carries
            ``@decorator``'s accessor.

    Example:
        >>> def plain() -> None: ...
        >>> accessor(plain, "timer_stats", "timer")
        Traceback (most recent call last):
        TypeError: timer_stats() needs a function decorated with @timer; got <function plain ...>
    """

    def attached(obj: Any) -> bool:
        module = getattr(getattr(obj, name, None), "__module__", None)
        return isinstance(module, str) and module.startswith(f"{__package__}.")

    found = inspect.unwrap(fn, stop=attached)
    if not attached(found):
        raise TypeError(f"{name}() needs a function decorated with @{decorator}; got {fn!r}")
    return getattr(found, name)
