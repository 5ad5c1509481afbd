"""`log_calls`: what is logged (bound arguments, result, duration, exceptions), redaction,
summaries, the disabled-logger fast path, async functions, methods and bad arguments."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import re
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any
from unittest import mock

import numpy as np
import pytest

from fakes import FakeClock, resizing_thread
from mlops_decorators import DEFAULT_REDACT, _core, log_calls
from mlops_decorators import call_logging as call_logging_module

LOGGER = "tests.call_logging"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


@log_calls
def module_level(x: int) -> int:
    return x


def test_call_and_result_records(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    def add(a: int, b: int = 2, *args: int, scale: int = 1, **extra: Any) -> int:
        return (a + b + sum(args)) * scale

    assert add(1, 2, 3, scale=2, note="x") == 12
    call, result = logs.records
    name = "test_call_and_result_records.<locals>.add"
    assert (
        call.getMessage() == f"calling {name}(a=1, b=2, args=(3,), scale=2, extra={{'note': 'x'}})"
    )
    assert call.levelno == logging.INFO
    assert call.function == name  # type: ignore[attr-defined]
    assert call.call_args == {  # type: ignore[attr-defined]
        "a": "1",
        "b": "2",
        "args": "(3,)",
        "scale": "2",
        "extra": "{'note': 'x'}",
    }
    assert result.getMessage().startswith(f"{name} returned 12 in ")
    assert result.result == "12"  # type: ignore[attr-defined]
    assert result.duration_s >= 0  # type: ignore[attr-defined]
    assert result.getMessage().endswith(("ns", "µs", "ms", " s"))


def test_defaults_are_not_shown(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    def fn(a: int, b: int = 2) -> None:
        pass

    fn(1)
    assert messages(logs)[0].endswith(".fn(a=1)")


def test_default_logger_is_the_function_module_logger(logs: pytest.LogCaptureFixture) -> None:
    module_level(1)
    assert {r.name for r in logs.records} == {__name__}


def test_logger_by_name_object_and_keyword(logs: pytest.LogCaptureFixture) -> None:
    other = logging.getLogger("tests.other")

    @log_calls(LOGGER)
    def positional() -> None:
        pass

    @log_calls(logger=other, level="DEBUG")
    def keyword() -> None:
        pass

    positional()
    keyword()
    assert [(r.name, r.levelno) for r in logs.records] == [
        (LOGGER, logging.INFO),
        (LOGGER, logging.INFO),
        ("tests.other", logging.DEBUG),
        ("tests.other", logging.DEBUG),
    ]


def test_log_args_and_log_result_switches(logs: pytest.LogCaptureFixture) -> None:
    @log_calls(log_args=False, log_result=False)
    def secretive(a: int) -> int:
        return a

    secretive(5)
    call, done = logs.records
    assert call.getMessage().endswith("secretive")
    assert not hasattr(call, "call_args")
    assert " finished in " in done.getMessage()
    assert not hasattr(done, "result")


class Service:
    @log_calls
    def method(self, x: int) -> int:
        return x

    @log_calls
    @classmethod
    def build(cls, token: str) -> str:
        return token

    @log_calls
    @staticmethod
    def helper(y: int) -> int:
        return y

    @log_calls
    async def amethod(self, z: int) -> int:
        await asyncio.sleep(0)
        return z


async def test_methods_omit_self_and_cls(logs: pytest.LogCaptureFixture) -> None:
    service = Service()
    service.method(1)
    Service.build("t0k3n")
    service.helper(2)
    await service.amethod(3)
    calls = [m for m in messages(logs) if m.startswith("calling")]
    assert calls == [
        "calling Service.method(x=1)",
        "calling Service.build(token='***')",
        "calling Service.helper(y=2)",
        "calling Service.amethod(z=3)",
    ]


def test_only_receivers_are_left_out(logs: pytest.LogCaptureFixture) -> None:
    class Model:
        @log_calls
        @classmethod
        def load(klass, path: str) -> None:  # noqa: N804 -- any name: it is the receiver
            pass

        @log_calls
        @staticmethod
        def scale(self: int, cls: int) -> None:  # a static method's own parameters
            pass

    @log_calls
    def standalone(self: int) -> None:  # not defined in a class body
        pass

    Model.load("p")
    Model.scale(1, 2)
    standalone(3)
    assert [m for m in messages(logs) if m.startswith("calling")] == [
        "calling test_only_receivers_are_left_out.<locals>.Model.load(path='p')",
        "calling test_only_receivers_are_left_out.<locals>.Model.scale(self=1, cls=2)",
        "calling test_only_receivers_are_left_out.<locals>.standalone(self=3)",
    ]


def test_secret_arguments_are_redacted_by_default(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    def connect(
        host: str,
        password: str,
        client_secret: str,
        auth_token: str,
        api_key: str,
        apikey: str,
        Authorization: str,  # noqa: N803 -- case-insensitive matching is the point
        credentials: str,
        cookie: str,
        session_id: str,
    ) -> None:
        pass

    connect("db", *["hunter2"] * 9)
    text = messages(logs)[0]
    assert "hunter2" not in text
    assert text.count("'***'") == 9
    assert "host='db'" in text


def test_redaction_inside_dict_arguments(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    def configure(config: dict[str, Any]) -> None:
        pass

    configure({"url": "x", "PASSWORD": "hunter2", "nested": {"Api_Key": "k3y"}})
    text = messages(logs)[0]
    assert "hunter2" not in text
    assert "k3y" not in text
    assert "'url': 'x'" in text


class Settings(Mapping[str, Any]):
    """A config object that is a Mapping without being a dict (like OmegaConf's DictConfig)."""

    def __init__(self, **content: Any) -> None:
        self._content = content

    def __getitem__(self, key: str) -> Any:
        return self._content[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._content)

    def __len__(self) -> int:
        return len(self._content)

    def __repr__(self) -> str:
        return f"Settings({self._content!r})"


@dataclasses.dataclass
class Login:
    user: str
    password: str


def test_redaction_inside_any_mapping_and_record(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    def connect(cfg: Any, env: Any, login: Login, maxTokens: int) -> None:  # noqa: N803
        pass

    connect(
        Settings(db=Settings(password="hunter2", host="h")),
        MappingProxyType({"AUTH_HEADER": "Bearer s3cr3t"}),
        Login("ada", "pa55"),
        maxTokens=512,
    )
    text = messages(logs)[0]
    for secret in ("hunter2", "s3cr3t", "pa55"):
        assert secret not in text
    assert text.endswith(
        "(cfg={'db': {'password': '***', 'host': 'h'}}, env={'AUTH_HEADER': '***'}, "
        "login=Login(user='ada', password='***'), maxTokens=512)"
    )


def test_redact_replaces_extends_or_disables(logs: pytest.LogCaptureFixture) -> None:
    @log_calls(redact={"ssn"})
    def replaced(ssn: str, password: str) -> None:
        pass

    @log_calls(redact=DEFAULT_REDACT | {"SSN"})
    def extended(ssn: str, password: str) -> None:
        pass

    @log_calls(redact=())
    def disabled(ssn: str, password: str) -> None:
        pass

    replaced("1", "2")
    extended("1", "2")
    disabled("1", "2")
    calls = [m.split("(", 1)[1] for m in messages(logs) if m.startswith("calling")]
    assert calls == [
        "ssn='***', password='2')",
        "ssn='***', password='***')",
        "ssn='1', password='2')",
    ]


def test_arrays_are_summarised_and_long_values_cut(logs: pytest.LogCaptureFixture) -> None:
    @log_calls(max_repr=50)
    def fit(features: Any, label: str) -> list[int]:
        return list(range(100))

    fit(np.zeros((10000, 3), dtype=np.float32), "y" * 1000)
    call, result = messages(logs)
    assert "features=ndarray(shape=(10000, 3), dtype=float32)" in call
    assert "...(1000 chars)" in call
    assert len(call) < 200
    assert (
        result.split(" returned ")[1].split(" in ")[0]
        == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...(89 more)]"
    )


def test_a_bad_call_is_logged_and_raises_as_usual(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    def one(a: int) -> int:
        return a

    with pytest.raises(TypeError):
        one(1, 2, token="t")  # type: ignore[call-arg]
    assert messages(logs)[0].endswith("one(arg0=1, arg1=2, token='***')")


def test_a_builtin_without_a_signature_is_logged_by_position(
    logs: pytest.LogCaptureFixture,
) -> None:
    logged_max = log_calls(logger=LOGGER)(max)  # inspect.signature(max) raises ValueError
    assert logged_max(3, 7, key=abs) == 7
    assert messages(logs)[0] == "calling max(arg0=3, arg1=7, key=<built-in function abs>)"
    assert messages(logs)[1].startswith("max returned 7 in ")


def test_exception_logged_at_error_with_traceback_and_reraised_unchanged(
    logs: pytest.LogCaptureFixture,
) -> None:
    error = ValueError("broken batch")

    @log_calls
    def train(batch: int) -> None:
        raise error

    with pytest.raises(ValueError, match="broken batch") as info:
        train(7)
    assert info.value is error
    assert traceback.extract_tb(info.value.__traceback__)[-1].name == "train"
    record = logs.records[-1]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[1] is error
    assert record.getMessage().startswith(
        "test_exception_logged_at_error_with_traceback_and_reraised_unchanged.<locals>.train "
        "raised ValueError: broken batch after "
    )
    assert record.exception == "ValueError"  # type: ignore[attr-defined]
    assert record.call_args == {"batch": "7"}  # type: ignore[attr-defined]


def test_exception_text_is_cut_to_max_repr(logs: pytest.LogCaptureFixture) -> None:
    error = ValueError("x" * 100_000)

    @log_calls(max_repr=20)
    def fail() -> None:
        raise error

    with pytest.raises(ValueError, match=r"^x+$") as info:
        fail()
    assert info.value is error  # the exception itself is untouched
    (_, record) = logs.records
    assert record.getMessage().startswith(
        "test_exception_text_is_cut_to_max_repr.<locals>.fail raised ValueError: "
        + "x" * 20
        + "...(100000 chars) after "
    )
    assert len(record.getMessage()) < 200
    assert record.exc_info is not None
    assert record.exc_info[1] is error  # handlers still get the exception and its traceback


class Unsummarisable(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("dictionary keys changed during iteration")


def test_a_failing_summary_never_fails_the_call(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    def echo(cfg: Any) -> Any:
        return cfg

    cfg = Unsummarisable(a=1)
    assert echo(cfg) is cfg
    placeholder = "<Unsummarisable (summary failed: RuntimeError)>"
    assert messages(logs)[0].endswith(f"(cfg={placeholder})")
    assert messages(logs)[1].startswith(f"{echo.__qualname__} returned {placeholder} in ")


def test_a_dict_mutated_by_another_thread_never_fails_the_call() -> None:
    shared = {f"key{i}": i for i in range(50)}
    stop = threading.Event()
    logger = logging.getLogger("tests.call_logging.mutated")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False  # records are built (summaries made), not printed
    logger.setLevel(logging.INFO)
    records: list[logging.LogRecord] = []
    logger.addFilter(lambda record: bool(records.append(record)))

    @log_calls(logger, log_result=False)
    def score(features: dict[str, int]) -> int:
        return len(features)

    placeholder = "<dict (summary failed: RuntimeError)>"
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    mutator = resizing_thread(shared, stop)
    mutator.start()
    try:
        for _ in range(20_000):
            assert score(shared) >= 50
            if records[-2].call_args["features"] == placeholder:  # type: ignore[attr-defined]
                break
    finally:
        stop.set()
        mutator.join()
        sys.setswitchinterval(switch)
        logger.filters.clear()


@pytest.mark.parametrize("asynchronous", [False, True])
def test_exception_logged_even_when_the_level_is_disabled(
    logs: pytest.LogCaptureFixture, asynchronous: bool
) -> None:
    logs.set_level(logging.WARNING)

    if asynchronous:

        @log_calls(level=logging.DEBUG)
        async def fail() -> None:
            raise KeyError("k")

        def call() -> None:
            asyncio.run(fail())

    else:

        @log_calls(level=logging.DEBUG)
        def fail() -> None:
            raise KeyError("k")

        call = fail

    with pytest.raises(KeyError):
        call()
    (record,) = logs.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert not hasattr(record, "duration_s")  # not timed: the fast path measures nothing


def test_nothing_logged_when_even_error_is_disabled(logs: pytest.LogCaptureFixture) -> None:
    logs.set_level(logging.CRITICAL)

    @log_calls
    def fail() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        fail()
    assert logs.records == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, asyncio.CancelledError])
def test_interruptions_are_not_logged_as_errors(
    logs: pytest.LogCaptureFixture, interruption: type[BaseException]
) -> None:
    @log_calls
    def interrupted() -> None:
        raise interruption

    with pytest.raises(interruption):
        interrupted()
    record = logs.records[-1]
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    assert f"raised {interruption.__name__}" in record.getMessage()


async def test_cancelled_task_is_not_logged_as_error(logs: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()

    @log_calls
    async def wait_forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(wait_forever())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r.levelno for r in logs.records] == [logging.INFO, logging.INFO]
    assert "raised CancelledError" in logs.records[-1].getMessage()


def test_disabled_interruption_is_not_logged(logs: pytest.LogCaptureFixture) -> None:
    logs.set_level(logging.WARNING)

    @log_calls
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert logs.records == []


async def test_async_functions(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    async def fetch(url: str, token: str) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"status": 200}

    assert await fetch("http://x", token="t") == {"status": 200}
    call, result = messages(logs)
    assert call.endswith("fetch(url='http://x', token='***')")
    assert " returned {'status': 200} in " in result


async def test_async_exception(logs: pytest.LogCaptureFixture) -> None:
    @log_calls
    async def fail() -> None:
        await asyncio.sleep(0)
        raise OSError("down")

    with pytest.raises(OSError, match="down"):
        await fail()
    assert logs.records[-1].levelno == logging.ERROR


def test_a_generator_is_logged_when_iterated(
    logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(0.0)
    monkeypatch.setattr(_core, "perf_counter_ns", clock.ns)

    @log_calls
    def batches(n: int, token: str) -> Iterator[int]:
        for i in range(n):
            clock.advance(0.05)
            yield i

    iterator = batches(3, "t0k3n")
    assert logs.records == []  # nothing runs until the first next()
    for _ in iterator:
        clock.advance(1)
    assert inspect.isgeneratorfunction(batches)
    call, end = logs.records
    assert call.getMessage().endswith("batches(n=3, token='***')")
    assert end.getMessage().endswith(
        "batches yielded 3 items in 150 ms (3.15 s from first next to exhaustion)"
    )
    assert (end.items, end.duration_s, end.elapsed_s) == (  # type: ignore[attr-defined]
        3,
        pytest.approx(0.15),
        pytest.approx(3.15),
    )


async def test_an_async_generator_is_logged_when_iterated_and_its_error_at_error(
    logs: pytest.LogCaptureFixture,
) -> None:
    @log_calls
    async def stream() -> AsyncIterator[int]:
        yield 1
        await asyncio.sleep(0)
        raise ValueError("stream broke")

    assert inspect.isasyncgenfunction(stream)
    with pytest.raises(ValueError, match="stream broke"):
        async for _ in stream():
            pass
    call, error = logs.records
    assert call.getMessage().endswith("stream()")
    assert error.levelno == logging.ERROR
    assert error.exc_info is not None
    assert "stream raised ValueError: stream broke after " in error.getMessage()


def test_a_generator_closed_early_says_so_and_a_disabled_one_logs_nothing(
    logs: pytest.LogCaptureFixture,
) -> None:
    @log_calls(LOGGER)
    def numbers() -> Iterator[int]:
        yield from range(10)

    for _ in numbers():
        break
    assert re.fullmatch(
        r".*numbers yielded 1 item in \S+ \S+ \(\S+ \S+ from first next to close\)",
        messages(logs)[-1],
    )
    logs.clear()
    logs.set_level(logging.WARNING, logger=LOGGER)
    assert list(numbers()) == list(range(10))
    assert logs.records == []


@pytest.mark.parametrize("asynchronous", [False, True])
def test_nothing_is_formatted_when_the_logger_is_disabled(
    logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    logs.set_level(logging.WARNING)
    summarise = mock.Mock(side_effect=AssertionError("formatted while disabled"))
    duration = mock.Mock(side_effect=AssertionError("formatted while disabled"))
    monkeypatch.setattr(call_logging_module.Summarizer, "value", summarise)
    monkeypatch.setattr(call_logging_module.Summarizer, "arguments", summarise)
    monkeypatch.setattr(call_logging_module, "format_duration", duration)
    binding = mock.Mock(side_effect=AssertionError("arguments bound while disabled"))
    monkeypatch.setattr(call_logging_module._CallLog, "arguments", binding)

    if asynchronous:

        @log_calls
        async def work(x: np.ndarray, password: str) -> int:
            return 1

        assert asyncio.run(work(np.ones(3), "p")) == 1
    else:

        @log_calls
        def work(x: np.ndarray, password: str) -> int:  # type: ignore[misc]
            return 1

        assert work(np.ones(3), "p") == 1
    assert logs.records == []
    summarise.assert_not_called()
    duration.assert_not_called()
    binding.assert_not_called()


def test_level_is_checked_at_call_time(logs: pytest.LogCaptureFixture) -> None:
    @log_calls(LOGGER)
    def fn() -> None:
        pass

    logs.set_level(logging.WARNING, logger=LOGGER)
    fn()
    assert logs.records == []
    logs.set_level(logging.INFO, logger=LOGGER)
    fn()
    assert len(logs.records) == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"level": "NOPE"}, ValueError, "level must be a logging level .* got 'NOPE'"),
        ({"level": 12345}, ValueError, "level must be a logging level"),
        ({"level": True}, TypeError, "level must be a logging level .* got bool True"),
        ({"logger": print}, TypeError, "logger must be a logging.Logger, a logger name or None"),
        ({"logger": 3}, TypeError, "logger must be a logging.Logger, a logger name or None"),
        ({"log_args": "yes"}, TypeError, "log_args must be True or False, got str 'yes'"),
        ({"log_result": 1}, TypeError, "log_result must be True or False, got int 1"),
        ({"max_repr": 5}, ValueError, "max_repr must be an int >= 10, got 5"),
        ({"max_repr": True}, TypeError, "max_repr must be an int >= 10, got bool True"),
        ({"max_repr": 50.0}, TypeError, "max_repr must be an int >= 10, got float 50.0"),
        ({"redact": "password"}, TypeError, "redact must be an iterable of name fragments"),
        ({"redact": [""]}, TypeError, "redact must contain non-empty strings only"),
    ],
)
def test_bad_arguments_fail_at_decoration(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        log_calls(**kwargs)
    if "logger" not in kwargs:
        with pytest.raises(error, match=message):
            log_calls(module_level, **kwargs)  # bare use validates the options too


def test_logger_given_twice_is_refused() -> None:
    with pytest.raises(TypeError, match="logger both positionally and as a keyword"):
        log_calls("a", logger="b")  # type: ignore[call-overload]


def test_decorating_a_non_callable_fails() -> None:
    decorator: Callable[[Any], Any] = log_calls()
    with pytest.raises(TypeError, match="@log_calls can only decorate a callable"):
        decorator(3)
