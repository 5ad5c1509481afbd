"""Helpers shared by the cache tests (a module of its own: test files never import conftest)."""

from __future__ import annotations

import socket


class FakeClock:
    """A clock that only moves when a test ticks it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


def free_port() -> int:
    """A loopback TCP port nobody listens on (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
