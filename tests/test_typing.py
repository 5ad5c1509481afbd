"""Decorated signatures and the typed accessors survive for type checkers.

One strict mypy run and one strict pyright run cover every file in ``tests/typing/`` and the
README's quick start: the ``*api.py`` files and the README must pass both clean, and every wrong
call in a ``*bad_calls.py`` file must be an error on exactly the lines marked
``# E: <code>`` (mypy must also report that code; pyright names its rules differently, so only
its lines are compared). The files are type-checked, never executed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TYPING = Path(__file__).parent / "typing"
FILES = sorted(TYPING.glob("*.py"))
README_FILE = "readme_quick_start.py"
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")
MARKER = re.compile(r"#\s*E:\s*(?P<code>[\w-]+)\s*$")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def checked_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The typing files plus the README's python blocks, as one strict module."""
    readme = tmp_path_factory.mktemp("readme") / README_FILE
    blocks = PYTHON_BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README has no python block"
    readme.write_text("# pyright: strict\n" + "\n\n".join(blocks), encoding="utf-8")
    return [*FILES, readme]


@pytest.fixture(scope="module")
def mypy_errors(checked_files: list[Path]) -> dict[str, set[tuple[int, str]]]:
    """(line, code) of each mypy error, by file name."""
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, checked_files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr  # 2: crashed
    errors: dict[str, set[tuple[int, str]]] = {file.name: set() for file in checked_files}
    for line in completed.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            errors[Path(match["path"]).name].add((int(match["line"]), match["code"]))
    return errors


@pytest.fixture(scope="module")
def pyright_errors(checked_files: list[Path]) -> dict[str, set[int]]:
    """Lines of each pyright error or warning, by file name (strict: ``# pyright: strict``
    heads every file)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyright",
            "--outputjson",
            "--pythonpath",
            sys.executable,  # resolve mlops_decorators where this test runs
            *map(str, checked_files),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0: no errors, 1: errors; anything else (no node, a bad config) is a broken run.
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    assert report["summary"]["filesAnalyzed"] == len(checked_files)
    errors: dict[str, set[int]] = {file.name: set() for file in checked_files}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] in ("error", "warning"):
            line = diagnostic["range"]["start"]["line"] + 1  # pyright counts from 0
            errors[Path(diagnostic["file"]).name].add(line)
    return errors


def marked_errors(file: Path) -> set[tuple[int, str]]:
    return {
        (number, match["code"])
        for number, line in enumerate(file.read_text().splitlines(), start=1)
        if (match := MARKER.search(line))
    }


def test_every_decorator_has_typing_files() -> None:
    names = {file.name for file in FILES}
    for prefix in ("", "retry_", "caching_", "validation_"):
        assert {f"{prefix}api.py", f"{prefix}bad_calls.py"} <= names


def test_every_typing_file_is_strict_for_pyright() -> None:
    assert [f.name for f in FILES if not f.read_text().startswith("# pyright: strict\n")] == []


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


@pytest.mark.parametrize("file", FILES, ids=[file.name for file in FILES])
def test_pyright_reports_errors_on_exactly_the_marked_lines(
    file: Path, pyright_errors: dict[str, set[int]]
) -> None:
    assert pyright_errors[file.name] == {line for line, _ in marked_errors(file)}


def test_the_readme_quick_start_passes_mypy_and_pyright_strict(
    mypy_errors: dict[str, set[tuple[int, str]]], pyright_errors: dict[str, set[int]]
) -> None:
    assert (mypy_errors[README_FILE], pyright_errors[README_FILE]) == (set(), set())
