"""cache_result keeps signatures for type checkers (files type-checked, never executed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TYPING = Path(__file__).parents[1] / "typing"
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")
MARKER = re.compile(r"#\s*E:\s*(?P<code>[\w-]+)\s*$")


def test_signatures_survive_mypy_strict() -> None:
    files = [TYPING / "caching_api.py", TYPING / "caching_bad_calls.py"]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, files)],
        cwd=TYPING.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    errors = {
        (Path(m["path"]).name, int(m["line"]), m["code"])
        for m in map(ERROR.match, done.stdout.splitlines())
        if m
    }
    source = files[1].read_text().splitlines()
    expected = {
        (files[1].name, number, m["code"])
        for number, line in enumerate(source, start=1)
        if (m := MARKER.search(line))
    }
    assert len(expected) == 6
    assert errors == expected
