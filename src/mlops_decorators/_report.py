"""The table of call statistics that `timer_report` and ``monitor.report()`` return.

One object, two renderings: ``str()`` (and ``repr()``, so a terminal or a notebook shows the
table, not an escaped string) is fixed-width text, and ``_repr_html_`` is the HTML table
Jupyter displays when the report is a cell's last expression.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from ._stats import CallStats
from ._values import format_duration

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


class StatsReport:
    """Call statistics as a table, slowest total first: text for terminals, HTML for Jupyter.

    Args:
        rows: Snapshots to show; those with no finished call are left out.

    Attributes:
        rows: The snapshots shown, in table order.

    Example:
        >>> from mlops_decorators._stats import Registry
        >>> registry = Registry()
        >>> registry.series("load").record(2_000_000)
        >>> print(StatsReport(registry.snapshots()))  # doctest: +NORMALIZE_WHITESPACE
        name  calls  errors  error rate  total  mean  p50  p95  p99  max
        load      1       0        0.0%   2 ms  2 ms 2 ms 2 ms 2 ms 2 ms
        >>> "<table" in StatsReport(registry.snapshots())._repr_html_()
        True
    """

    __slots__ = ("rows",)

    def __init__(self, rows: Iterable[CallStats]) -> None:
        shown = (row for row in rows if row.count)
        self.rows: tuple[CallStats, ...] = tuple(
            sorted(shown, key=lambda s: (-s.total_s, s.name, tuple(s.labels.items())))
        )

    def _cells(self) -> list[tuple[str, ...]]:
        cells = []
        for s in self.rows:
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

    def __str__(self) -> str:
        cells = self._cells()
        if not cells:
            return EMPTY
        header = ("name", *_COLUMNS)
        widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
        lines = [
            "  ".join(
                # Names read left-aligned, figures right-aligned.
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths))
            ).rstrip()
            for row in (header, *cells)
        ]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """The table as HTML, for Jupyter."""
        cells = self._cells()
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
