"""`retry` keeps signatures for type checkers: ``tests/typing/retry_api.py`` passes
``mypy --strict`` and every wrong call in ``tests/typing/retry_bad_calls.py`` is an error on
exactly the lines marked ``# E: <code>``. The files are type-checked, never executed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_typing import ERROR, MARKER

TYPING = Path(__file__).parent / "typing"


def test_signatures_survive_mypy_strict() -> None:
    api, bad = TYPING / "retry_api.py", TYPING / "retry_bad_calls.py"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(api), str(bad)],
        cwd=TYPING.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2: mypy crashed
    errors = {
        (Path(m["path"]).name, int(m["line"]), m["code"])
        for m in map(ERROR.match, done.stdout.splitlines())
        if m
    }
    expected = {
        (bad.name, number, m["code"])
        for number, line in enumerate(bad.read_text().splitlines(), start=1)
        if (m := MARKER.search(line))
    }
    assert len(expected) == 10  # the markers were found
    assert errors == expected, done.stdout
