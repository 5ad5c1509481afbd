"""`log_calls` with its logger disabled vs a bare functools.wraps wrapper."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from overhead import Group

from mlops_decorators import log_calls


def _work(x: int = 1) -> int:
    return x


def _bare_wrapper(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def groups() -> list[Group]:
    quiet = logging.getLogger("bench.disabled")
    quiet.setLevel(logging.WARNING)
    return [
        Group(
            name="log_calls (logger disabled)",
            bare=_work,
            ours=log_calls(quiet, level=logging.INFO)(_work),
            peers={"bare functools.wraps wrapper": _bare_wrapper(_work)},
            targets={"bare functools.wraps wrapper": 2.0},
        )
    ]
