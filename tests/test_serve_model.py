"""examples/serve_model.py as a real service: two uvicorn workers sharing a real redis-server,
a few hundred concurrent requests, and the metrics both workers wrote, scraped from either."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from caching import conftest as caching_fixtures
from fakes import free_port

INSTALL = '`pip install -e ".[numpy,redis,prometheus]" --group examples`'
for _module in ("fastapi", "uvicorn", "redis"):
    pytest.importorskip(_module, reason=f"{_module} is missing: the example needs {INSTALL}")
httpx = pytest.importorskip("httpx", reason=f"httpx is missing: the example needs {INSTALL}")
parser = pytest.importorskip("prometheus_client.parser", reason=f"needs {INSTALL}")

redis_url = caching_fixtures.redis_url  # the fixture: a throwaway redis-server

EXAMPLE = Path(__file__).parent.parent / "examples" / "serve_model.py"
USERS = 30  # user ids 0..29; every 5th one's first fetch in a worker fails
VALID, CONCURRENCY = 270, 16

# Malformed batches and the part of the 422's message each must contain.
MALFORMED: list[tuple[dict[str, Any] | bytes, str]] = [
    (
        {"user_ids": [1, 2], "rows": [[0.5, 1.0, 0.0], [1.0, 0.0, 0.0]]},
        "argument 'batch.rows': shape (2, 3) does not match (None, 4)",
    ),
    (
        b'{"user_ids": [1, 2], "rows": [[0.5, 1.0, 0, 0], [1.0, NaN, 0, 0]]}',
        "argument 'batch.rows': 1 NaN value (first at [1, 1])",
    ),
    (
        {"user_ids": [1.5], "rows": [[0, 0, 0, 0]]},
        "argument 'batch.user_ids[0]': Input should be a valid integer",
    ),
    (
        {"user_ids": [1, 2], "rows": [[0, 0, 0, 0]]},
        "argument 'batch': Value error, 2 user_ids for 1 rows",
    ),
    (
        {"user_ids": [3], "rows": [[0, 50, 0, 0]]},
        "argument 'batch.rows': 1 value > 10 (first at [0, 1]: 50)",
    ),
    ({"user_ids": [3]}, "argument 'batch.rows': Field required"),
]
MALFORMED_REPEATS = 5


@pytest.fixture(scope="module")
def example() -> Iterator[ModuleType]:
    """The example's module, for its plain-numpy model (importing it starts nothing)."""
    spec = importlib.util.spec_from_file_location("serve_model", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["serve_model"] = module  # pydantic resolves the Batch annotations through it
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["serve_model"]


class Server:
    """`python examples/serve_model.py` with two workers, its output in a file."""

    def __init__(self, tmp_path: Path, redis: str) -> None:
        import redis as redis_client

        client = redis_client.Redis.from_url(redis)
        client.flushdb()  # no entry of an earlier run: every user is fetched at least once
        client.close()
        self.url = f"http://127.0.0.1:{free_port()}"
        metrics_dir = tmp_path / "metrics"
        metrics_dir.mkdir()
        self.log = tmp_path / "server.log"
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": self.url.rsplit(":", 1)[1],
            "WORKERS": "2",
            "REDIS_URL": redis,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "MLOPS_DECORATORS_CACHE_SECRET": "test-secret",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(EXAMPLE)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the workers go with it
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_both_workers(self, timeout_s: float = 20.0) -> set[int]:
        """Ask /health on fresh connections until both workers have answered."""
        pids: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(pids) < 2:
            assert self.process.poll() is None, f"the server exited:\n{self.output()[-4000:]}"
            assert time.monotonic() < deadline, f"answered: {pids}\n{self.output()[-4000:]}"
            try:
                answer = httpx.get(f"{self.url}/health", timeout=5)
                pids.add(answer.json()["pid"])
            except httpx.TransportError:
                time.sleep(0.02)  # not listening yet
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # uvicorn stops its workers, then itself
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # anything of the group left behind
            os.killpg(self.process.pid, signal.SIGKILL)


def batches(rng: np.random.Generator) -> list[dict[str, Any]]:
    out = []
    for _ in range(VALID):
        n = int(rng.integers(1, 7))
        user_ids = rng.integers(0, USERS, size=n).tolist()
        rows = np.round(rng.uniform(-2, 2, size=(n, 4)), 3).tolist()
        out.append({"user_ids": user_ids, "rows": rows})
    return out


async def send_all(url: str, requests: list[dict[str, Any] | bytes]) -> list[httpx.Response]:
    """Every request, CONCURRENCY at a time, each on a new connection (so that the kernel
    spreads them over both workers)."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=0)
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def send(body: dict[str, Any] | bytes) -> httpx.Response:
            async with gate:
                if isinstance(body, bytes):
                    headers = {"content-type": "application/json"}
                    return await client.post("/predict", content=body, headers=headers)
                return await client.post("/predict", json=body)

        return await asyncio.wait_for(asyncio.gather(*map(send, requests)), timeout=60)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """/metrics as {(sample name, labels): value}."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: Samples, name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def test_two_workers_share_the_cache_and_add_up_their_metrics(
    tmp_path: Path,
    redis_url: str,
    example: ModuleType,
) -> None:
    valid = batches(np.random.default_rng(13))
    malformed = [body for body, _ in MALFORMED] * MALFORMED_REPEATS
    requests: list[dict[str, Any] | bytes] = [*valid, *malformed]
    order = np.random.default_rng(7).permutation(len(requests))
    server = Server(tmp_path, redis_url)
    try:
        workers = server.wait_for_both_workers()
        answers = asyncio.run(send_all(server.url, [requests[i] for i in order]))
        by_request = dict(zip(order.tolist(), answers, strict=True))
        scrapes = [scrape(server.url) for _ in range(4)]  # each may reach either worker
    finally:
        server.stop()
    log = server.output()

    # Every valid batch scored as the plain numpy model scores it, in order.
    served_by: set[int] = set()
    from_the_other_worker = 0
    for i, batch in enumerate(valid):
        answer = by_request[i]
        assert answer.status_code == 200, f"{answer.text}\n{log[-4000:]}"
        body = answer.json()
        vectors = np.stack([example.user_vector(u) for u in batch["user_ids"]])
        expected = example.score(np.asarray(batch["rows"], dtype=np.float32), vectors)
        np.testing.assert_allclose(body["scores"], expected, rtol=1e-6)
        assert body["served_by"] in workers
        assert set(body["features_computed_by"]) <= workers
        served_by.add(body["served_by"])
        computed_by = body["features_computed_by"]
        from_the_other_worker += sum(pid != body["served_by"] for pid in computed_by)
    assert served_by == workers
    # A worker answered with vectors the other worker fetched: hits shared through Redis.
    assert from_the_other_worker > 0

    # Every malformed batch refused with 422 and validate_input's message.
    for i in range(len(valid), len(requests)):
        answer = by_request[i]
        expected_message = MALFORMED[(i - len(valid)) % len(MALFORMED)][1]
        assert answer.status_code == 422, answer.text
        assert expected_message in answer.json()["detail"]
        assert answer.json()["errors"][0]["parameter"] == "batch"

    # /metrics adds up both workers, whichever of them answers the scrape.
    assert all(metrics == scrapes[0] for metrics in scrapes)
    metrics = scrapes[0]
    calls, errors = "mlops_calls_total", "mlops_errors_total"
    assert value(metrics, calls, function="predict", outcome="ok") == len(valid)
    assert value(metrics, calls, function="predict", outcome="error") == len(malformed)
    refused = value(metrics, errors, function="predict", error_type="InputValidationError")
    assert refused == len(malformed)
    count = value(metrics, "mlops_call_duration_seconds_count", function="predict")
    assert count == len(requests)
    assert value(metrics, "mlops_calls_in_progress", function="predict") == 0

    # Each user fetched once per worker at most (misses are shared through Redis), each
    # flaky one failing once per worker that fetched it, and retried: every batch succeeded.
    users = {u for batch in valid for u in batch["user_ids"]}
    flaky = {u for u in users if u % example.FLAKY_EVERY == 0}
    lookups = sum(len(set(batch["user_ids"])) for batch in valid)
    fetched = value(metrics, calls, function="fetch_features", outcome="ok")
    failed = value(metrics, errors, function="fetch_features", error_type="ConnectionError")
    assert len(users) <= fetched <= 2 * len(users) < lookups
    assert len(flaky) <= failed <= 2 * len(flaky)
    assert value(metrics, calls, function="fetch_features", outcome="error") == failed
    assert "retrying" in log
