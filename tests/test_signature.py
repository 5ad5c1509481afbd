"""`_core.CallSignature`: the signature read once, one receiver rule, binding."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_decorators._core import CallSignature


class Model:
    def predict(self, x: int, scale: int = 2) -> int:
        return x * scale

    @classmethod
    def load(cls, path: str) -> Model:
        return cls()

    @classmethod
    def renamed(klass, path: str) -> None:  # noqa: N804 -- the receiver rule ignores its name
        pass

    @staticmethod
    def helper(self: int, cls: int) -> int:
        return self + cls

    def __new__(cls) -> Model:
        return super().__new__(cls)

    def keyword_self(*, self: int) -> None:  # type: ignore[misc]
        pass

    def fit(self) -> Any:
        def step(self: int) -> int:  # a nested function, not a method
            return self

        return step


def module_level(self: int, cls: int) -> int:
    return self + cls


RECEIVERS = {
    "method": (Model.__dict__["predict"], "self"),
    "method through the class": (Model.predict, "self"),
    "classmethod object": (Model.__dict__["load"], "cls"),
    "classmethod object, any name": (Model.__dict__["renamed"], "klass"),
    "function for a classmethod applied on top": (Model.__dict__["load"].__func__, "cls"),
    # What a decorator under Python's implicit staticmethod sees: a function in a class body.
    "__new__": (Model.__dict__["__new__"].__func__, "cls"),
    "staticmethod object named self": (Model.__dict__["helper"], None),
    "keyword-only self": (Model.__dict__["keyword_self"], None),
    "module-level function named self": (module_level, None),
    "nested function in a method": (Model().fit(), None),
    "bound method": (Model().predict, None),
    "bound classmethod": (Model.load, None),
    "partial of a method": (functools.partial(Model.predict), None),
    "builtin": (len, None),
}


@pytest.mark.parametrize(("fn", "receiver"), RECEIVERS.values(), ids=RECEIVERS.keys())
def test_receiver_rule(fn: Any, receiver: str | None) -> None:
    assert CallSignature(fn).receiver == receiver


def test_a_staticmethod_applied_over_the_decorator_is_indistinguishable_from_a_method() -> None:
    # Documented limit: the decorator sees a plain function defined in a class body.
    assert CallSignature(Model.__dict__["helper"].__func__).receiver == "self"


def test_signature_is_read_through_staticmethod_classmethod_and_partial() -> None:
    assert str(CallSignature(Model.__dict__["load"]).signature) == "(cls, path: 'str') -> 'Model'"
    assert list(CallSignature(Model.__dict__["helper"]).signature.parameters) == ["self", "cls"]
    partial = functools.partial(Model.predict, Model(), scale=3)
    assert list(CallSignature(partial).signature.parameters) == ["x", "scale"]


def test_unreadable_signature_is_empty() -> None:
    sig = CallSignature(vars)
    assert sig.signature == inspect.Signature()
    assert not sig.readable
    assert CallSignature(Model.predict).readable
    with pytest.raises(TypeError):
        sig.bind((1,), {})


def test_bind_leaves_the_receiver_out_and_applies_defaults() -> None:
    sig = CallSignature(Model.predict)
    model = Model()
    assert sig.bind((model, 3), {}) == {"x": 3, "scale": 2}
    assert sig.bind((model,), {"x": 3}, apply_defaults=False) == {"x": 3}
    assert CallSignature(module_level).bind((1, 2), {}) == {"self": 1, "cls": 2}
    assert CallSignature(Model.__dict__["renamed"]).bind((Model,), {"path": "p"}) == {"path": "p"}


def test_bind_fills_var_arguments_and_keeps_signature_order() -> None:
    def f(a: int, *args: int, b: int = 1, **kwargs: int) -> None:
        pass

    sig = CallSignature(f)
    assert sig.bind((1,), {}) == {"a": 1, "args": (), "b": 1, "kwargs": {}}
    assert list(sig.bind((1, 2), {"z": 3, "b": 4})) == ["a", "args", "b", "kwargs"]


def test_bind_raises_when_the_call_does_not_fit() -> None:
    sig = CallSignature(Model.predict)
    with pytest.raises(TypeError, match="missing a required argument: 'x'"):
        sig.bind((Model(),), {})
    with pytest.raises(TypeError, match="unexpected keyword argument 'y'"):
        sig.bind((Model(), 1), {"y": 2})


@given(x=st.integers(), scale=st.none() | st.integers(), by_name=st.booleans())
def test_bind_agrees_with_the_call(x: int, scale: int | None, by_name: bool) -> None:
    model = Model()
    args: tuple[Any, ...] = (model,) if by_name else (model, x)
    kwargs: dict[str, Any] = {"x": x} if by_name else {}
    if scale is not None:
        kwargs["scale"] = scale
    bound = CallSignature(Model.predict).bind(args, kwargs)
    assert Model.predict(model, **bound) == Model.predict(*args, **kwargs)
