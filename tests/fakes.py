"""Test doubles and small helpers shared by the whole suite (test files never import conftest).

One `FakeClock` stands in for every clock the library reads: monotonic and wall time in
seconds, `perf_counter_ns`, and the sleeps (sync and async), so no test waits for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest

from mlops_decorators.retrying import _budget, _policy

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")


class FakeClock:
    """A clock that moves only when a test advances it, or when something sleeps on it.

    Calling it (or `monotonic` / `time`) reads ``now`` in seconds: pass it wherever the library
    takes a ``clock=`` (monotonic or wall time alike, one timeline). `ns` stands in for
    ``perf_counter_ns``. `sleep` and `async_sleep` record each wait in ``sleeps`` and move
    ``now`` forward by it.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    monotonic = time = __call__

    def ns(self) -> int:
        return round(self.now * 1e9)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # still a real suspension point, as asyncio.sleep is


@contextlib.contextmanager
def fake_retry_seams(seed: int = 1234, start: float = 1000.0) -> Iterator[FakeClock]:
    """Swap the retry engine's clock, sleeps and random source; restore the switches after."""
    clock = FakeClock(start)
    with (
        mock.patch.object(_policy, "clock", clock),
        mock.patch.object(_budget, "clock", clock),
        mock.patch.object(_policy, "sleep", clock.sleep),
        mock.patch.object(_policy, "async_sleep", clock.async_sleep),
        mock.patch.object(_policy, "rng", random.Random(seed)),
    ):
        try:
            yield clock
        finally:  # hypothesis runs many examples inside one test: reset after each
            _policy.settings.reset()


def run_in_threads(target: Callable[[], None], count: int) -> None:
    """Run `target` in `count` threads released together by a barrier; wait for all of them."""
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        target()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def start_threads(
    target: Callable[[], Any], count: int
) -> tuple[list[threading.Thread], list[Any]]:
    """Start `count` threads on `target` without waiting for them.

    Returns:
        The started threads, and a list whose slot ``i`` receives what thread ``i`` returned
        or raised (read it after joining the threads).
    """
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            results[i] = target()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def resizing_thread(shared: dict[str, int], stop: threading.Event) -> threading.Thread:
    """A thread (not started) that grows and shrinks `shared` until `stop` is set.

    It may give up the GIL between growing and shrinking, so another thread iterating over
    `shared` meets "dictionary changed size during iteration" within a few hundred tries
    (more often with a short ``sys.setswitchinterval``).
    """

    def pause() -> None:  # a Python-level call: a point where the GIL may change hands
        pass

    def resize() -> None:
        i = 0
        while not stop.is_set():
            shared[f"extra{i % 7}"] = i
            pause()
            shared.pop(f"extra{(i + 3) % 7}", None)
            i += 1

    return threading.Thread(target=resize)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll a condition that other threads will make true (bounded, no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


async def until_waiting(cached: Any, count: int) -> None:
    """Yield to the event loop until `count` tasks wait for the single flight of the
    `cache_result` function `cached` (at most 1000 turns, no fixed sleeps)."""
    for _ in range(1000):
        await asyncio.sleep(0)
        if cached.cache_info().single_flight_waits == count:
            return


@contextlib.contextmanager
def held_elsewhere(*locks: Any) -> Iterator[None]:
    """Hold `locks` in another thread for the duration of the block: a fork inside it copies
    them held by a thread that does not exist in the child."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(10)
        for lock in locks:
            lock.release()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10), "the locks were not free"
        yield
    finally:
        release.set()
        holder.join()


def run_in_child(body: Callable[[], None], deadline_s: float = 5.0) -> None:
    """Run `body` in a child made by ``os.fork()``; fail unless it returns in time.

    A hung child is killed at the deadline, so a regression fails the test instead of hanging
    the suite. The child ends with ``os._exit``: 0 when `body` returned, 1 (its traceback on
    stderr) when it raised.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover -- the child: coverage does not follow it
        code = 1
        try:
            body()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + deadline_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.002)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child failed (see its stderr)"


def run_python(code: str) -> object:
    """Run `code` in a fresh interpreter; return what it printed as JSON."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def free_port() -> int:
    """A loopback TCP port nobody listens on (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
