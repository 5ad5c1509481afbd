"""``python -m mlops_decorators``: the tour, ``--help`` and ``--check``, each in a fresh
interpreter, as a newcomer runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

# Never imported here: importing the tour decorates its pipeline in this process.
NAMES = ["fetch", "embed", "predict", "batch", "serve", "report"]
LIBRARIES = [
    "numpy",
    "xxhash",
    "redis",
    "prometheus-client",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "pydantic",
    "psutil",
    "torch",
    "nvidia-ml-py",
]


def run_module(*args: str, blocked: tuple[str, ...] = ()) -> tuple[str, dict[str, Any]]:
    """Run ``python -m mlops_decorators *args`` with the `blocked` top-level packages made
    unimportable; return its stdout and what the process looked like afterwards."""
    script = textwrap.dedent(
        f"""
        import json, logging, runpy, sys

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Blocker())
        sys.argv = ["mlops_decorators", *{args!r}]
        try:
            runpy.run_module("mlops_decorators", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            status = exc.code
        else:
            status = "no exit"
        after = {{
            "status": status,
            "root_handlers": len(logging.getLogger().handlers),
            "loaded": sorted(m for m in ("numpy", "xxhash", "torch") if m in sys.modules),
        }}
        print(json.dumps(after), file=sys.stderr)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, json.loads(completed.stderr.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tour() -> tuple[str, dict[str, Any]]:
    return run_module(blocked=("numpy",))


def test_the_tour_runs_every_section_in_order_without_numpy(
    tour: tuple[str, dict[str, Any]],
) -> None:
    output, after = tour
    assert after["status"] == 0
    assert "numpy" not in after["loaded"]
    headers = [output.index(f"\n{i}. {name}: ") for i, name in enumerate(NAMES, 1)]
    assert headers == sorted(headers)


def test_the_tour_shows_what_each_decorator_did(tour: tuple[str, dict[str, Any]]) -> None:
    output, _ = tour
    expected = [
        "1 call, 3 attempts, 2 retries",  # retry
        "calling fetch_features(user_id=7, api_key='***')",  # log_calls
        "3 hits, 3 misses; timer_stats: the model ran 3 times",  # cache_result, timer
        "@monitor above the cache saw all 6 calls",  # monitor
        "5 batches, 3 rejected before the model ran",  # validate_input
        "argument 'rows[0][1]': Input should be a finite number",
        "1 call, 1 refused, 1 fallback",  # memory_guard
        "rows scored in 20 chunks",
        "monitor_stats:        3 calls, errors {'InputValidationError': 1}",
        "cache_info:           1 hit",
    ]
    missing = [line for line in expected if line not in output]
    assert not missing, output
    assert "sk-live" not in output  # the api_key, redacted


def test_the_tour_ends_with_the_monitor_report(tour: tuple[str, dict[str, Any]]) -> None:
    output, _ = tour
    report = output[output.rindex("monitor.report():") :].splitlines()[1:]  # to the end
    assert report[0].split()[:3] == ["name", "calls", "errors"]
    rows = {line.split()[0]: line.split()[1:3] for line in report[1:]}
    assert rows["serve"] == ["3", "1"]  # calls, errors
    assert rows["embed.compute"] == ["3", "0"]  # a timer, in the same report
    assert {"fetch_features", "predict", "BatchScorer.score"} <= set(rows)


def test_the_tour_logs_through_its_own_handler_only(tour: tuple[str, dict[str, Any]]) -> None:
    output, after = tour
    assert after["root_handlers"] == 0  # no logging.basicConfig
    assert "   log WARNING: retrying fetch_features: attempt 1/4 failed" in output
    assert "Traceback" not in output  # one line per record


def test_help_lists_the_sections() -> None:
    output, after = run_module("--help")
    assert after["status"] == 0
    assert "--check" in output
    for i, name in enumerate(NAMES, 1):
        assert f"{i}. {name}" in output


@pytest.mark.parametrize(
    ("blocked", "keys"),
    [((), "cache keys of arrays: xxhash"), (("xxhash",), "cache keys of arrays: BLAKE2b")],
    ids=["xxhash", "no xxhash"],
)
def test_check_prints_what_a_bug_report_needs(blocked: tuple[str, ...], keys: str) -> None:
    pytest.importorskip("xxhash")
    output, after = run_module("--check", blocked=blocked)
    assert after["status"] == 0
    assert after["loaded"] == ([] if blocked else ["xxhash"])  # numpy and torch stay out
    lines = output.splitlines()
    assert lines[0].startswith("mlops-decorators 0.1.0 (")
    assert lines[1].startswith(f"Python {sys.version_info.major}.{sys.version_info.minor}.")
    for name in LIBRARIES:
        assert any(line.split()[:1] == [name] for line in lines), name
    assert any(line.strip().startswith("host: ") for line in lines)
    assert keys in output
