"""Decorated signatures survive for type checkers.

One strict mypy run covers every file in ``tests/typing/``: the ``*api.py`` files must pass
``mypy --strict``, and every wrong call in a ``*bad_calls.py`` file must be an error on exactly
the lines marked ``# E: <code>``. The files are type-checked, never executed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TYPING = Path(__file__).parent / "typing"
FILES = sorted(TYPING.glob("*.py"))
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")
MARKER = re.compile(r"#\s*E:\s*(?P<code>[\w-]+)\s*$")


@pytest.fixture(scope="module")
def mypy_errors() -> dict[str, set[tuple[int, str]]]:
    """(line, code) of each error, by file name."""
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, FILES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr  # 2: crashed
    errors: dict[str, set[tuple[int, str]]] = {file.name: set() for file in FILES}
    for line in completed.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            errors[Path(match["path"]).name].add((int(match["line"]), match["code"]))
    return errors


def marked_errors(file: Path) -> set[tuple[int, str]]:
    return {
        (number, match["code"])
        for number, line in enumerate(file.read_text().splitlines(), start=1)
        if (match := MARKER.search(line))
    }


def test_every_decorator_has_typing_files() -> None:
    names = {file.name for file in FILES}
    for prefix in ("", "retry_", "caching_"):
        assert {f"{prefix}api.py", f"{prefix}bad_calls.py"} <= names


@pytest.mark.parametrize("file", FILES, ids=[file.name for file in FILES])
def test_mypy_reports_exactly_the_marked_errors(
    file: Path, mypy_errors: dict[str, set[tuple[int, str]]]
) -> None:
    expected = marked_errors(file)
    if file.name.endswith("bad_calls.py"):
        assert len(expected) >= 5  # the markers were found
    else:
        assert expected == set()
    assert mypy_errors[file.name] == expected
