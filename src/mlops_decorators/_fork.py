"""Locks and per-process state that survive ``os.fork()``.

``fork()`` copies only the thread that calls it. A lock another thread held at that moment
is copied held, and no thread of the child ever releases it: the child's first use of it
hangs forever. Processes with threads fork all the time in ML work: PyTorch DataLoader
workers, gunicorn ``--preload``, multiprocessing's ``fork`` start method, Celery's prefork
pool. So every long-lived lock of the library is replaced in the child, before the child
runs anything else:

- `fork_safe_lock` makes a lock held in an attribute (of an object, or a module's global),
  which the child replaces with a fresh one;
- `reset_in_child` registers an object holding more than locks (threads, pools, calls in
  flight, descriptors): the child calls its ``_after_fork()``, after the locks are fresh.

A lock stays a plain `threading.Lock`: nothing is added to acquiring it. What a thread of
the parent was changing under a lock may be half done in the child; the state guarded here
is counters and maps whose every step is atomic, and an object whose state could break resets
it in its ``_after_fork()``. Registrations hold their objects weakly. Windows cannot fork:
there nothing is registered with the interpreter.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Protocol

    class _Resettable(Protocol):
        def _after_fork(self) -> None: ...


__all__ = ["fork_safe_lock", "reset_in_child"]


# Owner -> names of its attributes holding a lock; objects with an _after_fork(). Both weak:
# a registration ends with its object (owners must be weakly referenceable and hashable).
_locks: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()
_resettable: weakref.WeakSet[Any] = weakref.WeakSet()
# One tuple per set of names, shared by their owners: a statistics registry makes two owners
# per name it counts, and a tuple each would stay allocated after they go (tuple free lists).
_names: dict[tuple[str, ...], tuple[str, ...]] = {}


def fork_safe_lock(owner: object, name: str) -> threading.Lock:
    """A new lock for ``owner.<name>``, replaced there by a fresh one in the child of every
    later ``os.fork()``, while `owner` lives.

    Args:
        owner: The object whose attribute `name` holds the lock; for a module-level lock,
            the module (``sys.modules[__name__]``).
        name: The attribute's name.

    Returns:
        The lock, to assign to ``owner.<name>``.

    Example:
        >>> class Store:
        ...     def __init__(self) -> None:
        ...         self._lock = fork_safe_lock(self, "_lock")
        >>> Store()._lock.locked()
        False
    """
    names = (*_locks.get(owner, ()), name)
    _locks[owner] = _names.setdefault(names, names)
    return threading.Lock()


def reset_in_child(obj: _Resettable) -> None:
    """Call ``obj._after_fork()`` in the child of every later ``os.fork()``, while `obj`
    lives.

    Args:
        obj: An object holding locks, threads or calls in flight of this process.
    """
    _resettable.add(obj)


def _after_fork_in_child() -> None:
    for owner, names in list(_locks.items()):
        for name in names:
            setattr(owner, name, threading.Lock())
    for obj in list(_resettable):
        obj._after_fork()


if hasattr(os, "register_at_fork"):  # pragma: no branch -- POSIX; Windows cannot fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
