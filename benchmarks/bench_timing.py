"""`timer` vs codetiming.Timer(logger=None)."""

from __future__ import annotations

import logging

from codetiming import Timer as CodeTimer
from overhead import Group

from mlops_decorators import timer


def _work() -> int:
    return 1


def groups() -> list[Group]:
    logging.getLogger("bench.quiet").setLevel(logging.CRITICAL)
    return [
        Group(
            name="timer (sync)",
            bare=_work,
            ours=timer(logger="bench.quiet")(_work),
            peers={"codetiming.Timer(logger=None)": CodeTimer(name="bench", logger=None)(_work)},
            targets={"codetiming.Timer(logger=None)": 1.0},
        )
    ]
