"""Every ```python block in the docs and README runs.

The blocks of one page run in order, as one script, in a fresh interpreter (so a page can
build on its earlier blocks). Blocks fenced as ```py are illustrations that are not run
(for example ones that need a Redis server at a fixed address).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    script = "\n\n".join(python_blocks(page))
    env = {
        **os.environ,
        # Examples with retries must not make the suite wait.
        "MLOPS_DECORATORS_RETRY_NO_WAIT": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"{page.name} examples failed:\n{result.stderr}"


def test_every_name_in_the_api_reference_is_a_top_level_export() -> None:
    """docs/api.md promises ``from mlops_decorators import <name>`` for each entry."""
    import importlib

    import mlops_decorators

    names = []
    for line in (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("::: "):
            path = line.removeprefix("::: ").strip()
            try:
                importlib.import_module(path)  # a whole module (exceptions) is not a name
            except ImportError:
                names.append(path.rpartition(".")[2])
    assert names, "no API entries found"
    assert [n for n in names if n not in mlops_decorators.__all__] == []


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if p.name not in nav]
    assert missing == []
