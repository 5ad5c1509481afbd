"""Run every ```python block of Markdown pages on its own, as a reader who pastes it would.

    python tests/doc_examples.py docs/retry.md README.md

Each block runs in a child process forked from one that has only imported what the page's
blocks import, with an empty ``__main__``: a block that needs a name, an import or a setting
from an earlier block fails here as it would for the reader. Tracebacks point at the page's
own lines. Blocks fenced as ```py are illustrations that are not run. The exit status is 1
when a block fails, and the last line names every failed block.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
import traceback
import types
from pathlib import Path

BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """The page's ```python blocks, each with the page line its code starts on."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def import_once(blocks: list[tuple[int, str]]) -> None:
    """Import what the blocks import, so that each forked child does not pay for it again.

    The children still run their own import statements (their namespace starts empty); a
    failing import is left for the block that needs it to report.
    """
    for _, code in blocks:
        for node in ast.parse(code).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                statement = compile(ast.Module([node], type_ignores=[]), "<import>", "exec")
                with contextlib.suppress(ImportError):
                    exec(statement, {})


def runs_alone(page: Path, line: int, code: str) -> bool:
    """Run one block in a forked child with a fresh ``__main__``; True when it succeeded."""
    pid = os.fork()
    if pid:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    status = 1
    try:
        main = types.ModuleType("__main__")  # classes defined by the block pickle as in a script
        sys.modules["__main__"] = main
        # Leading blank lines make traceback line numbers the page's own.
        exec(compile("\n" * (line - 1) + code, str(page), "exec"), vars(main))
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def main(paths: list[str]) -> int:
    # fork() copies only the calling thread: keep numpy's import from starting a BLAS thread
    # pool that the children would inherit half-alive (Python 3.12+ warns about it too).
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    pages = [(Path(p).resolve(), Path(p).name) for p in paths]
    blocks = {name: python_blocks(page) for page, name in pages}
    import_once([block for page_blocks in blocks.values() for block in page_blocks])
    failed = [
        f"{name} block {number} (line {line})"
        for page, name in pages
        for number, (line, code) in enumerate(blocks[name], 1)
        if not runs_alone(page, line, code)
    ]
    if failed:
        print(f"failed when run on their own: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
