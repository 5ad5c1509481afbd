"""The front door: lazy imports (PEP 562), ``__all__``/``__dir__``/``__version__``, and the
guarantee that importing a submodule can never shadow a public name on the package.

Import guarantees are checked in fresh interpreters: this process has long imported everything.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import pickle
import pkgutil
import re
import textwrap
from pathlib import Path

import pytest

import mlops_decorators
from fakes import run_python

HEAVY = ("numpy", "pydantic", "psutil")
PACKAGE_DIR = Path(mlops_decorators.__file__).parent
SUBMODULES = sorted(info.name for info in pkgutil.iter_modules(mlops_decorators.__path__))


def loaded_after(statement: str) -> dict[str, list[str]]:
    """Which package submodules and third-party libraries `statement` imports."""
    result = run_python(
        f"""
        import json, sys
        before = set(sys.modules)
        {statement}
        new = set(sys.modules) - before
        print(json.dumps({{
            "submodules": sorted(m for m in new if m.startswith("mlops_decorators.")),
            "libraries": sorted({{m.split(".")[0] for m in new}}),
            "preloaded": sorted(m for m in before if m.split(".")[0] in {list(HEAVY)!r}),
        }}))
        """
    )
    assert isinstance(result, dict)
    return result


def test_bare_import_loads_no_submodule_and_no_heavy_library() -> None:
    loaded = loaded_after("import mlops_decorators")
    assert loaded["preloaded"] == []  # else the check below would prove nothing
    assert loaded["submodules"] == []
    assert not set(loaded["libraries"]) & {*HEAVY, "typing_extensions"}


def test_light_decorators_load_only_their_modules_and_no_heavy_library() -> None:
    loaded = loaded_after("from mlops_decorators import timer, log_calls")
    assert not set(loaded["libraries"]) & set(HEAVY)
    light = {
        "timing",
        "call_logging",
        "_core",
        "_checks",
        "_events",
        "_fork",
        "_report",
        "_stats",
        "_values",
        "exceptions",
    }
    assert {m.removeprefix("mlops_decorators.") for m in loaded["submodules"]} <= light
    assert {"mlops_decorators.timing", "mlops_decorators.call_logging"} <= set(loaded["submodules"])


def test_validate_input_imports_pydantic_when_decorating_and_no_array_library() -> None:
    """pydantic is needed only once a function is decorated; an `Array` spec checks arrays
    by duck typing, so neither numpy nor torch is imported for it."""
    steps = run_python(
        """
        import json, sys

        def heavy():
            names = ("pydantic", "pydantic_core", "numpy", "torch")
            return sorted(name for name in names if name in sys.modules)

        from mlops_decorators import Array, InputValidationError, validate_input
        steps = [heavy()]
        spec = Array(shape=("n", 4), dtype="float32", ge=0, mean=(0, 1))
        steps.append(heavy())

        @validate_input(x=spec)
        def f(x, y: int):
            return y

        steps.append(heavy())
        try:
            f([1.0], "two")
        except InputValidationError:
            steps.append(heavy())
        print(json.dumps(steps))
        """
    )
    assert steps == [[], [], ["pydantic", "pydantic_core"], ["pydantic", "pydantic_core"]]


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="psutil is the reader off Linux")
def test_memory_guard_reads_memory_without_psutil_or_numpy() -> None:
    loaded = loaded_after(
        "from mlops_decorators import memory_guard\n"
        "        memory_guard(max_percent=100, estimate='1MiB')(lambda: None)()"
    )
    assert not set(loaded["libraries"]) & {*HEAVY, "pynvml", "asyncio"}
    assert "mlops_decorators.memory" in loaded["submodules"]
    assert "mlops_decorators._resources" in loaded["submodules"]


def test_all_is_the_lazy_map_plus_version_and_every_name_resolves() -> None:
    exports = mlops_decorators._EXPORTS
    assert set(mlops_decorators.__all__) == {*exports, "__version__"}
    assert len(mlops_decorators.__all__) == len(set(mlops_decorators.__all__))
    for name in mlops_decorators.__all__:
        value = getattr(mlops_decorators, name)
        if name != "__version__":
            module = importlib.import_module(f"mlops_decorators.{exports[name]}")
            assert value is getattr(module, name)


def test_every_name_is_defined_where_the_map_says_and_listed_in_its_module_all() -> None:
    for name, module_name in mlops_decorators._EXPORTS.items():
        module = importlib.import_module(f"mlops_decorators.{module_name}")
        assert name in module.__all__, f"{name} missing from {module_name}.__all__"


def test_type_checking_imports_match_the_lazy_map() -> None:
    """Static imports (for mypy, pyright, IDEs) name the same objects as the runtime map."""
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text())
    static: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and stmt.module:
                    static.update({alias.name: stmt.module for alias in stmt.names})
    assert static == mlops_decorators._EXPORTS


def test_dir_lists_every_public_name() -> None:
    assert set(mlops_decorators.__all__) <= set(dir(mlops_decorators))


def test_unknown_name_raises_the_usual_attribute_error() -> None:
    with pytest.raises(AttributeError) as info:
        mlops_decorators.no_such_thing  # noqa: B018
    assert str(info.value) == "module 'mlops_decorators' has no attribute 'no_such_thing'"
    with pytest.raises(ImportError, match="no_such_thing"):
        from mlops_decorators import no_such_thing  # type: ignore[attr-defined]  # noqa: F401


def test_first_access_is_cached_in_module_globals() -> None:
    result = run_python(
        """
        import json, mlops_decorators as pkg
        before = "timer" in vars(pkg)
        first = pkg.timer
        print(json.dumps([before, vars(pkg).get("timer") is first, pkg.timer is first]))
        """
    )
    assert result == [False, True, True]


def test_version_matches_installed_metadata() -> None:
    assert mlops_decorators.__version__ == importlib.metadata.version("mlops-decorators")


def test_no_public_name_equals_a_submodule_name() -> None:
    assert {"timing", "call_logging"} <= set(SUBMODULES)  # the listing works
    assert not set(mlops_decorators.__all__) & set(SUBMODULES)


@pytest.mark.parametrize("submodule", SUBMODULES)
def test_importing_a_submodule_never_shadows_a_public_name(submodule: str) -> None:
    """After ``from mlops_decorators.timing import Timer`` the import system binds the
    submodule on the package; ``from mlops_decorators import timer`` must still give the
    decorator."""
    result = run_python(
        f"""
        import importlib, json, types
        importlib.import_module("mlops_decorators.{submodule}")
        import mlops_decorators as pkg
        wrong = []
        for name, module_name in pkg._EXPORTS.items():
            value = getattr(pkg, name)
            expected = getattr(importlib.import_module("mlops_decorators." + module_name), name)
            if value is not expected or isinstance(value, types.ModuleType):
                wrong.append(name)
        from mlops_decorators import timer
        print(json.dumps([wrong, callable(timer) and not isinstance(timer, types.ModuleType)]))
        """
    )
    assert result == [[], True]


def test_exported_exceptions_share_one_base_and_survive_pickling() -> None:
    from mlops_decorators import MlopsDecoratorsError, RetryExhaustedError

    for name in mlops_decorators.__all__:
        value = getattr(mlops_decorators, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, MlopsDecoratorsError), name
    error = RetryExhaustedError("gave up", last_result=[503], attempts=4)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.last_result, copy.attempts) == (
        RetryExhaustedError,
        "gave up",
        [503],
        4,
    )


EXPORTER_LIBRARIES = {"prometheus_client", "opentelemetry"}


def test_monitor_imports_no_exporter_library_until_an_exporter_is_made() -> None:
    """Monitoring, failures (system readings) and reports included: /proc answers, not psutil."""
    code = textwrap.dedent(
        """
        from mlops_decorators import JsonFormatter, PrometheusExporter, StatsDExporter, monitor
        @monitor(system_metrics=True, capture_args=True)
        def fails(x):
            raise ValueError(x)
        try:
            fails(1)
        except ValueError:
            pass
        monitor.report()._repr_html_()
        monitor.snapshot()
        """
    )
    loaded = loaded_after(f"exec({code!r})")
    heavy = {*HEAVY, *EXPORTER_LIBRARIES} - ({"psutil"} if not Path("/proc").exists() else set())
    assert not set(loaded["libraries"]) & heavy
    assert "mlops_decorators.monitoring" in loaded["submodules"]


def test_an_exporter_imports_its_library_when_made() -> None:
    loaded = loaded_after(
        "from mlops_decorators import OpenTelemetryExporter, PrometheusExporter\n"
        "        PrometheusExporter(); OpenTelemetryExporter()"
    )
    assert set(loaded["libraries"]) >= EXPORTER_LIBRARIES


def test_changelog_has_a_dated_entry_for_this_version() -> None:
    changelog = (Path(__file__).resolve().parent.parent / "CHANGELOG.md").read_text("utf-8")
    released = re.findall(r"^## \[(\d[^\]]*)\] - (\d{4}-\d{2}-\d{2})$", changelog, re.MULTILINE)
    assert released, "CHANGELOG.md has no dated release entry"
    assert released[0][0] == mlops_decorators.__version__  # the newest release is this one
