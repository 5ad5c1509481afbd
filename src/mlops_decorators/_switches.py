"""Process-wide test switches: on or off from an environment variable, set by a call that
is also a context manager.

`retry`'s ``set_retries`` and ``set_retry_waits`` and `cache_result`'s ``set_caching`` are
made of these two pieces.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType


def env_flag(name: str) -> bool:
    """Whether the environment variable `name` says yes (``1``, ``true``, ``yes``, ``on``).

    Example:
        >>> env_flag("MLOPS_DECORATORS_NO_SUCH_VARIABLE")
        False
    """
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class Restore:
    """Returned by a switch: leaving its ``with`` block restores the previous setting.

    Args:
        restore: Puts the previous setting back.

    Example:
        >>> setting = {"on": True}
        >>> def switch(on: bool) -> Restore:
        ...     previous, setting["on"] = setting["on"], on
        ...     return Restore(lambda: setting.update(on=previous))
        >>> with switch(False):
        ...     setting["on"]
        False
        >>> setting["on"]
        True
    """

    __slots__ = ("_restore",)

    def __init__(self, restore: Callable[[], object]) -> None:
        self._restore = restore

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._restore()
