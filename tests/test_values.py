"""Value summaries, redaction and human durations (`mlops_decorators._values`).

The length bound, stated and checked by property: a summary is at most ``max_repr``
characters, except that a cut string, bytes or repr may add its size note
(``"...(12345 chars)"``), and a cut string or bytes always shows its first whole character
even when that character's escape alone is longer (``'\\U0010ffff'`` is 12 characters);
containers, however deeply nested, keep that note inside their budget (for
``max_repr >= 30``; below that a container may show just ``[...(n more)]``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mlops_decorators._values import (
    DEFAULT_REDACT,
    REDACTED,
    Summarizer,
    format_duration,
    normalise_redact,
)

values = Summarizer(200, DEFAULT_REDACT)


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class FakeArray:
    """Duck-typed like a numpy array, without numpy."""

    shape = (10000, 3)
    dtype = "float32"


class Size(tuple):  # type: ignore[type-arg]
    """Like ``torch.Size``: a tuple subclass named Size."""


class FakeTensor:
    shape = Size((2, 3))
    dtype = "torch.float16"


class FakeFrame:
    shape = (3, 2)  # a DataFrame has a shape but no single dtype


def test_numpy_arrays_by_type_shape_and_dtype() -> None:
    array = np.zeros((10000, 3), dtype=np.float32)
    assert values.value(array) == "ndarray(shape=(10000, 3), dtype=float32)"
    assert values.value([array, 1]) == "[ndarray(shape=(10000, 3), dtype=float32), 1]"


def test_numpy_scalars_keep_their_short_repr() -> None:
    assert values.value(np.float32(1.5)) == repr(np.float32(1.5))


def test_array_likes_by_duck_typing() -> None:
    assert values.value(FakeArray()) == "FakeArray(shape=(10000, 3), dtype=float32)"
    assert values.value(FakeTensor()) == "FakeTensor(shape=(2, 3), dtype=torch.float16)"
    assert values.value(FakeFrame()) == "FakeFrame(shape=(3, 2))"


def test_summarising_an_array_like_does_not_import_numpy() -> None:
    code = """
        import json, sys
        from mlops_decorators._values import DEFAULT_REDACT, Summarizer
        class FakeArray:
            shape = (10000, 3)
            dtype = "float32"
        text = Summarizer(200, DEFAULT_REDACT).value({"x": FakeArray(), "y": [1, "a"]})
        print(json.dumps([text, "numpy" in sys.modules]))
    """
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(completed.stdout) == [
        "{'x': FakeArray(shape=(10000, 3), dtype=float32), 'y': [1, 'a']}",
        False,
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("short", "'short'"),
        ("x" * 300, "'" + "x" * 198 + "'...(300 chars)"),
        (b"y" * 300, "b'" + "y" * 197 + "'...(300 bytes)"),
        (bytearray(b"z" * 300), "bytearray(b'" + "z" * 186 + "')...(300 bytes)"),
        ("\x00" * 300, "'" + "\\x00" * 49 + "'...(300 chars)"),
        ("\U00018cd6", "'\\U00018cd6'"),
        (list(range(5)), "[0, 1, 2, 3, 4]"),
        ((1,), "(1,)"),
        ((), "()"),
        (set(), "set()"),
        (frozenset({1}), "frozenset({1})"),
        ({}, "{}"),
        (None, "None"),
        (10**250, str(10**250)[:200] + "...(251 chars)"),
    ],
)
def test_value_summaries(value: Any, expected: str) -> None:
    assert values.value(value) == expected


def test_long_containers_are_cut_with_a_count_of_what_is_left() -> None:
    text = values.value(list(range(1000)))
    assert text.startswith("[0, 1, 2, ")
    assert text.endswith(", ...(952 more)]")
    assert len(text) <= 200


def test_only_the_items_shown_are_visited() -> None:
    visited: list[int] = []

    class CountingDict(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            for key, value in super().items():
                visited.append(key)
                yield key, value

    text = values.value(CountingDict.fromkeys(range(100_000), 0))
    assert text.endswith(" more)}")
    assert len(visited) < 50


def test_a_long_item_is_cut_to_leave_room_for_the_rest() -> None:
    text = values.value(["x" * 500, "y"])
    assert text.startswith("['xxxx")
    assert "'...(500 chars)" in text
    assert text.endswith(", ...(1 more)]")
    assert len(text) <= 200


def test_nested_containers() -> None:
    nested = {"a": [1, (2, 3), {"b": {4}}], "c": frozenset()}
    assert values.value(nested) == "{'a': [1, (2, 3), {'b': {4}}], 'c': frozenset()}"


def test_depth_is_limited_and_deep_levels_show_their_size_only() -> None:
    deep: Any = {"password": "hunter2"}
    for _ in range(6):
        deep = {"level": deep}
    text = values.value(deep)
    assert "hunter2" not in text
    assert "{...(1 more)}" in text
    recursive: list[Any] = [1]
    recursive.append(recursive)
    assert values.value(recursive) == "[1, [1, [1, [1, [...(2 more)]]]]]"


def test_broken_repr_does_not_break_the_summary() -> None:
    expected = "<BrokenRepr (repr failed: RuntimeError)>"
    assert values.value(BrokenRepr()) == expected
    assert values.value([BrokenRepr()]) == f"[{expected}]"
    assert values.value({BrokenRepr(): 1}) == f"{{{expected}: 1}}"


class LazyData:
    """Has an array-like shape property that fails, like data loaded on first access."""

    @property
    def shape(self) -> tuple[int, ...]:
        raise OSError("not loaded")

    def __repr__(self) -> str:
        return "LazyData()"


def test_failing_shape_property_falls_back_to_repr() -> None:
    assert values.value(LazyData()) == "LazyData()"


def test_huge_dict_keys_are_cut() -> None:
    text = values.value({"k" * 10_000: "v"})
    assert len(text) <= 200
    assert text.endswith(": 'v'}")


def test_arguments_redact_secret_names_case_insensitively() -> None:
    summary = values.arguments(
        {"user": "ada", "Password": "x", "API_KEY": "k", "db_session_id": 3, "x": 1}
    )
    assert summary == {
        "user": "'ada'",
        "Password": REDACTED,
        "API_KEY": REDACTED,
        "db_session_id": REDACTED,
        "x": "1",
    }


@pytest.mark.parametrize("name", sorted(DEFAULT_REDACT))
def test_every_default_fragment_is_redacted(name: str) -> None:
    assert values.arguments({f"my_{name.upper()}_value": "s3cr3t"}) == {
        f"my_{name.upper()}_value": REDACTED
    }


def test_dict_keys_are_redacted_at_every_level_and_in_dict_subclasses() -> None:
    config = {
        "host": "db",
        "Token": "t0ken",
        "nested": {"auth": {"Authorization": "Bearer x", "n": 1}},
        "list": [{"cookie": "c"}],
        "ordered": OrderedDict(secret_key="s"),
        3: "non-string keys are never secret",
    }
    text = values.value(config)
    for secret in ("t0ken", "Bearer", "'c'", "'s'"):
        assert secret not in text
    assert text == (
        "{'host': 'db', 'Token': '***', 'nested': {'auth': {'Authorization': '***', 'n': 1}}, "
        "'list': [{'cookie': '***'}], 'ordered': {'secret_key': '***'}, "
        "3: 'non-string keys are never secret'}"
    )


def test_custom_redaction_list() -> None:
    custom = Summarizer(200, normalise_redact("redact", {"SSN"}))
    assert custom.arguments({"ssn": 1, "password": 2}) == {"ssn": REDACTED, "password": "2"}
    nothing = Summarizer(200, normalise_redact("redact", ()))
    assert nothing.arguments({"password": 2}) == {"password": "2"}


@pytest.mark.parametrize(
    ("redact", "message"),
    [
        ("password", "redact must be an iterable of name fragments"),
        (3, "redact must be an iterable of name fragments"),
        (["ok", ""], "redact must contain non-empty strings only"),
        (["ok", 3], "redact must contain non-empty strings only"),
    ],
)
def test_normalise_redact_rejects_bad_lists(redact: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        normalise_redact("redact", redact)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "0 ns"),
        (5e-9, "5 ns"),
        (999e-9, "999 ns"),
        (1.234e-5, "12.3 µs"),
        (0.00124, "1.24 ms"),
        (1.24, "1.24 s"),
        (59.4, "59.4 s"),
        (123.4, "2 min 3.4 s"),
        # Values that round up to the next unit take that unit.
        (0.9999996e-6, "1 µs"),
        (0.0009999, "1 ms"),
        (0.9999, "1 s"),
        (59.97, "1 min 0.0 s"),
        (119.97, "2 min 0.0 s"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


@given(st.floats(min_value=0, max_value=1e6))
def test_format_duration_is_short_and_never_scientific(seconds: float) -> None:
    text = format_duration(seconds)
    assert "e" not in text.replace("min", "")
    number, unit = text.split(" ", 1) if "min" not in text else ("0", "min")
    assert unit in {"ns", "µs", "ms", "s", "min"}
    assert float(number) < 1000


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: (
        st.lists(children)
        | st.tuples(children, children)
        | st.dictionaries(st.text(), children)
        | st.frozensets(st.integers())
    ),
    max_leaves=40,
)


def note_length(value: Any) -> int:
    """How long the size note of a cut `value` can be."""
    size = len(value) if isinstance(value, (str, bytes)) else len(repr(value))
    return len(f"...({size} chars)")


@given(json_like, st.integers(min_value=10, max_value=400))
@example("\U00018cd60", 10)  # one character's escape is 12 characters, over the budget
def test_summary_length_bound(value: Any, max_repr: int) -> None:
    text = Summarizer(max_repr, DEFAULT_REDACT).value(value)
    if isinstance(value, (list, tuple, dict, frozenset)):
        stub = len(f"frozenset({{...({len(value)} more)}})")
        assert len(text) <= max(max_repr, stub)
    elif isinstance(value, (str, bytes)):
        first = len(repr(value[:1]))  # a cut keeps at least one whole character
        assert len(text) <= max(max_repr, first) + note_length(value)
    else:
        assert len(text) <= max_repr + note_length(value)


@given(st.text(min_size=1) | st.binary(min_size=1), st.integers(min_value=10, max_value=100))
def test_cut_strings_show_a_whole_prefix_and_the_size(value: str | bytes, max_repr: int) -> None:
    text = Summarizer(max_repr, DEFAULT_REDACT).value(value)
    if text == repr(value):
        return
    unit = "chars" if isinstance(value, str) else "bytes"
    head, note = text.rsplit("...(", 1)
    assert note == f"{len(value)} {unit})"
    prefix = ast.literal_eval(head)  # whole characters, never half an escape
    assert 0 < len(prefix) < len(value)
    assert value.startswith(prefix)
