"""Decorated signatures survive for type checkers: ``tests/typing/api.py`` passes
``mypy --strict`` and every wrong call in ``tests/typing/bad_calls.py`` is an error, on
exactly the lines marked ``# E: <code>``. The files are type-checked, never executed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TYPING = Path(__file__).parent / "typing"
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")
MARKER = re.compile(r"#\s*E:\s*(?P<code>[\w-]+)\s*$")


@pytest.fixture(scope="module")
def mypy_errors() -> dict[str, set[tuple[int, str]]]:
    """One strict mypy run over both files: (line, code) of each error, by file name."""
    files = [TYPING / "api.py", TYPING / "bad_calls.py"]
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr  # 2: crashed
    errors: dict[str, set[tuple[int, str]]] = {file.name: set() for file in files}
    for line in completed.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            errors[Path(match["path"]).name].add((int(match["line"]), match["code"]))
    return errors


def test_api_file_passes_mypy_strict(mypy_errors: dict[str, set[tuple[int, str]]]) -> None:
    assert mypy_errors["api.py"] == set()


def test_wrong_calls_are_errors_on_exactly_the_marked_lines(
    mypy_errors: dict[str, set[tuple[int, str]]],
) -> None:
    source = (TYPING / "bad_calls.py").read_text().splitlines()
    expected = {
        (number, match["code"])
        for number, line in enumerate(source, start=1)
        if (match := MARKER.search(line))
    }
    assert len(expected) >= 10  # the markers were found
    assert mypy_errors["bad_calls.py"] == expected
