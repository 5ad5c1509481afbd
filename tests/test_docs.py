"""Every ```python block in the docs and README runs on its own.

A reader pastes one block, not a page: each block runs alone in a fresh interpreter state
(see `doc_examples.py`, which also runs pages by hand). Blocks fenced as ```py are
illustrations that are not run (for example ones that need a Redis server at a fixed address,
or code of other libraries).
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from doc_examples import python_blocks

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
RUNNER = Path(__file__).resolve().parent / "doc_examples.py"
SUBMODULES = {info.name for info in pkgutil.iter_modules([str(ROOT / "src" / "mlops_decorators")])}


def run_examples(page: Path, cwd: Path) -> tuple[bool, str]:
    """Run the page's blocks each on its own: (all passed, the failure summary and output)."""
    env = {
        **os.environ,
        # Examples with retries must not make the suite wait.
        "MLOPS_DECORATORS_RETRY_NO_WAIT": "1",
    }
    result = subprocess.run(
        [sys.executable, str(RUNNER), str(page)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary = result.stderr.rstrip().rpartition("\n")[2]
    return result.returncode == 0, f"{summary}\n\n{result.stderr}"


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_each_example_runs_on_its_own(page: Path, tmp_path: Path) -> None:
    passed, report = run_examples(page, tmp_path)
    assert passed, report


def test_a_block_that_leans_on_an_earlier_one_fails_and_is_named(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nimport logging\n\nlogging.getLogger().setLevel(logging.ERROR)\nx = 1\n```\n"
        "\n```python\nimport logging\n\nassert logging.getLogger().level == logging.WARNING\n```\n"
        "\n```py\nprint(y)  # not run\n```\n"
        "\n```python\nprint(x)\n```\n",
        encoding="utf-8",
    )
    passed, report = run_examples(page, tmp_path)
    assert not passed
    assert report.startswith("failed when run on their own: page.md block 3 (line 19)\n"), report
    assert 'page.md", line 19' in report  # the traceback points at the page's line
    assert "NameError: name 'x' is not defined" in report


def api_entries() -> list[tuple[str, str]]:
    """docs/api.md's ``::: path`` entries, each with its indented options as one string."""
    entries: list[tuple[str, str]] = []
    for line in (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("::: "):
            entries.append((line.removeprefix("::: ").strip(), ""))
        elif entries and line.startswith("    "):
            entries[-1] = (entries[-1][0], f"{entries[-1][1]}{line.strip()}\n")
    return entries


def test_the_api_reference_shows_every_export_once_under_its_public_path() -> None:
    """``::: mlops_decorators.<name>`` for each name of ``__all__`` (but ``__version__``).

    mkdocstrings renders an entry under the path it is given, and reads the package's
    TYPE_CHECKING imports to find the definition, so a submodule's path
    (``mlops_decorators._values.DEFAULT_REDACT``) would show a path nobody should import.
    A public module may appear for its docstring alone (``members: false``).
    """
    import mlops_decorators

    names = []
    for path, options in api_entries():
        package, _, name = path.partition(".")
        assert package == "mlops_decorators", path
        if name in mlops_decorators.__all__:
            names.append(name)
        else:
            is_module_docstring = name in SUBMODULES and "members: false" in options
            assert is_module_docstring, f"{path}: write ::: mlops_decorators.<exported name>"
    assert sorted(names) == sorted(set(mlops_decorators.__all__) - {"__version__"})


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if p.name not in nav]
    assert missing == []
