"""``examples/monitor_notebook.ipynb`` runs in a real Jupyter kernel (nbclient + ipykernel) and
shows what it promises: reports rendered as HTML tables, statistics, and a redefined function
(and a re-run cell) starting afresh instead of raising."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "examples" / "monitor_notebook.ipynb"


def text_of(cell: Any) -> str:
    """Everything a code cell printed or showed as plain text."""
    parts = []
    for output in cell.outputs:
        assert output.output_type != "error", "".join(output.traceback)
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def html_of(cell: Any) -> str:
    [result] = [o for o in cell.outputs if o.output_type == "execute_result"]
    html: str = result.data["text/html"]
    return html


def test_the_notebook_runs_in_a_real_kernel(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs for cell in code), "the notebook is stored without outputs"
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        define, report, stats, redefine, timers = code

        # The failure is logged (on stderr: the kernel has no logging configured).
        assert "featurize raised ValueError: empty batch" in text_of(define)
        html = html_of(report)
        assert html.startswith("<table>")
        assert "predict{model=linear}" in html
        assert "featurize" in html
        assert "33.3%" in html  # one of featurize's three calls failed
        assert text_of(report).startswith("name ")  # text/plain: the table, not a quoted str
        assert "3 {'ValueError': 1} 33% empty batch" in text_of(stats)
        assert "{('linear',): 2, ('tree',): 1}" in text_of(stats)
        assert text_of(redefine) == "(1, 0)"  # the fixed featurize starts from zero
        assert "postprocess" in html_of(timers)
        assert "predict{model=linear}" in html_of(timers)  # one registry

        # Running the first cell again (shift-enter twice) never raises and starts afresh.
        client.execute_cell(define, notebook.cells.index(define))
        client.execute_cell(stats, notebook.cells.index(stats))
    assert "3 {'ValueError': 1} 33% empty batch" in text_of(stats)
    assert "{('linear',): 2, ('tree',): 1}" in text_of(stats)
