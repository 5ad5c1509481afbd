"""`validate_input` on ordinary arguments: pydantic types, models and constraints, lax and
strict modes, overrides, return values, errors by parameter name with redaction, calls that do
not fit the signature, async functions, methods, variadic parameters, statistics and options.

This module uses ``from __future__ import annotations``, so every annotation here is a string
that the decorator resolves; `test_eager_annotations` covers the other case.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import pickle
import textwrap
from typing import Annotated, Any, Literal

import pytest
from pydantic import AfterValidator, BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from mlops_decorators import (
    InputValidationError,
    MlopsDecoratorsError,
    ValidationStats,
    timer,
    validate_input,
    validate_input_stats,
)


class Config(BaseModel):
    lr: Annotated[float, Field(gt=0)]
    api_key: str = "none"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Options(TypedDict):
    depth: int
    name: str


def problems(
    error: pytest.ExceptionInfo[InputValidationError],
) -> list[tuple[str, tuple[Any, ...]]]:
    return [(e["parameter"], e["path"]) for e in error.value.errors()]


# --- what is validated -------------------------------------------------------------------


def test_lax_mode_coerces_and_passes_the_coerced_values_on() -> None:
    seen = []

    @validate_input
    def resize(width: int, scale: float, tags: list[str]) -> None:
        seen.append((width, scale, tags))

    resize("32", 2, ("a", "b"))
    assert seen == [(32, 2.0, ["a", "b"])]
    assert [type(value) for value in seen[0]] == [int, float, list]


def test_strict_mode_rejects_values_that_need_coercion_also_inside_models() -> None:
    @validate_input(strict=True)
    def train(epochs: int, config: Config) -> int:
        return epochs

    assert train(3, Config(lr=0.1)) == 3
    with pytest.raises(InputValidationError) as error:
        train("3", Config(lr=0.1))
    assert problems(error) == [("epochs", ())]
    with pytest.raises(InputValidationError) as error:
        train(3, {"lr": "0.1"})  # strict inside the model too
    assert problems(error) == [("config", ("lr",))]


def test_models_dataclasses_typeddicts_literals_and_unions() -> None:
    @validate_input
    def run(
        config: Config, at: Point, options: Options, mode: Literal["fast", "exact"], n: int | str
    ) -> tuple[Any, ...]:
        return config, at, options, mode, n

    config, at, options, mode, n = run(
        {"lr": "0.5"}, {"x": "1", "y": 2}, {"depth": "3", "name": "a"}, "fast", "many"
    )
    assert config == Config(lr=0.5)
    assert at == Point(1, 2)
    assert options == {"depth": 3, "name": "a"}
    assert (mode, n) == ("fast", "many")
    with pytest.raises(InputValidationError) as error:
        run({"lr": 0}, {"x": 1}, {"depth": 1}, "slow", 1.5)
    assert problems(error) == [
        ("config", ("lr",)),
        ("at", ("y",)),
        ("options", ("name",)),
        ("mode", ()),
        ("n", ("int",)),
        ("n", ("str",)),
    ]


def test_annotated_constraints() -> None:
    @validate_input
    def sample(
        k: Annotated[int, Field(ge=1, le=10)], name: Annotated[str, Field(min_length=2)]
    ) -> int:
        return k

    assert sample(10, "ab") == 10
    with pytest.raises(InputValidationError) as error:
        sample(11, "a")
    assert [e["expected"] for e in error.value.errors()] == [
        "less_than_equal(le=10)",
        "string_too_short(min_length=2)",
    ]


def test_unannotated_parameters_are_passed_through_unchecked() -> None:
    marker = object()

    @validate_input
    def f(a, b: int):  # type: ignore[no-untyped-def]
        return a, b

    assert f(marker, "2") == (marker, 2)


def test_defaults_are_not_validated_and_keep_their_identity() -> None:
    shared: list[int] = []

    @validate_input
    def f(x: int, bucket: list[int] = shared, label: str | None = None) -> Any:
        return bucket, label

    bucket, label = f(1)
    assert bucket is shared  # pydantic would deep-copy an unhashable default
    assert label is None


def test_the_function_is_not_called_when_rejected() -> None:
    calls = []

    @validate_input
    def f(x: int) -> None:
        calls.append(x)

    with pytest.raises(InputValidationError):
        f("nope")
    assert calls == []


# --- overrides -----------------------------------------------------------------------------


def test_overrides_replace_the_annotation() -> None:
    @validate_input(x=int, config=Config, k=Annotated[int, Field(gt=0)])
    def f(x: Any, config: Any, k, untouched: str) -> Any:  # type: ignore[no-untyped-def]
        return x, config, k, untouched

    assert f("1", {"lr": 1}, "2", "s") == (1, Config(lr=1), 2, "s")
    with pytest.raises(InputValidationError) as error:
        f("a", {"lr": 1}, 0, "s")
    assert problems(error) == [("x", ()), ("k", ())]


def test_an_override_naming_no_parameter_fails_at_decoration() -> None:
    with pytest.raises(
        TypeError, match=r"override 'z' names no parameter of .*f\(\); its parameters are: x, y"
    ):

        @validate_input(z=int)
        def f(x: int, y: int) -> None: ...


def test_an_override_for_the_receiver_is_refused() -> None:
    with pytest.raises(TypeError, match="'self' is the receiver, which is never validated"):

        class Model:
            @validate_input(self=int)
            def predict(self, x: int) -> None: ...


def test_specs_reach_parameters_named_like_the_options() -> None:
    @validate_input(specs={"strict": bool, "validate_return": int}, x=int)
    def f(strict: Any, validate_return: Any, x: Any) -> Any:
        return strict, validate_return, x

    assert f("yes", "2", "3") == (True, 2, 3)
    with pytest.raises(TypeError, match="'x' both in specs= and as a keyword"):
        validate_input(specs={"x": int}, x=str)
    with pytest.raises(TypeError, match="specs must be a mapping"):
        validate_input(specs=[("x", int)])  # type: ignore[arg-type]


def test_an_override_pydantic_cannot_check_fails_at_decoration_naming_the_parameter() -> None:
    with pytest.raises(TypeError, match=r"cannot validate parameter 'x' of .*f\(\): 3 is not"):

        @validate_input(x=3)
        def f(x: int) -> None: ...


# --- annotations as strings ------------------------------------------------------------------


def test_local_classes_resolve_under_future_annotations() -> None:
    class Local(BaseModel):
        size: int

    @validate_input
    def f(item: Local, items: list[Local]) -> int:
        return item.size + len(items)

    assert f({"size": "2"}, [{"size": 1}]) == 3


def test_methods_in_a_local_class_resolve_names_of_the_enclosing_function() -> None:
    class Batch(BaseModel):
        rows: int

    class Model:
        @validate_input
        def predict(self, batch: Batch) -> int:
            return batch.rows

    assert Model().predict({"rows": "4"}) == 4


def test_an_unresolvable_annotation_fails_at_decoration_naming_the_parameter() -> None:
    with pytest.raises(TypeError, match=r"cannot resolve parameter 'x' of .*f\(\): 'Missing'"):

        @validate_input
        def f(x: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    @validate_input(x=int)  # an override makes the annotation irrelevant
    def g(x: Missing) -> int:  # type: ignore[name-defined]  # noqa: F821
        return x  # type: ignore[no-any-return]

    assert g("5") == 5


def test_eager_annotations() -> None:
    namespace: dict[str, Any] = {}
    exec(  # no `from __future__ import annotations` in this code
        textwrap.dedent(
            """
            from typing import Annotated
            from pydantic import Field
            from mlops_decorators import validate_input

            @validate_input(validate_return=True)
            def f(x: Annotated[int, Field(gt=0)], y: "float") -> "int":
                return x
            """
        ),
        namespace,
    )
    assert namespace["f"]("3", 1) == 3
    with pytest.raises(InputValidationError, match="argument 'x'"):
        namespace["f"](0, 1)


def test_a_model_that_is_not_fully_defined_fails_at_decoration() -> None:
    class Node(BaseModel):
        child: Later | None = None  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match=r"cannot validate parameter 'node' of .*Later"):

        @validate_input
        def f(node: Node) -> None: ...


# --- the return value --------------------------------------------------------------------


def test_validate_return_coerces_a_good_result_and_rejects_a_bad_one() -> None:
    @validate_input(validate_return=True)
    def f(x: str) -> int:
        return x  # type: ignore[return-value]

    assert f("3") == 3
    with pytest.raises(InputValidationError) as error:
        f("three")
    assert str(error.value).startswith("test_validate_return_coerces_a_good_result_and_rejects")
    assert "(): return value: Input should be a valid integer" in str(error.value)
    assert problems(error) == [("return", ())]
    assert validate_input_stats(f).by_parameter == {"return": 1}


def test_validate_return_reports_the_path_inside_the_result() -> None:
    @validate_input(validate_return=True)
    def f() -> list[Config]:
        return [{"lr": 1}, {"lr": -1}]  # type: ignore[list-item]

    with pytest.raises(InputValidationError, match=r"return value at '\[1\].lr': Input should"):
        f()


def test_validate_return_needs_a_return_annotation() -> None:
    with pytest.raises(TypeError, match=r"validate_return=True needs a return annotation"):

        @validate_input(validate_return=True)
        def f(x: int):  # type: ignore[no-untyped-def]
            return x


# --- errors --------------------------------------------------------------------------------


def test_every_failing_argument_is_listed_at_once_by_name() -> None:
    @validate_input
    def predict(batch_size: int, config: Config, threshold: float = 0.5) -> None: ...

    with pytest.raises(InputValidationError) as error:
        predict("many", {"lr": -1}, "high")  # all positional: named, never by index
    assert str(error.value) == (
        "test_every_failing_argument_is_listed_at_once_by_name.<locals>.predict(): 3 problems\n"
        "  argument 'batch_size': Input should be a valid integer, unable to parse string as an "
        "integer (got 'many')\n"
        "  argument 'config.lr': Input should be greater than 0 (got -1)\n"
        "  argument 'threshold': Input should be a valid number, unable to parse string as a "
        "number (got 'high')"
    )
    assert error.value.errors()[1] == {
        "parameter": "config",
        "path": ("lr",),
        "message": "Input should be greater than 0 (got -1)",
        "expected": "greater_than(gt=0.0)",
        "got": "-1",
    }


def test_the_error_is_a_value_error_of_the_package_and_survives_pickling() -> None:
    @validate_input
    def f(x: int) -> None: ...

    with pytest.raises(InputValidationError) as error:
        f("x")
    assert isinstance(error.value, ValueError)
    assert isinstance(error.value, MlopsDecoratorsError)
    copy = pickle.loads(pickle.dumps(error.value))
    assert (str(copy), copy.errors(), copy.function) == (
        str(error.value),
        error.value.errors(),
        error.value.function,
    )


def test_errors_returns_copies() -> None:
    @validate_input
    def f(x: int) -> None: ...

    with pytest.raises(InputValidationError) as error:
        f("x")
    error.value.errors()[0]["parameter"] = "changed"
    assert error.value.errors()[0]["parameter"] == "x"


def test_pydantic_errors_are_neither_chained_nor_shown() -> None:
    """pydantic's own error quotes the whole input value: it must not travel along."""

    @validate_input
    def f(x: int) -> None: ...

    with pytest.raises(InputValidationError) as error:
        f("super-secret-" + "x" * 500)
    assert (error.value.__cause__, error.value.__context__) == (None, None)
    assert "x" * 100 not in str(error.value)


def test_secret_looking_parameters_and_keys_are_never_shown() -> None:
    @validate_input
    def connect(host: str, api_key: int, config: Config, extra: dict[str, int]) -> None: ...

    with pytest.raises(InputValidationError) as error:
        connect(
            "db",
            "sk-live-123",
            {"lr": 1, "api_key": ["sk-live-456"]},
            {"password": "hunter2", "n": "x"},
        )
    text = str(error.value) + repr(error.value.errors())
    for secret in ("sk-live-123", "sk-live-456", "hunter2"):
        assert secret not in text
    got = {(e["parameter"], e["path"]): e["got"] for e in error.value.errors()}
    assert got == {
        ("api_key", ()): "'***'",
        ("config", ("api_key",)): "'***'",
        ("extra", ("password",)): "'***'",
        ("extra", ("n",)): "'x'",
    }


def test_a_validators_own_message_is_not_shown_for_a_secret() -> None:
    def known(key: str) -> str:
        raise ValueError(f"unknown key {key}")  # a validator that quotes its input

    @validate_input
    def connect(token: Annotated[str, AfterValidator(known)], user: str) -> None: ...

    with pytest.raises(InputValidationError) as error:
        connect("sk-live-789", 3)
    assert "sk-live-789" not in str(error.value) + repr(error.value.errors())
    assert error.value.errors()[0] == {
        "parameter": "token",
        "path": (),
        "message": "Value error (not shown: the name looks like a secret)",
        "expected": "value_error",
        "got": "'***'",
    }


def test_a_function_without_parameters() -> None:
    @validate_input(validate_return=True)
    def ready() -> bool:
        return 1  # type: ignore[return-value]

    assert ready() is True
    with pytest.raises(TypeError, match=r"ready\(\): too many positional arguments"):
        ready(1)  # type: ignore[call-arg]


def test_long_values_are_summarised() -> None:
    @validate_input
    def f(x: int) -> None: ...

    with pytest.raises(InputValidationError) as error:
        f(list(range(10_000)))
    got = error.value.errors()[0]["got"]
    assert got.startswith("[0, 1, 2")
    assert got.endswith("more)]")
    assert len(got) <= 80


# --- calls that do not fit the signature -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing a required argument: 'x'"),
        ((1, 2), {}, "too many positional arguments"),
        ((1,), {"z": 2}, "got an unexpected keyword argument 'z'"),
        ((1,), {"x": 2}, "multiple values for argument 'x'"),
    ],
)
def test_a_call_that_does_not_fit_raises_pythons_type_error(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    @validate_input
    def f(x: int) -> None: ...

    with pytest.raises(TypeError, match=rf"^test_a_call.*\.f\(\): {message}$"):
        f(*args, **kwargs)
    stats = validate_input_stats(f)
    assert (stats.calls, stats.rejected) == (1, 0)


# --- kinds of functions and parameters --------------------------------------------------------


def test_keyword_only_varargs_and_varkwargs() -> None:
    @validate_input
    def f(a: int, /, b: int, *rest: int, c: int, **extra: float) -> Any:
        return a, b, rest, c, extra

    assert f("1", "2", "3", "4", c="5", d="6") == (1, 2, (3, 4), 5, {"d": 6.0})
    with pytest.raises(InputValidationError) as error:
        f(1, 2, 3, "x", c="y", d="z")
    assert problems(error) == [("rest", (1,)), ("c", ()), ("extra", ("d",))]
    assert "argument 'rest[1]'" in str(error.value)
    assert "argument 'extra.d'" in str(error.value)


async def test_async_functions_are_validated_when_awaited() -> None:
    @validate_input(validate_return=True)
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    assert inspect.iscoroutinefunction(fetch)
    assert await fetch("2") == 4
    with pytest.raises(InputValidationError, match="argument 'n'"):
        await fetch("two")
    results = await asyncio.gather(*(fetch(str(i)) for i in range(20)))
    assert results == [2 * i for i in range(20)]


async def test_async_return_value_is_validated_after_awaiting() -> None:
    @validate_input(validate_return=True)
    async def fetch() -> int:
        return "many"  # type: ignore[return-value]

    with pytest.raises(InputValidationError, match="return value"):
        await fetch()


def test_methods_classmethods_and_staticmethods_skip_the_receiver() -> None:
    class Model:
        scale = 10

        @validate_input
        def predict(self, x: int, y: int = 0) -> int:
            return self.scale * x + y

        @classmethod
        @validate_input
        def build(cls, size: int) -> int:
            return cls.scale * size

        @validate_input
        @classmethod
        def build_outer(cls, size: int) -> int:
            return cls.scale * size

        @staticmethod
        @validate_input
        def helper(x: int) -> int:
            return x

        @validate_input
        @staticmethod
        def helper_outer(self: int) -> int:  # a static method's `self` is a parameter
            return self

    model = Model()
    assert model.predict("2", "1") == 21
    assert Model.build("3") == Model.build_outer("3") == 30
    assert Model.helper("4") == Model.helper_outer("4") == 4
    with pytest.raises(InputValidationError) as error:
        model.predict("a", "b")  # positions 1 and 2 of the call, counting the receiver
    assert problems(error) == [("x", ()), ("y", ())]
    with pytest.raises(InputValidationError, match="argument 'self'"):
        Model.helper_outer("me")


class Scorer:
    """A callable object: its module's names resolve its string annotations."""

    def __call__(self, rows: list[Point]) -> int:
        return len(rows)


def test_callable_objects() -> None:
    score = validate_input(Scorer())
    assert score([{"x": 1, "y": 2}]) == 1
    with pytest.raises(InputValidationError, match=r"argument 'rows\[0\].y'"):
        score([{"x": 1}])


def test_signature_and_wrapped_are_kept() -> None:
    def f(x: int, *, y: str = "a") -> str:
        return y * x

    decorated = validate_input(f)
    assert decorated.__wrapped__ is f  # type: ignore[attr-defined]
    assert inspect.signature(decorated) == inspect.signature(f)
    assert decorated.__name__ == "f"


# --- statistics ----------------------------------------------------------------------------


def test_stats_count_calls_rejections_and_parameters() -> None:
    @validate_input
    def f(x: int, y: int) -> None: ...

    f(1, 2)
    for bad in (("a", 2), ("a", "b"), (1, "b")):
        with pytest.raises(InputValidationError):
            f(*bad)
    expected = ValidationStats(
        name="test_stats_count_calls_rejections_and_parameters.<locals>.f",
        calls=4,
        rejected=3,
        by_parameter={"x": 2, "y": 2},
    )
    assert validate_input_stats(f) == expected
    assert f.validate_input_stats() == expected  # type: ignore[attr-defined]


def test_the_accessor_finds_the_stats_through_other_decorators() -> None:
    def passthrough(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return wrapper

    @passthrough
    @timer
    @validate_input
    def f(x: int) -> int:
        return x

    f(1)
    assert validate_input_stats(f).calls == 1
    with pytest.raises(TypeError, match=r"validate_input_stats\(\) needs a function decorated"):
        validate_input_stats(passthrough(len))


def test_stats_count_from_many_threads() -> None:
    import threading

    @validate_input
    def f(x: int) -> int:
        return x

    def work() -> None:
        for i in range(200):
            f(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert validate_input_stats(f).calls == 800


# --- decorator options -----------------------------------------------------------------------


def test_the_three_decorator_forms() -> None:
    def f(x: int) -> int:
        return x

    for decorated in (validate_input(f), validate_input()(f), validate_input(strict=False)(f)):
        assert decorated("3") == 3


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"strict": "yes"}, TypeError, "strict must be True or False, got str 'yes'"),
        ({"validate_return": 1}, TypeError, "validate_return must be True or False, got int 1"),
    ],
)
def test_bad_options_fail_at_decoration(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        validate_input(**options)


def test_a_positional_option_is_refused() -> None:
    with pytest.raises(TypeError, match="validate_input\\(\\) takes keyword arguments only"):
        validate_input(3)  # type: ignore[call-overload]


def test_a_callable_without_a_signature_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot read the signature"):
        validate_input(max)
