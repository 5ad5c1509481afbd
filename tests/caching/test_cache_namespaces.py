"""Which function a shared store's entries belong to: closures, lambdas, partials and callable
objects need a `namespace=`, and the main script has one name in every process."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mlops_decorators.caching import MemoryBackend, SQLiteBackend, cache_result

SECRET = "test-secret"


@pytest.fixture
def sqlite(tmp_path: Path) -> Any:
    backend = SQLiteBackend(tmp_path / "cache.db", secret=SECRET)
    yield backend
    backend.close()


def make_scaler(factor: int, backend: Any, **options: Any) -> Any:
    @cache_result(backend=backend, **options)
    def scale(x: int) -> int:
        return x * factor

    return scale


def test_closures_of_one_factory_are_refused_without_a_namespace(sqlite: Any) -> None:
    with pytest.raises(ValueError, match=r"^namespace is needed") as info:
        make_scaler(2, sqlite)
    message = str(info.value)
    assert "make_scaler.<locals>.scale" in message
    assert "closure (over factor)" in message
    assert "namespace=f'scale-{factor}'" in message


def test_closures_named_apart_keep_their_own_results(sqlite: Any) -> None:
    double = make_scaler(2, sqlite, namespace="scale-2")
    triple = make_scaler(3, sqlite, namespace="scale-3")
    assert (double(5), triple(5), double(5), triple(5)) == (10, 15, 10, 15)
    assert (double.cache_info().hits, triple.cache_info().hits) == (1, 1)
    double.cache_clear()
    assert triple(5) == 15
    assert triple.cache_info().hits == 2  # clearing one namespace left the other's entry


def test_closures_need_no_namespace_in_memory() -> None:
    double, triple = make_scaler(2, None), make_scaler(3, MemoryBackend())
    assert (double(5), triple(5), double(5), triple(5)) == (10, 15, 10, 15)


def twice(x: int) -> int:
    return 2 * x


class Doubler:
    def __call__(self, x: int) -> int:
        return 2 * x

    def method(self, x: int) -> int:
        return 2 * x


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (lambda x: x, "it is a lambda"),
        (functools.partial(twice), "it is a functools.partial"),
        (Doubler(), "callable object named after its class"),
        (Doubler().method, "it is a bound method"),
        ("abc".zfill, "it is a bound method"),
    ],
    ids=["lambda", "partial", "callable object", "bound method", "bound builtin method"],
)
def test_names_that_other_functions_share_are_refused(
    sqlite: Any, target: Any, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        cache_result(backend=sqlite)(target)
    named = cache_result(backend=sqlite, namespace="mine")(target)
    assert named.cache_key(1).startswith("mine:")


def test_functions_that_their_name_identifies_are_accepted(sqlite: Any) -> None:
    def outer() -> Any:
        def nested(x: int) -> int:  # no captured variables: the same code on every call
            return x + 1

        return nested

    class Base:
        def predict(self, x: int) -> int:
            return x

    class Model(Base):
        @cache_result(backend=sqlite, ignore=("self",))
        def predict(self, x: int) -> int:
            return super().predict(x) + 1  # a __class__ cell, which the class names

    first, second = cache_result(backend=sqlite)(outer()), cache_result(backend=sqlite)(outer())
    assert first(1) == second(1) == 2
    assert second.cache_info().hits == 1  # one function, one set of entries
    assert Model().predict(1) == Model().predict(1) == 2
    assert cache_result(backend=sqlite)(twice).cache_key(1).startswith(f"{__name__}.twice:")
    assert cache_result(backend=sqlite)(len)("abc") == 3


def defined_in(module_globals: dict[str, Any]) -> Any:
    """A function whose module is `module_globals` (as a script or notebook defines one)."""
    exec("def features(x):\n    return x\n", module_globals)
    return module_globals["features"]


@pytest.mark.parametrize(
    ("module_globals", "namespace"),
    [
        ({"__name__": "__main__", "__file__": "/srv/app/train.py"}, "train.features"),
        ({"__name__": "__mp_main__", "__file__": "/srv/app/train.py"}, "train.features"),
        (  # python -m app.train: its spawned workers get the same __spec__
            {"__name__": "__main__", "__spec__": type("Spec", (), {"name": "app.train"})()},
            "app.train.features",
        ),
    ],
    ids=["script", "spawned worker of the script", "python -m"],
)
def test_the_main_module_is_named_after_its_script(
    sqlite: Any, module_globals: dict[str, Any], namespace: str
) -> None:
    cached = cache_result(backend=sqlite)(defined_in(module_globals))
    assert cached.cache_key(1).rpartition(":")[0] == namespace


def test_a_notebooks_functions_need_a_namespace(sqlite: Any) -> None:
    notebook = {"__name__": "__main__"}  # no file: a notebook, a REPL, python -c
    with pytest.raises(ValueError, match=r"__main__ without a file"):
        cache_result(backend=sqlite)(defined_in(notebook))
    cached = cache_result(backend=sqlite, namespace="features")(defined_in(notebook))
    assert cached.cache_key(1).startswith("features:")
    assert cache_result(defined_in(notebook)).cache_key(1) == ("__main__.features", (1,))


SPAWNED = textwrap.dedent(
    """
    import multiprocessing
    import os
    import sys

    from mlops_decorators.caching import SQLiteBackend, cache_result

    backend = SQLiteBackend(sys.argv[1], secret="s")


    @cache_result(ttl=None, backend=backend)
    def whose(x: int) -> int:
        return os.getpid()


    if __name__ == "__main__":
        parent = whose(1)
        with multiprocessing.get_context(sys.argv[2]).Pool(1) as pool:
            assert pool.apply(whose, (1,)) == parent, "the worker missed the parent's entry"
            whose.cache_clear()
            assert pool.apply(whose, (1,)) != parent, "the parent's clear missed the worker's"
            assert whose(1) == pool.apply(whose, (1,)) != parent, "the worker's entry is shared"
        print("ok")
    """
)


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_spawned_workers_share_the_main_scripts_entries(tmp_path: Path, start_method: str) -> None:
    """Under spawn a worker runs the script as __mp_main__, the parent as __main__: one name."""
    script = tmp_path / "train.py"
    script.write_text(SPAWNED)
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "cache.db"), start_method],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def foreign(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def _module_level(x: int) -> int:
    return 3 * x


@pytest.mark.parametrize(
    "inner", ["timer", "log_calls", "validate_input", "memory_guard", "foreign"]
)
def test_a_module_function_under_other_decorators_needs_no_namespace(
    sqlite: Any, inner: str
) -> None:
    """A wrapper captures its decorator's state; the function it wraps is what is named."""
    import mlops_decorators

    decorator = foreign if inner == "foreign" else getattr(mlops_decorators, inner)
    cached = cache_result(backend=sqlite)(decorator(_module_level))
    assert (cached(2), cached(2)) == (6, 6)
    assert cached.cache_info().hits == 1


def test_a_closure_under_another_decorator_still_needs_a_namespace(sqlite: Any) -> None:
    def make(factor: int) -> Any:
        @cache_result(backend=sqlite)
        @foreign
        def scale(x: int) -> int:
            return x * factor

        return scale

    with pytest.raises(ValueError, match="closure \\(over factor\\)"):
        make(2)
