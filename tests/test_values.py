"""Value summaries, redaction and human durations (`mlops_decorators._values`).

The length bound, stated and checked by property: a summary is at most ``max_repr``
characters, except that a cut string, bytes or repr may add its size note
(``"...(12345 chars)"``), and a cut string or bytes always shows its first whole character
even when that character's escape alone is longer (``'\\U0010ffff'`` is 12 characters);
containers, however deeply nested, keep that note inside their budget (for
``max_repr >= 30``; below that a container may show just ``[...(n more)]``).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import sys
import threading
from collections import ChainMap, OrderedDict, UserDict
from collections.abc import Iterator, MutableMapping
from types import MappingProxyType, SimpleNamespace
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fakes import resizing_thread, run_python
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
    assert run_python(code) == [
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
        "nested": {"headers": {"Authorization": "Bearer x", "n": 1}},
        "list": [{"cookie": "c"}],
        "ordered": OrderedDict(secret_key="s"),
        3: "non-string keys are never secret",
    }
    text = values.value(config)
    for secret in ("t0ken", "Bearer", "'c'", "'s'"):
        assert secret not in text
    assert text == (
        "{'host': 'db', 'Token': '***', 'nested': {'headers': {'Authorization': '***', 'n': 1}}, "
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


# --- every mapping, record types, word matching, never failing (issue 9) ----------------

SECRET_CONFIG = {"user": "ada", "db": {"password": "hunter2", "port": 5432}}
SECRET_CONFIG_TEXT = "{'user': 'ada', 'db': {'password': '***', 'port': 5432}}"


class ConfigLike:
    """Like OmegaConf's DictConfig seen from outside: mapping methods, no Mapping base."""

    def __init__(self, content: dict[str, Any]) -> None:
        self._content = content

    def keys(self) -> Any:
        return self._content.keys()

    def items(self) -> Any:
        return ((k, ConfigLike(v) if isinstance(v, dict) else v) for k, v in self._content.items())

    def __getitem__(self, key: str) -> Any:
        return self._content[key]

    def __len__(self) -> int:
        return len(self._content)

    def __repr__(self) -> str:  # what leaked: the repr shows every value
        return repr(self._content)


class EnvironLike(MutableMapping[str, Any]):
    """An os.environ-like mapping: a MutableMapping over its own storage."""

    def __init__(self, content: dict[str, Any]) -> None:
        self._data = dict(content)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"environ({self._data!r})"


@pytest.mark.parametrize(
    "make",
    [
        MappingProxyType,
        ChainMap,
        UserDict,
        EnvironLike,
        ConfigLike,
        lambda content: ChainMap({}, MappingProxyType(content)),
    ],
    ids=["MappingProxyType", "ChainMap", "UserDict", "environ-like", "DictConfig-like", "nested"],
)
def test_every_mapping_is_summarised_and_redacted_like_a_dict(make: Any) -> None:
    text = values.value(make(SECRET_CONFIG))
    assert "hunter2" not in text
    assert text == SECRET_CONFIG_TEXT
    assert values.value([make({})]) == "[{}]"


def test_os_environ_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", "env-s3cr3t")
    text = Summarizer(1_000_000, DEFAULT_REDACT).value(os.environ)
    assert "'MY_SERVICE_API_KEY': '***'" in text
    assert "env-s3cr3t" not in text


def test_a_long_mapping_is_cut_with_a_count() -> None:
    text = values.value(MappingProxyType(dict.fromkeys(range(1000), 0)))
    assert text.startswith("{0: 0, 1: 0, ")
    assert text.endswith(", ...(973 more)}")
    assert len(text) <= 200


@dataclasses.dataclass
class Credentials:
    user: str
    password: str
    hidden: str = dataclasses.field(default="invisible", repr=False)
    ClassLevel: ClassVar[str] = "class"


class Endpoint(NamedTuple):
    url: str
    api_key: str


def test_dataclasses_and_named_tuples_redact_secret_fields() -> None:
    assert values.value(Credentials("ada", "hunter2")) == "Credentials(user='ada', password='***')"
    assert values.value(Endpoint("https://x", "k3y")) == "Endpoint(url='https://x', api_key='***')"
    nested = {"creds": [Credentials("ada", "hunter2")], "endpoint": Endpoint("u", "k3y")}
    text = values.value(nested)
    assert "hunter2" not in text
    assert "k3y" not in text
    assert values.value(Credentials) == repr(Credentials)  # the class itself is no record


def test_namespaces_redact_secret_attributes() -> None:
    args = argparse.Namespace(lr=0.1, hf_token="hf_s3cr3t")
    assert values.value(args) == "Namespace(lr=0.1, hf_token='***')"
    assert values.value(SimpleNamespace(password="x")) == "SimpleNamespace(password='***')"


def test_pydantic_models_redact_secret_fields_and_extras() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Settings(pydantic.BaseModel):  # type: ignore[misc,name-defined]
        model_config = pydantic.ConfigDict(extra="allow")
        host: str
        db_password: str
        note: str = pydantic.Field(default="invisible", repr=False)

    settings = Settings(host="db", db_password="hunter2", auth_header="Bearer x")
    text = values.value(settings)
    assert text == "Settings(host='db', db_password='***', auth_header='***')"


def test_records_are_cut_like_containers() -> None:
    text = Summarizer(60, DEFAULT_REDACT).value(Endpoint("u" * 100, "k3y"))
    assert text == "Endpoint(url='" + "u" * 17 + "'...(100 chars), ...(1 more))"
    assert Summarizer(30, DEFAULT_REDACT).value(Endpoint("u" * 100, "k3y")) == (
        "Endpoint(...(2 more))"
    )


def test_summarising_a_record_does_not_import_pydantic() -> None:
    code = """
        import dataclasses, json, sys
        from mlops_decorators._values import DEFAULT_REDACT, Summarizer
        @dataclasses.dataclass
        class Point:
            x: int
        text = Summarizer(200, DEFAULT_REDACT).value(Point(1))
        print(json.dumps([text, "pydantic" in sys.modules]))
    """
    assert run_python(code) == ["Point(x=1)", False]


SECRET_NAMES = [
    "password", "PASSWORD", "db_password", "password2", "passwords", "passwd",
    "api_key", "API_KEY", "apiKey", "APIKey", "x-api-key", "apikey", "APIKEY", "api_keys",
    "access_token", "accessToken", "refresh_token", "token", "hf_token", "TOKEN", "pad_token_id",
    "auth", "AUTH_HEADER", "authHeader", "auth_token", "authorization", "Authorization",
    "secret", "secrets", "client_secret", "clientSecret", "secret_key", "AWS_SECRET_ACCESS_KEY",
    "credential", "credentials", "gcp_credentials", "private_key", "privateKey",
    "cookie", "cookies", "session", "session_id", "db_session_id",
]  # fmt: skip
PLAIN_NAMES = [
    "max_tokens", "num_tokens", "tokens", "tokenizer", "tokenize", "num_sessions", "sessions",
    "author", "authors", "authority", "secretary", "passage", "keyboard", "key", "cache_key",
    "primary_key", "monkey", "learning_rate", "batch_size", "x", "_", "", "authtoken",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_hidden(name: str) -> None:
    assert values.is_secret(name)
    assert values.arguments({name: "s3cr3t"}) == {name: REDACTED}
    assert values.value({name: "s3cr3t"}) == f"{{{name!r}: '***'}}"


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_names_that_only_contain_a_secret_word_are_shown(name: str) -> None:
    assert not values.is_secret(name)
    assert values.arguments({name: 7}) == {name: "7"}


def test_custom_fragments_match_whole_words_too() -> None:
    custom = Summarizer(200, normalise_redact("redact", {"ssn", "x-request-id"}))
    assert custom.is_secret("user_SSN")
    assert custom.is_secret("xRequestId")
    assert not custom.is_secret("ssnumber")
    assert not custom.is_secret("request_id")


class FailingItems(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        yield "fine", 1
        raise RuntimeError("dictionary keys changed during iteration")


class FailingLen:
    def keys(self) -> Any:
        return []

    def items(self) -> Any:
        return []

    def __len__(self) -> int:
        raise OSError("gone")


def test_a_failing_summary_becomes_a_counted_placeholder() -> None:
    summarizer = Summarizer(200, DEFAULT_REDACT)
    assert summarizer.value(FailingItems(a=1)) == "<FailingItems (summary failed: RuntimeError)>"
    assert summarizer.value([1, FailingLen()]) == "[1, <FailingLen (summary failed: OSError)>]"
    assert summarizer.arguments({"cfg": FailingItems(a=1), "x": 1}) == {
        "cfg": "<FailingItems (summary failed: RuntimeError)>",
        "x": "1",
    }
    assert summarizer.failures.value == 3


def test_a_dict_mutated_by_another_thread_never_fails_the_summary() -> None:
    shared = {f"key{i}": i for i in range(50)}
    stop = threading.Event()
    summarizer = Summarizer(200, DEFAULT_REDACT)
    placeholder = "<dict (summary failed: RuntimeError)>"
    texts = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: a collision within a few hundred calls
    mutator = resizing_thread(shared, stop)
    mutator.start()
    try:
        for _ in range(20_000):
            texts.append(summarizer.value(shared))
            if texts[-1] == placeholder:
                break
    finally:
        stop.set()
        mutator.join()
        sys.setswitchinterval(switch)
    assert all(t.startswith("{'key0': 0,") or t == placeholder for t in texts)
    assert summarizer.failures.value == texts.count(placeholder)


def test_error_text_is_cut_like_values() -> None:
    summarizer = Summarizer(50, DEFAULT_REDACT)
    assert summarizer.error_text(ValueError("short")) == "short"
    text = summarizer.error_text(ValueError("x" * 100_000))
    assert text == "x" * 50 + "...(100000 chars)"

    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    expected = "<UnprintableError (str failed: RuntimeError)>"
    assert summarizer.error_text(UnprintableError()) == expected
    assert summarizer.failures.value == 1
