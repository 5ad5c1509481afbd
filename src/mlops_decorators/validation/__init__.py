"""`validate_input`: reject malformed arguments before they reach the function.

Arguments are validated against the function's annotations by pydantic (types, models,
``Annotated`` constraints), and arrays or tensors against an `Array` spec (shape with named
dimensions, dtype, NaN/inf, value ranges). The validator is built once, when the function is
decorated; pydantic (and numpy or torch, when a spec needs them) is imported then, never when
this module is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .. import _checks
from .._core import CallSignature, accessor, bare_or_called, decorate
from ._array import DIMS, Array

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    P = ParamSpec("P")

R = TypeVar("R")

__all__ = ["Array", "ValidationStats", "validate_input", "validate_input_stats"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True, slots=True)
class ValidationStats:
    """Counts of the calls of one function decorated with `validate_input`.

    Attributes:
        name: The function's qualified name.
        calls: Calls made, rejected ones included.
        rejected: Calls that raised `InputValidationError` (for their arguments or, with
            ``validate_return=True``, their result).
        by_parameter: Rejected calls per parameter name (``"return"`` for results), for the
            parameters that were rejected at least once.

    Example:
        >>> @validate_input
        ... def scale(x: float) -> float:
        ...     return 2 * x
        >>> scale(1.5)
        3.0
        >>> try:
        ...     scale("tall")
        ... except ValueError:
        ...     pass
        >>> validate_input_stats(scale)
        ValidationStats(name='scale', calls=2, rejected=1, by_parameter={'x': 1})
    """

    name: str
    calls: int
    rejected: int
    by_parameter: dict[str, int]


def validate_input_stats(fn: Callable[..., Any]) -> ValidationStats:
    """The `ValidationStats` of a function decorated with `validate_input`, found through any
    stack of decorators (the typed form of ``fn.validate_input_stats()``).

    Args:
        fn: The decorated function (or a method, or anything wrapping it).

    Returns:
        An immutable snapshot of its counts.

    Raises:
        TypeError: `fn` is not decorated with `validate_input`.

    Example:
        >>> @validate_input
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> double("21")
        42
        >>> validate_input_stats(double).calls
        1
    """
    snapshot: Callable[[], ValidationStats] = accessor(fn, "validate_input_stats", "validate_input")
    return snapshot()


@overload
def validate_input(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def validate_input(
    fn: None = None,
    /,
    *,
    strict: bool = False,
    validate_return: bool = False,
    specs: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def validate_input(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    strict: bool = False,
    validate_return: bool = False,
    specs: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> Callable[..., Any]:
    """Validate every call's arguments against the annotations; reject bad calls at the gate.

    Annotations are read with pydantic v2: plain types, ``Annotated[int, Field(gt=0)]``,
    pydantic models (a dict becomes the model), dataclasses, TypedDicts, ``Literal``, unions;
    ``Annotated[np.ndarray, Array(...)]`` for arrays and tensors. String annotations
    (``from __future__ import annotations``) are resolved in the function's module and where
    it was defined. Unannotated parameters and the receiver (``self``/``cls``) are not checked.
    In lax mode the function receives the coerced values (``"32"`` becomes ``32``).

    A rejected call raises `InputValidationError` (a `ValueError`) that lists every failing
    argument by parameter name, with the path inside nested values, what was expected and a
    summary of what was got (never an array's contents, never a secret-looking parameter's
    value); the function is not called. A call that does not fit the signature raises
    `TypeError`, as it would without the decorator.

    Args:
        strict: Reject values that would need coercion (``"32"`` for an ``int``). `Array`
            specs follow their own ``coerce`` option.
        validate_return: Validate the result against the return annotation too (the awaited
            result of an ``async def``); a bad result raises `InputValidationError` naming
            the ``return value``.
        specs: Overrides as a mapping, for parameters whose names are this decorator's
            options: ``specs={"strict": bool}``.
        **overrides: A spec for one parameter by name, replacing its annotation: a type, a
            pydantic model, an ``Annotated[...]`` or an `Array`.

    Returns:
        The decorated function (``@validate_input``), or a decorator when called with options.
        ``fn.validate_input_stats()`` and `validate_input_stats` return its counts.

    Raises:
        TypeError: At decoration: an option has the wrong type, an override names no
            parameter, an annotation cannot be resolved or validated, or
            ``validate_return=True`` on a function without a return annotation.

    Example:
        >>> from pydantic import BaseModel, Field
        >>> class Config(BaseModel):
        ...     lr: float = Field(gt=0)
        >>> @validate_input
        ... def train(epochs: int, config: Config) -> float:
        ...     return epochs * config.lr
        >>> train("3", {"lr": 0.5})
        1.5
        >>> train(3, {"lr": -1})
        Traceback (most recent call last):
        mlops_decorators.exceptions.InputValidationError: train(): argument 'config.lr': Input should be greater than 0 (got -1)
    """  # noqa: E501 -- a doctest's expected output is one line
    _checks.flag("strict", strict)
    _checks.flag("validate_return", validate_return)
    chosen = _specs(specs, overrides)

    def apply(fn: Callable[P, R]) -> Callable[P, R]:
        from pydantic_core import ArgsKwargs, ValidationError

        from ._call import CallValidator

        call = CallSignature(fn)
        if not call.readable:
            raise TypeError(f"@validate_input cannot read the signature of {fn!r}")
        checker = CallValidator(
            fn, call, chosen, validate_return=validate_return, localns=_caller_namespace()
        )
        validate, reject, count_call = (
            checker.validate_arguments,
            checker.reject,
            checker.calls.increment,
        )
        check_result = checker.check_result if validate_return else None
        strict_or_none = True if strict else None  # None: each model's own configuration
        needs_context = checker.needs_context

        def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
            def validated(*args: Any, **kwargs: Any) -> Any:
                count_call()
                context: Any = {DIMS: {}} if needs_context else None  # Array names, per call
                try:
                    args, kwargs = validate(
                        ArgsKwargs(args, kwargs), strict=strict_or_none, context=context
                    )
                except ValidationError as exc:
                    problem = reject(exc, args, kwargs)
                else:
                    if check_result is None:
                        return func(*args, **kwargs)
                    return check_result(func(*args, **kwargs), strict_or_none, context)
                raise problem  # outside the except: pydantic's error quotes values; never chain it

            return validated

        def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
            async def validated(*args: Any, **kwargs: Any) -> Any:
                count_call()
                context: Any = {DIMS: {}} if needs_context else None  # Array names, per call
                try:
                    args, kwargs = validate(
                        ArgsKwargs(args, kwargs), strict=strict_or_none, context=context
                    )
                except ValidationError as exc:
                    problem = reject(exc, args, kwargs)
                else:
                    if check_result is None:
                        return await func(*args, **kwargs)
                    return check_result(await func(*args, **kwargs), strict_or_none, context)
                raise problem

            return validated

        def validate_input_stats() -> ValidationStats:
            return ValidationStats(
                name=checker.name,
                calls=checker.calls.value,
                rejected=checker.rejected.value,
                by_parameter={
                    name: count.value for name, count in checker.by_parameter.items() if count.value
                },
            )

        return decorate(
            fn,
            "validate_input",
            sync=make_sync,
            async_=make_async,
            attrs={"validate_input_stats": validate_input_stats},
        )

    return bare_or_called(fn, "validate_input", apply)


def _specs(specs: Mapping[str, Any] | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides of both forms, merged (a name given twice is refused)."""
    if specs is None:
        return overrides
    if not isinstance(specs, Mapping) or not all(isinstance(name, str) for name in specs):
        raise _checks.wrong_type("specs", "a mapping of parameter names to specs or None", specs)
    twice = sorted(set(specs) & set(overrides))
    if twice:
        raise TypeError(
            f"validate_input() got a spec for {twice[0]!r} both in specs= and as a keyword"
        )
    return {**specs, **overrides}


def _caller_namespace() -> dict[str, Any] | None:
    """The local names where the decorator was applied, for string annotations that name
    local classes: a function body's, or a class body's together with the scopes enclosing
    the class (inner names first, as Python looks them up); None at module level."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    scopes = []
    while frame is not None and frame.f_locals is not frame.f_globals:
        scopes.append(frame.f_locals)
        if "__module__" not in frame.f_locals or "__qualname__" not in frame.f_locals:
            break  # a function body: what encloses it is visible only through its closure
        frame = frame.f_back  # a class body: go on to the scope that runs the class statement
    if not scopes:
        return None
    namespace: dict[str, Any] = {}
    for scope in reversed(scopes):
        namespace.update(scope)
    return namespace
