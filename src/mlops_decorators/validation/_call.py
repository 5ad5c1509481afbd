"""The validator of one decorated function, built once at decoration time.

Every parameter's annotation (or override) becomes a field of one throwaway pydantic model, so
pydantic generates all the schemas in one pass, with one configuration and shared definitions.
The fields' core schemas then go into one pydantic-core *arguments* schema, the kind
`pydantic.validate_call` builds: it binds and validates a call's ``(args, kwargs)`` in Rust and
returns them validated (coerced in lax mode). A failure is translated into an
`InputValidationError` that names parameters, never positions, and never shows a whole value.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from typing import Annotated, Any

from pydantic import ConfigDict, create_model
from pydantic_core import SchemaValidator, ValidationError, core_schema

from .._core import CallSignature, qualified_name
from .._stats import Counter
from .._values import DEFAULT_REDACT, REDACTED, Summarizer
from ..exceptions import InputErrorDetails, InputValidationError
from ._array import ERROR_TYPES, Array, uses_names

_CONFIG = ConfigDict(arbitrary_types_allowed=True)  # `x: np.ndarray` is an isinstance check
_VALUES = Summarizer(80, DEFAULT_REDACT)
_MODES: dict[Any, Any] = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
}
# Errors whose message is the text of a validator's exception, which may quote the value.
_QUOTING_ERRORS = frozenset({"value_error", "assertion_error"})
# pydantic's errors for a call that does not fit the signature: Python's TypeError instead.
_CALL_ERRORS = frozenset(
    {
        "missing_argument",
        "missing_positional_only_argument",
        "missing_keyword_only_argument",
        "unexpected_positional_argument",
        "unexpected_keyword_argument",
        "multiple_argument_values",
    }
)
RETURN = "return"  # a keyword, so never a parameter's name


class CallValidator:
    """Validates the calls (and optionally the results) of one function.

    Args:
        fn: The function as given to the decorator (a method object too).
        call: Its signature and receiver.
        specs: Overrides: parameter name -> type, ``Annotated[...]`` or `Array`.
        validate_return: Also build a validator for the return annotation.
        localns: Names visible where the function was defined, for string annotations.

    Raises:
        TypeError: An override names no parameter (or the receiver), an annotation cannot be
            resolved or is not a type pydantic can validate, or ``validate_return`` is asked
            without a return annotation.
    """

    __slots__ = (
        "_call",
        "_named",
        "_order",
        "_positional",
        "_var_args",
        "_var_kwargs",
        "by_parameter",
        "calls",
        "name",
        "needs_context",
        "rejected",
        "validate_arguments",
        "validate_result",
    )

    def __init__(
        self,
        fn: Any,
        call: CallSignature,
        specs: dict[str, Any],
        *,
        validate_return: bool,
        localns: dict[str, Any] | None,
    ) -> None:
        self.name = qualified_name(fn)
        self._call = call
        parameters = {
            name: p for name, p in call.signature.parameters.items() if name != call.receiver
        }
        self._check_specs(specs, parameters)
        globalns = _globals(fn)
        hints = {
            name: self._resolve(name, specs.get(name, p.annotation), globalns, localns)
            for name, p in parameters.items()
        }
        if validate_return:
            returns = call.signature.return_annotation
            if returns is inspect.Signature.empty:
                raise TypeError(
                    f"validate_return=True needs a return annotation on {self.name}(), "
                    "which has none"
                )
            hints[RETURN] = self._resolve(RETURN, returns, globalns, localns)
        schemas, definitions = self._schemas(hints)

        arguments = []
        var_args = var_kwargs = None
        self._var_args: str | None = None
        self._var_kwargs: str | None = None
        for name, p in call.signature.parameters.items():
            schema = schemas.get(name) or core_schema.any_schema()  # the receiver: anything
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                var_args, self._var_args = schema, name
            elif p.kind is inspect.Parameter.VAR_KEYWORD:
                var_kwargs, self._var_kwargs = schema, name
            else:
                if p.default is not inspect.Parameter.empty:
                    schema = _with_default(schema, p.default)
                arguments.append(core_schema.arguments_parameter(name, schema, mode=_MODES[p.kind]))
        kinds = {name: p.kind for name, p in call.signature.parameters.items()}
        self._order = {name: i for i, name in enumerate(kinds)}
        self._named = frozenset(name for name, kind in kinds.items() if kind in _MODES)
        self._positional = tuple(  # in order: pydantic reports positional arguments by index
            name
            for name, kind in kinds.items()
            if kind in _MODES and kind is not inspect.Parameter.KEYWORD_ONLY
        )
        signature_schema: Any = core_schema.arguments_schema(
            arguments, var_args_schema=var_args, var_kwargs_schema=var_kwargs
        )
        self.validate_arguments = SchemaValidator(
            _shared(signature_schema, definitions)
        ).validate_python
        if validate_return:  # else never set: `check_result` is only called with it
            returned = _shared(schemas[RETURN], definitions)
            self.validate_result = SchemaValidator(returned).validate_python
        self.needs_context = _uses_names([*schemas.values(), *definitions])
        self.calls = Counter()
        self.rejected = Counter()
        self.by_parameter = {name: Counter() for name in hints}

    def _check_specs(self, specs: dict[str, Any], parameters: dict[str, Any]) -> None:
        for name in specs:
            if name not in parameters:
                what = (
                    "is the receiver, which is never validated"
                    if name == self._call.receiver
                    else "names no parameter"
                )
                raise TypeError(
                    f"validate_input() override {name!r} {what} of {self.name}(); its "
                    f"parameters are: {', '.join(parameters) or '(none)'}"
                )

    def _resolve(
        self, name: str, annotation: Any, globalns: dict[str, Any], localns: dict[str, Any] | None
    ) -> Any:
        """`annotation` evaluated (strings, ``from __future__ import annotations``)."""
        if annotation is inspect.Parameter.empty:
            return Any  # unannotated: not checked
        if isinstance(annotation, Array):
            annotation = Annotated[Any, annotation]
        holder = types.SimpleNamespace(__annotations__={name: annotation})
        try:
            return typing.get_type_hints(holder, globalns, localns, include_extras=True)[name]
        except Exception as exc:
            where = "the return annotation" if name == RETURN else f"parameter {name!r}"
            raise TypeError(
                f"validate_input cannot resolve {where} of {self.name}(): {annotation!r} "
                f"({type(exc).__name__}: {exc}); define the names it uses before the function"
                + ("" if name == RETURN else f", or give a spec: @validate_input({name}=...)")
            ) from None

    def _schemas(self, hints: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """Each hint's core schema, and the definitions they share."""
        # Fields are called p0, p1...: a parameter may be called `json` or `_x`, which a model
        # field may not.
        fields = {f"p{i}": (hint, ...) for i, hint in enumerate(hints.values())}
        try:
            schema = _model_schema(fields)
        except Exception:
            raise self._unsupported(hints) from None
        definitions = []
        if schema["type"] == "definitions":
            definitions, schema = schema["definitions"], schema["schema"]
        built = schema["schema"]["fields"]
        return {name: built[f"p{i}"]["schema"] for i, name in enumerate(hints)}, definitions

    def _unsupported(self, hints: dict[str, Any]) -> TypeError:
        """The error naming the first hint pydantic cannot build a schema for."""
        for name, hint in hints.items():
            try:
                _model_schema({"p": (hint, ...)})
            except Exception as exc:
                where = "the return annotation" if name == RETURN else f"parameter {name!r}"
                reason = str(exc).splitlines()[0]
                return TypeError(
                    f"validate_input cannot validate {where} of {self.name}(): {hint!r} is not "
                    f"something pydantic can check ({reason}). Give a type, a pydantic model, "
                    "an Annotated[...] or an Array(...)"
                )
        return TypeError(f"validate_input cannot build a validator for {self.name}()")

    def check_result(self, result: Any, strict: bool | None, context: Any) -> Any:
        """`result` validated against the return annotation (coerced in lax mode).

        Raises:
            InputValidationError: The result does not fit.
        """
        try:
            return self.validate_result(result, strict=strict, context=context)
        except ValidationError as exc:
            problem = self.reject_result(exc)
        raise problem  # outside the except clause: pydantic's error is not chained

    def reject(
        self, error: ValidationError, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Exception:
        """The exception to raise for a call whose arguments failed: Python's own
        `TypeError` when the call does not fit the signature, else `InputValidationError`."""
        problems = error.errors(include_url=False)
        if any(problem["type"] in _CALL_ERRORS for problem in problems):
            try:
                self._call.bind(args, kwargs)
            except TypeError as exc:
                return TypeError(f"{self.name}(): {exc}")
        details = [self._detail(p["loc"], p) for p in problems]
        details.sort(key=lambda detail: self._order.get(detail["parameter"], 0))  # stable
        return self._report(details)

    def reject_result(self, error: ValidationError) -> InputValidationError:
        """The exception to raise for a result that failed ``validate_return``."""
        return self._report([_detail(RETURN, p["loc"], p) for p in error.errors(include_url=False)])

    def _report(self, details: list[InputErrorDetails]) -> InputValidationError:
        self.rejected.increment()
        for parameter in {detail["parameter"] for detail in details}:
            counter = self.by_parameter.get(parameter)
            if counter is not None:
                counter.increment()
        return InputValidationError(self.name, details)

    def _detail(self, loc: tuple[str | int, ...], problem: Any) -> InputErrorDetails:
        first, rest = loc[0], loc[1:]
        if isinstance(first, int):
            if first < len(self._positional):
                return _detail(self._positional[first], rest, problem)
            index = first - len(self._positional)
            return _detail(self._var_args or "args", (index, *rest), problem)
        if first in self._named or self._var_kwargs is None:
            return _detail(first, rest, problem)
        return _detail(self._var_kwargs, loc, problem)


def _detail(parameter: str, path: tuple[str | int, ...], problem: Any) -> InputErrorDetails:
    secret = _VALUES.is_secret(parameter) or any(
        isinstance(step, str) and _VALUES.is_secret(step) for step in path
    )
    got = REDACTED if secret else _VALUES.value(problem["input"])
    kind, context = problem["type"], problem.get("ctx") or {}
    message: str = problem["msg"]
    if kind in ERROR_TYPES:
        expected = context["expected"]
    elif secret:  # the context of a validator's error holds that error, which may quote
        expected = kind
        if kind in _QUOTING_ERRORS:
            message = f"{message.partition(',')[0]} (not shown: the name looks like a secret)"
    else:
        shown = ", ".join(f"{key}={value!r}" for key, value in context.items())
        expected = f"{kind}({shown})" if shown else kind
        if kind != "missing":
            message = f"{message} (got {got})"
    return InputErrorDetails(
        parameter=parameter, path=tuple(path), message=message, expected=expected, got=got
    )


def _model_schema(fields: dict[str, Any]) -> Any:
    """The core schema of a model with `fields`, complete or an exception saying why not
    (such as a model among the types whose own annotations name something undefined)."""
    model = create_model("ValidateInputArguments", __config__=_CONFIG, **fields)
    model.model_rebuild(raise_errors=True)
    return model.__pydantic_core_schema__


def _with_default(schema: Any, default: Any) -> Any:
    try:
        hash(default)
    except TypeError:  # pydantic would deep-copy an unhashable default on every call
        return core_schema.with_default_schema(schema, default_factory=lambda: default)
    return core_schema.with_default_schema(schema, default=default)


def _shared(schema: Any, definitions: list[Any]) -> Any:
    return core_schema.definitions_schema(schema, definitions) if definitions else schema


def _uses_names(schema: Any) -> bool:
    """Whether any `Array` in `schema` names a dimension."""
    if isinstance(schema, dict):
        return any(_uses_names(value) for value in schema.values())
    if isinstance(schema, (list, tuple)):  # a union's choices may be (schema, label) pairs
        return any(_uses_names(value) for value in schema)
    return uses_names(schema)


def _globals(fn: Any) -> dict[str, Any]:
    """The module namespace `fn`'s annotations were written in."""
    target = inspect.unwrap(getattr(fn, "__func__", fn))  # through wraps-decorators
    while isinstance(target, functools.partial):
        target = inspect.unwrap(target.func)
    namespace = getattr(target, "__globals__", None)
    if namespace is None:
        module = inspect.getmodule(target)
        namespace = vars(module) if module is not None else {}
    return namespace
