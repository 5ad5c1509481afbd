"""`Array` specs with numpy arrays: shapes with named dimensions across arguments, dtypes and
kinds, coercion, NaN/inf, value ranges, mean/std, error text, options, pydantic models, and
properties that tie the checks to numpy's own answers."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydantic import BaseModel

from mlops_decorators import Array, InputValidationError, validate_input

Floats = Annotated[np.ndarray, Array(dtype="floating", allow_nan=True, allow_inf=True)]


def message(fn: Any, *args: Any, **kwargs: Any) -> str:
    """The error text of a rejected call, without the function's name."""
    with pytest.raises(InputValidationError) as error:
        fn(*args, **kwargs)
    return str(error.value).split("(): ", 1)[1]


def passes(spec: Array, value: Any) -> bool:
    @validate_input(x=spec)
    def f(x: Any) -> Any:
        return x

    try:
        f(value)
    except InputValidationError:
        return False
    return True


# --- shapes ----------------------------------------------------------------------------------


def test_named_dimensions_must_agree_across_arguments() -> None:
    @validate_input
    def predict(
        X: Annotated[np.ndarray, Array(shape=("n", 4), dtype="float32")],  # noqa: N803 -- the ML name of a feature matrix
        y: Annotated[np.ndarray, Array(shape=("n",))],
    ) -> int:
        return len(X)

    assert predict(np.zeros((32, 4), np.float32), np.zeros(32)) == 32
    assert predict(np.zeros((5, 4), np.float32), np.zeros(5)) == 5  # bound per call
    assert message(predict, np.zeros((32, 4), np.float32), np.zeros(31)) == (
        "argument 'y': shape (31,) does not match ('n'=32,)"
    )
    assert message(predict, np.zeros((32, 3), np.float32), np.zeros(32)) == (
        "argument 'X': shape (32, 3) does not match ('n'=32, 4)"
    )


def test_a_name_repeated_in_one_shape_and_names_in_the_return_value() -> None:
    @validate_input(validate_return=True)
    def square(
        m: Annotated[np.ndarray, Array(shape=("k", "k"))],
    ) -> Annotated[np.ndarray, Array(shape=("k",))]:
        return m[0] if m.shape[0] != 3 else m.ravel()

    assert square(np.eye(2)).shape == (2,)
    assert message(square, np.zeros((2, 3))) == (
        "argument 'm': shape (2, 3) does not match ('k'=2, 'k'=2)"
    )
    assert message(square, np.eye(3)) == "return value: shape (9,) does not match ('k'=3,)"


@pytest.mark.parametrize(
    ("shape", "fits", "misfits"),
    [
        ((None, 4), [(0, 4), (7, 4)], [(7,), (7, 3), (1, 4, 1)]),
        ((..., 3), [(3,), (2, 3), (5, 2, 3)], [(), (3, 2)]),
        ((2, ..., 3), [(2, 3), (2, 9, 9, 3)], [(3,), (2,), (3, 2)]),
        ((2, ...), [(2,), (2, 5)], [(), (3, 2)]),
        ((), [()], [(1,)]),
    ],
)
def test_shapes(shape: tuple[Any, ...], fits: list[Any], misfits: list[Any]) -> None:
    spec = Array(shape=shape)
    assert [passes(spec, np.zeros(s)) for s in fits] == [True] * len(fits)
    assert [passes(spec, np.zeros(s)) for s in misfits] == [False] * len(misfits)


def test_ndim() -> None:
    @validate_input(x=Array(ndim=2))
    def f(x: Any) -> None: ...

    f(np.zeros((1, 1)))
    assert message(f, np.zeros(3)) == "argument 'x': ndim 1 is not 2"
    assert passes(Array(shape=(..., 3), ndim=2), np.zeros((2, 3)))
    assert not passes(Array(shape=(..., 3), ndim=2), np.zeros((1, 2, 3)))


@given(
    shape=st.lists(st.integers(0, 4), max_size=4).map(tuple),
    spec=st.lists(st.one_of(st.none(), st.integers(0, 4), st.sampled_from("ab")), max_size=4),
)
def test_a_shape_fits_exactly_when_every_dimension_does(
    shape: tuple[int, ...], spec: list[Any]
) -> None:
    bound: dict[str, int] = {}
    expected = len(shape) == len(spec)
    for want, size in zip(spec, shape, strict=False):
        if isinstance(want, str):
            expected &= bound.setdefault(want, size) == size
        elif want is not None:
            expected &= want == size
    assert passes(Array(shape=tuple(spec)), np.zeros(shape)) is expected


# --- dtypes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "accepted", "refused"),
    [
        ("float32", [np.float32], [np.float64, np.int32]),
        (np.float64, [np.float64], [np.float32]),
        (float, [np.float64], [np.float32]),
        (np.dtype("int16"), [np.int16], [np.int32]),
        ("f4", [np.float32], [np.float16]),
        (("float32", "float64"), [np.float32, np.float64], [np.float16]),
        ("floating", [np.float16, np.float32, np.float64], [np.int64, np.bool_]),
        ("integer", [np.int8, np.uint64], [np.float32, np.bool_]),
        ("signed integer", [np.int8], [np.uint8]),
        ("unsigned integer", [np.uint16], [np.int16]),
        ("bool", [np.bool_], [np.uint8]),
        ("complex", [np.complex64], [np.float64]),
        ("numeric", [np.int8, np.float32, np.complex128], [np.bool_]),
        (("integer", "bool"), [np.int8, np.bool_], [np.float32]),
    ],
)
def test_dtypes_and_kinds(dtype: Any, accepted: list[Any], refused: list[Any]) -> None:
    spec = Array(dtype=dtype, allow_nan=True, allow_inf=True)
    assert [passes(spec, np.zeros(2, t)) for t in accepted] == [True] * len(accepted)
    assert [passes(spec, np.zeros(2, t)) for t in refused] == [False] * len(refused)


def test_a_dtype_mismatch_is_an_error_never_a_silent_cast() -> None:
    @validate_input
    def f(x: Annotated[np.ndarray, Array(dtype=("float32", "float16"))]) -> None: ...

    assert message(f, np.zeros(3)) == "argument 'x': dtype float64 is not float32 or float16"


def test_dtype_and_shape_problems_are_reported_together() -> None:
    @validate_input
    def f(x: Annotated[np.ndarray, Array(shape=(None, 4), dtype="float32")]) -> None: ...

    with pytest.raises(InputValidationError) as error:
        f(np.zeros((2, 3), np.int64))
    assert error.value.errors() == [
        {
            "parameter": "x",
            "path": (),
            "message": "dtype int64 is not float32; shape (2, 3) does not match (None, 4)",
            "expected": "dtype float32, shape (None, 4)",
            "got": "ndarray(shape=(2, 3), dtype=int64)",
        }
    ]


def test_coerce_converts_lists_and_dtypes_and_passes_the_result_on() -> None:
    received = []

    @validate_input
    def f(x: Annotated[np.ndarray, Array(shape=(None, 2), dtype="float32", coerce=True)]) -> None:
        received.append(x)

    f([[1, 2], [3, 4]])
    f(np.ones((1, 2), np.int64))
    assert [(type(x), x.dtype, x.shape) for x in received] == [
        (np.ndarray, np.float32, (2, 2)),
        (np.ndarray, np.float32, (1, 2)),
    ]
    assert message(f, [[1, 2, 3]]) == "argument 'x': shape (1, 3) does not match (None, 2)"
    assert message(f, [[1], [2, 3]]) == (
        "argument 'x': list could not be converted to an array (ValueError)"
    )


def test_coerce_to_a_kind_uses_its_widest_common_dtype() -> None:
    @validate_input(x=Array(dtype="floating", coerce=True))
    def f(x: Any) -> Any:
        return x

    assert f([1, 2]).dtype == np.float64
    assert f(np.ones(2, np.float16)).dtype == np.float16  # already floating: unchanged


def test_without_coerce_a_list_is_not_an_array() -> None:
    @validate_input(x=Array())
    def f(x: Any) -> None: ...

    assert message(f, [1.0, 2.0]) == (
        "argument 'x': expected an array with a shape and a dtype, got list"
    )


def test_the_annotated_class_is_checked() -> None:
    class Tagged(np.ndarray):
        pass

    @validate_input
    def f(x: Annotated[Tagged, Array()]) -> None: ...

    f(np.zeros(2).view(Tagged))
    assert message(f, np.zeros(2)) == "argument 'x': expected Tagged, got ndarray"


# --- values ----------------------------------------------------------------------------------


def test_nan_and_inf_are_rejected_by_default_with_count_and_first_position() -> None:
    @validate_input
    def f(X: Annotated[np.ndarray, Array()]) -> None: ...  # noqa: N803 -- the ML name of a feature matrix

    x = np.zeros((4, 3))
    x[0, 2] = x[1, 0] = x[3, 1] = np.nan
    assert message(f, x) == "argument 'X': 3 NaN values (first at [0, 2])"
    x[2, 2] = -np.inf
    assert message(f, x) == (
        "argument 'X': 3 NaN values (first at [0, 2]), 1 infinite value (first at [2, 2])"
    )
    f(np.arange(3))  # integers can hold neither: no check


def test_an_overflowing_sum_is_no_infinite_value() -> None:
    big = np.array([3e38, 3e38, -np.inf, np.inf], dtype=np.float32)
    assert passes(Array(), big[:2])  # their sum overflows, without numpy's warning
    assert not passes(Array(), big[1:3])
    assert passes(Array(allow_inf=True), big[2:])  # inf - inf is NaN, no warning either


def test_allow_nan_and_allow_inf() -> None:
    nan, inf = np.array([np.nan, 0.0]), np.array([np.inf, 0.0])
    assert passes(Array(allow_nan=True), nan)
    assert not passes(Array(allow_nan=True), inf)
    assert passes(Array(allow_inf=True), inf)
    assert not passes(Array(allow_inf=True), nan)
    assert passes(Array(allow_nan=True, allow_inf=True), np.array([np.nan, np.inf]))


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (Array(ge=0), "2 values < 0 (first at [1, 0]: -1)"),
        (Array(gt=0), "3 values <= 0 (first at [0, 0]: 0)"),
        (Array(le=1), "1 value > 1 (first at [1, 1]: 5)"),
        (Array(lt=0.5), "2 values >= 0.5 (first at [0, 1]: 0.5)"),
    ],
)
def test_value_ranges(spec: Array, text: str) -> None:
    @validate_input(x=spec)
    def f(x: Any) -> None: ...

    assert message(f, np.array([[0.0, 0.5], [-1.0, 5.0], [-2.0, 0.25]])) == f"argument 'x': {text}"


def test_ranges_ignore_allowed_nan_values() -> None:
    spec = Array(ge=0, le=1, allow_nan=True)
    assert passes(spec, np.array([np.nan, 0.5, 1.0]))
    assert not passes(spec, np.array([np.nan, 0.5, 2.0]))
    assert not passes(spec, np.array([-1.0, np.nan]))


def test_mean_and_std() -> None:
    @validate_input(x=Array(mean=(-0.1, 0.1), std=(0.9, 1.1)))
    def f(x: Any) -> None: ...

    f(np.array([-1.0, 1.0]))
    f(np.array([-1, 1]))  # integers are averaged as floats
    assert message(f, np.array([0.0, 2.0])) == "argument 'x': mean 1 is outside [-0.1, 0.1]"
    assert message(f, np.array([-3.0, 3.0])) == "argument 'x': std 3 is outside [0.9, 1.1]"
    assert message(f, np.zeros(0)) == "argument 'x': the mean of an empty array is undefined"


def test_empty_arrays_satisfy_ranges() -> None:
    assert passes(Array(ge=0, lt=1), np.zeros((0, 3)))


def test_a_zero_dimensional_array() -> None:
    assert passes(Array(shape=(), ge=0), np.array(1.0))
    assert not passes(Array(ge=0), np.array(-1.0))


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
        elements=st.floats(-10, 10) | st.just(np.nan),
    )
)
def test_nan_reports_agree_with_numpy(x: np.ndarray) -> None:
    @validate_input(x=Array(ge=-5))
    def f(x: Any) -> None: ...

    mask = np.isnan(x)
    if mask.any():
        first = [int(i) for i in np.argwhere(mask)[0]]
        count = int(mask.sum())
        noun = "NaN value" if count == 1 else "NaN values"
        assert message(f, x) == f"argument 'x': {count} {noun} (first at {first})"
    elif (x < -5).any():
        first = [int(i) for i in np.argwhere(x < -5)[0]]
        assert f"(first at {first}: " in message(f, x)
    else:
        f(x)


@given(hnp.arrays(np.int32, hnp.array_shapes(max_dims=2), elements=st.integers(-5, 5)))
def test_bounds_pass_exactly_when_numpy_agrees(x: np.ndarray) -> None:
    assert passes(Array(ge=-2, lt=3), x) is bool(((x >= -2) & (x < 3)).all())


# --- errors and context ----------------------------------------------------------------------


def test_the_whole_array_never_appears_in_the_error() -> None:
    @validate_input
    def f(X: Annotated[np.ndarray, Array(shape=(None, 3))]) -> None: ...  # noqa: N803 -- the ML name of a feature matrix

    x = np.full((1000, 4), 123.456)
    with pytest.raises(InputValidationError) as error:
        f(x)
    text = str(error.value) + repr(error.value.errors())
    assert "123.456" not in text
    assert error.value.errors()[0]["got"] == "ndarray(shape=(1000, 4), dtype=float64)"


def test_arrays_inside_models_and_containers() -> None:
    class Batch(BaseModel):
        X: Annotated[np.ndarray, Array(shape=("n", 2))]
        y: Annotated[np.ndarray, Array(shape=("n",), ge=0)]

    @validate_input
    def fit(batch: Batch, extra: list[Floats]) -> int:
        return len(batch.X) + len(extra)

    assert fit({"X": np.zeros((3, 2)), "y": np.ones(3)}, [np.zeros(1)]) == 4
    with pytest.raises(InputValidationError) as error:
        fit({"X": np.zeros((3, 2)), "y": -np.ones(2)}, [np.zeros(1), [1.0]])
    assert [(e["parameter"], e["path"]) for e in error.value.errors()] == [
        ("batch", ("y",)),
        ("extra", (1,)),
    ]
    assert "argument 'batch.y': shape (2,) does not match ('n'=3,)" in str(error.value)
    # Outside validate_input (no shared context) names still agree within one array.
    assert Batch(X=np.zeros((1, 2)), y=np.zeros(5)).y.shape == (5,)


def test_dimension_bindings_do_not_leak_between_concurrent_calls() -> None:
    @validate_input
    def f(
        X: Annotated[np.ndarray, Array(shape=("n",))],  # noqa: N803 -- the ML name of a feature matrix
        y: Annotated[np.ndarray, Array(shape=("n",))],
    ) -> int:
        return len(X)

    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def work(n: int) -> None:
        barrier.wait()
        try:
            for _ in range(100):
                assert f(np.zeros(n), np.zeros(n)) == n
        except BaseException as exc:  # pragma: no cover -- reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


async def test_async_calls_bind_dimensions_per_call() -> None:
    @validate_input
    async def f(
        X: Annotated[np.ndarray, Array(shape=("n",))],  # noqa: N803 -- the ML name of a feature matrix
        y: Annotated[np.ndarray, Array(shape=("n",))],
    ) -> int:
        await asyncio.sleep(0)
        return len(y)

    assert await asyncio.gather(*(f(np.zeros(n), np.zeros(n)) for n in range(1, 6))) == [
        1,
        2,
        3,
        4,
        5,
    ]
    with pytest.raises(InputValidationError, match="'n'=2"):
        await f(np.zeros(2), np.zeros(3))


# --- options (each one alone: tests/test_options.py) -----------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"shape": (1, 2), "ndim": 3}, ValueError, "contradict"),
        ({"shape": (..., 1, 2), "ndim": 1}, ValueError, "contradict"),
        ({"ge": 0, "gt": 0}, ValueError, "give ge or gt"),
        ({"le": 0, "lt": 0}, ValueError, "give ge or gt"),
    ],
)
def test_contradicting_options_fail_when_the_spec_is_built(
    options: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        Array(**options)


def test_repr_shows_the_options_given() -> None:
    assert repr(Array(shape=("n", 4), dtype="float32", ge=0)) == (
        "Array(shape=('n', 4), dtype='float32', ge=0)"
    )
    assert repr(Array()) == "Array()"
