"""The table of call statistics that `timer_report` and ``monitor.report()`` return.

One object, two renderings: the string itself (and its ``repr()``, so a REPL or a notebook
shows the table, not an escaped string) is fixed-width text, and ``_repr_html_`` is the HTML
table Jupyter displays when the report is a cell's last expression.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._stats import CallStats
from ._values import format_duration

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["StatsReport"]

_COLUMNS = ("calls", "errors", "error rate", "total", "mean", "p50", "p95", "p99", "max")
EMPTY = "no calls recorded"


def series_name(stats: CallStats) -> str:
    """``name``, or ``name{key=value,...}`` for a labelled series.

    Example:
        >>> from mlops_decorators._stats import Registry
        >>> series_name(Registry().series("predict", (("model", "a"),)).snapshot())
        'predict{model=a}'
    """
    if not stats.labels:
        return stats.name
    return f"{stats.name}{{{','.join(f'{k}={v}' for k, v in stats.labels.items())}}}"


class StatsReport(str):
    """Call statistics as a table, slowest total first: text for terminals (the string
    itself), HTML for Jupyter.

    A `str`, so code that used ``timer_report()``'s text keeps working; its ``repr()`` is the
    table too, so a REPL or a notebook shows the table, not an escaped string. Made from
    registry snapshots, ``StatsReport(snapshots)``; those with no finished call are left out.

    Attributes:
        rows: The snapshots shown, in table order.

    Example:
        >>> from mlops_decorators._stats import Registry
        >>> registry = Registry()
        >>> registry.series("load").record(2_000_000)
        >>> report = StatsReport(registry.snapshots())
        >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
        name  calls  errors  error rate  total  mean  p50  p95  p99  max
        load      1       0        0.0%   2 ms  2 ms 2 ms 2 ms 2 ms 2 ms
        >>> report.rows[0].name, "<table" in report._repr_html_()
        ('load', True)
    """

    rows: tuple[CallStats, ...]

    def __new__(cls, rows: Iterable[CallStats]) -> Self:
        shown = sorted(
            (row for row in rows if row.count),
            key=lambda s: (-s.total_s, s.name, tuple(s.labels.items())),
        )
        report = super().__new__(cls, _text(_cells(shown)))
        report.rows = tuple(shown)
        return report

    def __repr__(self) -> str:
        return str.__str__(self)

    def _repr_html_(self) -> str:
        """The table as HTML, for Jupyter."""
        cells = _cells(self.rows)
        if not cells:
            return f"<p>{EMPTY}</p>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ("name", *_COLUMNS))
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:{"left" if i == 0 else "right"}">{html.escape(c)}</td>'
                for i, c in enumerate(row)
            )
            + "</tr>"
            for row in cells
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cells(rows: Iterable[CallStats]) -> list[tuple[str, ...]]:
    cells = []
    for s in rows:
        errors = sum(s.errors.values())
        durations = (s.total_s, s.mean_s, s.p50_s, s.p95_s, s.p99_s, s.max_s)
        cells.append(
            (
                series_name(s),
                str(s.count),
                str(errors),
                f"{100 * errors / s.count:.1f}%",
                *(format_duration(d) for d in durations),
            )
        )
    return cells


def _text(cells: list[tuple[str, ...]]) -> str:
    if not cells:
        return EMPTY
    header = ("name", *_COLUMNS)
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            # Names read left-aligned, figures right-aligned.
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *cells)
    )
