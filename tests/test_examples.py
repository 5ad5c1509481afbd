"""Every script in ``examples/`` runs to completion and prints what it is meant to show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"

# Example file name -> a line fragment its output must contain (None: exit status only).
EXPECTED: dict[str, str | None] = {
    "timer_training_loop.py": "train_epoch          5",
    "log_calls_feature_pipeline.py": "features=ndarray(shape=(10000, 3), dtype=float32)",
    "retry_flaky_service.py": "refused by the budget",
    "cache_embeddings.py": "cached arrays are read-only",
    "validate_predict.py": "argument 'features': 3 NaN values (first at [3, 2])",
    "monitor_pipeline.py": 'mlops_errors_total{batch="",error_type="CorruptRecordError"',
    "memory_guard_batch.py": "fallback: scored 1,000,000 rows in 20 chunks of 50,000",
    "serve_model.py": "422 create_app.<locals>.predict(): argument 'batch.rows': shape (2, 3)",
}
# A service runs its self-test instead of serving; it needs the `examples` dependency group.
ARGS: dict[str, list[str]] = {"serve_model.py": ["--self-test"]}
NEEDS: dict[str, list[str]] = {"serve_model.py": ["fastapi", "uvicorn", "httpx"]}

SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def test_examples_exist() -> None:
    names = {script.name for script in SCRIPTS}
    assert {"timer_training_loop.py", "log_calls_feature_pipeline.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_example_runs(script: Path) -> None:
    for module in NEEDS.get(script.name, []):
        pytest.importorskip(module, reason=f"{script.name} needs the examples dependency group")
    completed = subprocess.run(
        [sys.executable, str(script), *ARGS.get(script.name, [])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=script.parent.parent,
    )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout + completed.stderr
    assert output.strip(), "an example should show what it does"
    expected = EXPECTED.get(script.name)
    if expected is not None:
        assert expected in output


def example_output(name: str) -> str:
    """What ``examples/<name>`` prints on stdout (it must succeed)."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_log_calls_example_shows_redaction_and_the_reraised_error() -> None:
    output = example_output("log_calls_feature_pipeline.py")
    assert "sk-live" not in output
    assert "ada@example.com" not in output
    assert "api_key='***'" in output
    assert "[function=validate] validate raised ValueError" in output
    assert "Traceback (most recent call last)" in output
    assert "caught the re-raised error" in output


def test_validate_predict_example_rejects_bad_batches_without_showing_the_token() -> None:
    output = example_output("validate_predict.py")
    assert "12345" not in output
    assert "argument 'settings.threshold': Input should be less than 1 (got 1.5)" in output
    assert "6 batches, 5 rejected" in output
