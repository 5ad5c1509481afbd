"""Fixtures for the cache tests: captured cache warnings and real, throwaway redis-servers
(one answering, one hung)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from fakes import free_port

REQUIRE_REDIS = "MLOPS_TEST_REQUIRE_REDIS"


@pytest.fixture
def cache_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="mlops_decorators.caching")
    return caplog


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_REDIS) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_REDIS}=1 says Redis tests must run")
    pytest.skip(reason)


@contextlib.contextmanager
def _redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A fresh redis-server on a free loopback port, answering PING; stopped on exit."""
    try:
        import redis
    except ImportError:  # pragma: no cover -- installed with the redis extra
        _unavailable("the redis package is not installed")
    executable = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if executable is None:
        _unavailable("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"redis-server on port {port} did not answer PING")
                time.sleep(0.02)
        yield url, process
    finally:
        client.close()
        process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a fresh redis-server on a free loopback port, stopped after the session."""
    with _redis_server() as (url, _):
        yield url


@pytest.fixture
def hung_redis_url() -> Iterator[str]:
    """URL of a redis-server paused with SIGSTOP: it accepts connections, never answers."""
    with _redis_server() as (url, process):
        process.send_signal(signal.SIGSTOP)
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()
