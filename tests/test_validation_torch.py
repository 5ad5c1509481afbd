"""`Array` specs on torch tensors: the same checks as for numpy, done by torch itself, with no
copy to numpy or to Python lists. Skipped where torch is not installed (CI installs it on 3.11).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pytest

from mlops_decorators import Array, InputValidationError, validate_input

torch = pytest.importorskip("torch")


def message(fn: Any, *args: Any) -> str:
    with pytest.raises(InputValidationError) as error:
        fn(*args)
    return str(error.value).split("(): ", 1)[1]


@pytest.fixture
def no_host_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any conversion of a tensor to numpy or to Python lists."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a tensor was copied to the host")

    for name in ("__array__", "numpy", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)


@pytest.mark.usefixtures("no_host_copies")
def test_tensors_pass_through_unchanged_and_uncopied() -> None:
    @validate_input
    def predict(
        X: Annotated[  # noqa: N803 -- the ML name of a feature matrix
            torch.Tensor, Array(shape=("n", 4), dtype="float32", ge=-1, le=1, mean=(-1, 1))
        ],
        y: Annotated[torch.Tensor, Array(shape=("n",), dtype=torch.int64)],
    ) -> Any:
        return X, y

    X, y = torch.zeros(8, 4), torch.arange(8)
    assert predict(X, y)[0] is X
    assert predict(X, y)[1] is y
    with pytest.raises(AssertionError, match="copied to the host"):
        np.asarray(X)  # the fixture does catch a copy


@pytest.mark.usefixtures("no_host_copies")
def test_structural_errors_on_tensors() -> None:
    @validate_input
    def predict(
        X: Annotated[torch.Tensor, Array(shape=("n", 4), dtype="float32")],  # noqa: N803
        y: Annotated[torch.Tensor, Array(shape=("n",))],
    ) -> None: ...

    assert message(predict, torch.zeros(32, 3), torch.zeros(32)) == (
        "argument 'X': shape (32, 3) does not match ('n'=32, 4)"
    )
    assert message(predict, torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2)) == (
        "argument 'X': dtype float64 is not float32"
    )
    assert message(predict, torch.zeros(2, 4), torch.zeros(3)) == (
        "argument 'y': shape (3,) does not match ('n'=2,)"
    )


@pytest.mark.usefixtures("no_host_copies")
def test_value_checks_on_tensors() -> None:
    @validate_input(x=Array(ge=0))
    def f(x: Any) -> None: ...

    x = torch.zeros(3, 4)
    x[1, 2] = float("nan")
    x[2, 0] = float("nan")
    assert message(f, x) == "argument 'x': 2 NaN values (first at [1, 2])"
    x = torch.zeros(3, 4)
    x[2, 3] = float("-inf")
    assert message(f, x) == "argument 'x': 1 infinite value (first at [2, 3])"
    x[2, 3] = -0.5
    assert message(f, x) == "argument 'x': 1 value < 0 (first at [2, 3]: -0.5)"
    f(torch.arange(5))  # integer tensors cannot hold NaN


@pytest.mark.usefixtures("no_host_copies")
def test_mean_and_std_are_torchs_population_statistics() -> None:
    @validate_input(x=Array(mean=(0.9, 1.1), std=(0.9, 1.1)))
    def f(x: Any) -> None: ...

    f(torch.tensor([0.0, 2.0]))  # population std 1 (torch's default, the sample's, is 1.41)
    f(torch.tensor([0, 2]))  # integers are averaged as float64 by torch
    assert message(f, torch.tensor([0.0, 4.0])) == "argument 'x': mean 2 is outside [0.9, 1.1]"


@pytest.mark.parametrize(
    ("dtype", "accepted", "refused"),
    [
        ("floating", ["float16", "bfloat16", "float64"], ["int32", "bool"]),
        (torch.float16, ["float16"], ["bfloat16"]),
        ("unsigned integer", ["uint8"], ["int8"]),
        (("bool", "integer"), ["bool", "int16"], ["float32"]),
    ],
)
def test_dtypes_of_tensors(dtype: Any, accepted: list[str], refused: list[str]) -> None:
    @validate_input(x=Array(dtype=dtype))
    def f(x: Any) -> None: ...

    for name in accepted:
        f(torch.zeros(2, dtype=getattr(torch, name)))
    for name in refused:
        with pytest.raises(InputValidationError, match=f"dtype {name} is not"):
            f(torch.zeros(2, dtype=getattr(torch, name)))


def test_coerce_converts_with_torch() -> None:
    @validate_input
    def f(x: Annotated[torch.Tensor, Array(dtype="float32", coerce=True)]) -> Any:
        return x

    converted = f(torch.arange(3))
    assert (type(converted), converted.dtype) == (torch.Tensor, torch.float32)
    from_list = f([[1, 2], [3, 4]])
    assert (type(from_list), from_list.dtype, tuple(from_list.shape)) == (
        torch.Tensor,
        torch.float32,
        (2, 2),
    )


def test_named_dimensions_agree_across_libraries() -> None:
    @validate_input
    def f(
        a: Annotated[Any, Array(shape=("n",))], b: Annotated[Any, Array(shape=("n",))]
    ) -> None: ...

    f(np.zeros(3), torch.zeros(3))
    assert message(f, np.zeros(3), torch.zeros(4)) == (
        "argument 'b': shape (4,) does not match ('n'=3,)"
    )


def test_the_annotated_library_is_checked() -> None:
    @validate_input
    def f(x: Annotated[np.ndarray, Array()]) -> None: ...

    assert message(f, torch.zeros(2)) == "argument 'x': expected ndarray, got Tensor"


def test_a_tensor_is_summarised_in_errors() -> None:
    @validate_input
    def f(x: Annotated[torch.Tensor, Array(shape=(3,))]) -> None: ...

    with pytest.raises(InputValidationError) as error:
        f(torch.zeros(5))
    assert error.value.errors()[0]["got"] == "Tensor(shape=(5,), dtype=torch.float32)"
