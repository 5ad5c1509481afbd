"""Serve a numpy model over HTTP with FastAPI, every request going through the decorators.

A churn model scores batches of rows, one row per user. Each user's feature vector comes from
a feature store that drops a connection now and then (`retry`), is cached in Redis so every
worker process shares it (`cache_result`), and the batch is checked before it is scored
(`validate_input`: 422 with the reason) and before it can exhaust memory (`memory_guard`:
503). `monitor` counts calls, errors and latencies for Prometheus at ``/metrics``, added up
across the worker processes.

Run it (from a clone, in a virtual environment):

    pip install -e ".[numpy,redis,prometheus]" --group examples   # pip 25.1 or newer
    python examples/serve_model.py                # one worker on 127.0.0.1:8000

    # two workers sharing a Redis cache, /metrics added up across them
    REDIS_URL=redis://localhost:6379/0 WORKERS=2 python examples/serve_model.py

    curl -s localhost:8000/predict -H 'content-type: application/json' \\
        -d '{"user_ids": [7, 8], "rows": [[0.5, 1, 0, 2], [1, 0, 0, 1]]}'
    curl -s localhost:8000/metrics | grep '^mlops_'

    python examples/serve_model.py --self-test    # in-process, no server: what `make demo` runs

Environment variables:

- ``HOST`` (``127.0.0.1``; ``0.0.0.0`` in a container), ``PORT`` (``8000``), ``WORKERS`` (``1``).
- ``REDIS_URL``: the cache every worker shares; unset, each worker caches in its own memory.
- ``MLOPS_DECORATORS_CACHE_SECRET``: signs the cache entries in Redis (else a warning says they
  are unsigned).
- ``PROMETHEUS_MULTIPROC_DIR``: an empty directory where the workers write their metrics for
  ``/metrics`` to add up; with ``WORKERS`` above 1 and this unset, a temporary one is made.

Endpoints: ``POST /predict`` ``{"user_ids": [...], "rows": [[4 numbers], ...]}`` answers
``{"scores": [...], "served_by": <pid>, "features_computed_by": [<pid>, ...]}``: the process
that answered and, for each row, the process that fetched the user's features (another worker's
pid is a hit on an entry that worker stored in Redis). ``GET /metrics``, ``GET /health``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import numpy as np
import prometheus_client
import uvicorn
import uvicorn.config
from fastapi import Body, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import multiprocess
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from mlops_decorators import (
    Array,
    InputValidationError,
    MemoryGuardError,
    PrometheusExporter,
    RedisBackend,
    cache_result,
    memory_guard,
    monitor,
    retry,
    validate_input,
)

N_FEATURES = 4  # columns of a row
EMBED_DIM = 8  # length of a user's feature vector
_weights = np.random.default_rng(0).standard_normal(N_FEATURES + EMBED_DIM).astype(np.float32)
ROW_WEIGHTS, USER_WEIGHTS = _weights[:N_FEATURES], _weights[N_FEATURES:]
# Working memory of one row while it is scored: the row, its user's vector, the logits and a
# few temporaries. memory_guard reserves this much per row before a batch runs.
BYTES_PER_ROW = 4 * 4 * (N_FEATURES + EMBED_DIM + 1)
FLAKY_EVERY = 5  # the first fetch of every 5th user id in a process fails


# -- the model: plain numpy, no decorators ---------------------------------------------------


def user_vector(user_id: int) -> np.ndarray:
    """The feature vector the store holds for a user (deterministic, for the demo)."""
    return np.random.default_rng(user_id).standard_normal(EMBED_DIM).astype(np.float32)


def score(rows: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Churn probability of each row, a logistic regression on the row and its user's vector."""
    logits = rows @ ROW_WEIGHTS + users @ USER_WEIGHTS
    return 1 / (1 + np.exp(-logits))


class Batch(BaseModel):
    """The request body, as `validate_input` checks it: a malformed one never reaches the model."""

    model_config = ConfigDict(extra="forbid")

    # StrictInt: 1.5, "7" and true are refused rather than turned into some user's id.
    user_ids: list[Annotated[StrictInt, Field(ge=0)]] = Field(min_length=1)
    # JSON lists become a float32 array; NaN, infinities and values out of range are refused.
    rows: Annotated[
        np.ndarray, Array(shape=(None, N_FEATURES), dtype="float32", coerce=True, ge=-10, le=10)
    ]

    @model_validator(mode="after")
    def _one_user_per_row(self) -> Batch:
        if len(self.user_ids) != len(self.rows):
            raise ValueError(f"{len(self.user_ids)} user_ids for {len(self.rows)} rows")
        return self


class UserFeatures(NamedTuple):
    vector: np.ndarray
    computed_by: int  # the pid of the process that fetched it: shows whose cache entry it is


class Prediction(NamedTuple):
    scores: np.ndarray
    features_computed_by: list[int]


class FeatureStore:
    """Stands in for a remote feature store: 5 ms a lookup, and a reset connection on the
    first lookup of every `FLAKY_EVERY`-th user id in each process, as a cold shard gives."""

    def __init__(self) -> None:
        self._failed_once: set[int] = set()

    async def fetch(self, user_id: int) -> np.ndarray:
        await asyncio.sleep(0.005)
        if user_id % FLAKY_EVERY == 0 and user_id not in self._failed_once:
            self._failed_once.add(user_id)
            raise ConnectionError(f"feature store reset the connection (user {user_id})")
        return user_vector(user_id)


# -- the service -----------------------------------------------------------------------------


def create_app() -> FastAPI:
    """The application of one worker process (uvicorn calls it in each: ``factory=True``)."""
    redis_url = os.environ.get("REDIS_URL")
    # Every worker on the same Redis database shares the cache: a vector one worker fetched
    # is a hit in all of them. Without Redis each worker has its own in-memory cache.
    backend = RedisBackend(redis_url, prefix="serve-model:") if redis_url else None
    # One exporter: in-process figures read at scrape time, or, with PROMETHEUS_MULTIPROC_DIR
    # set, each call written where /metrics adds up the workers.
    exporters = [PrometheusExporter()]
    store = FeatureStore()

    # --8<-- [start:stack]
    # The order of getting-started's "Stack them in this order": a hit returns from the cache
    # without a fetch; a failed fetch is retried through the cache (another caller may have
    # stored the vector meanwhile); monitor sits under the cache, so it counts the fetches
    # (the misses, across workers) and each failed attempt by its exception type.
    # namespace= names the entries in Redis, the same in every worker: a function made inside
    # create_app() has no name of its own that says so.
    @retry(max_attempts=3, delay=0.01, exceptions=ConnectionError)
    @cache_result(ttl=600, backend=backend, namespace="user_features")
    @monitor(name="fetch_features", exporters=exporters)
    async def user_features(user_id: int) -> UserFeatures:
        return UserFeatures(await store.fetch(user_id), os.getpid())

    # monitor outermost counts every batch, the refused ones as errors of their type;
    # memory_guard last reserves memory only for a batch that passed validation.
    @monitor(name="predict", exporters=exporters)
    @validate_input
    @memory_guard(max_percent=90, estimate=lambda batch: len(batch.user_ids) * BYTES_PER_ROW)
    async def predict(batch: Batch) -> Prediction:
        users = sorted(set(batch.user_ids))
        fetched = dict(zip(users, await asyncio.gather(*map(user_features, users)), strict=True))
        vectors = np.stack([fetched[u].vector for u in batch.user_ids])
        return Prediction(
            score(batch.rows, vectors), [fetched[u].computed_by for u in batch.user_ids]
        )

    # --8<-- [end:stack]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            # This worker's in-progress gauge leaves the sum (gunicorn's child_exit hook).
            multiprocess.mark_process_dead(os.getpid())

    app = FastAPI(title="churn model", lifespan=lifespan)
    app.state.predict = predict  # for the self-test's statistics
    app.state.user_features = user_features

    @app.post("/predict")
    async def predict_route(payload: Annotated[Any, Body()]) -> dict[str, Any]:
        prediction = await predict(payload)
        return {
            "scores": prediction.scores.tolist(),
            "served_by": os.getpid(),
            "features_computed_by": prediction.features_computed_by,
        }

    @app.exception_handler(InputValidationError)
    async def invalid_batch(request: Request, error: InputValidationError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "errors": error.errors()}, status_code=422)

    @app.exception_handler(MemoryGuardError)
    @app.exception_handler(ConnectionError)  # the feature store, after the retries
    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        headers = {"Retry-After": "1"}
        return JSONResponse({"detail": str(error)}, status_code=503, headers=headers)

    # --8<-- [start:metrics]
    @app.get("/metrics")
    def metrics() -> Response:
        registry = prometheus_client.REGISTRY
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            # A scrape reaches one worker: read every worker's files instead.
            registry = prometheus_client.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        body = prometheus_client.generate_latest(registry)
        return Response(body, media_type=prometheus_client.CONTENT_TYPE_LATEST)

    # --8<-- [end:metrics]

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "pid": os.getpid()}

    return app


# -- running it ------------------------------------------------------------------------------


def logging_config() -> dict[str, Any]:
    """uvicorn's logging, plus this service's records and the library's warnings."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["service"] = {
        "format": "%(levelname)s [%(process)d] %(name)s: %(message)s"
    }
    config["handlers"]["service"] = {"class": "logging.StreamHandler", "formatter": "service"}
    for name, level in (("serve_model", "INFO"), ("mlops_decorators", "WARNING")):
        config["loggers"][name] = {"handlers": ["service"], "level": level, "propagate": False}
    return config


def serve() -> None:
    workers = int(os.environ.get("WORKERS", "1"))
    with tempfile.TemporaryDirectory(prefix="serve-model-metrics-") as metrics_dir:
        if workers > 1:
            # Set before the workers start, so that prometheus_client starts in multiprocess
            # mode in each of them.
            os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
        uvicorn.run(
            "serve_model:create_app",
            factory=True,
            app_dir=str(Path(__file__).parent),
            host=os.environ.get("HOST", "127.0.0.1"),
            port=int(os.environ.get("PORT", "8000")),
            workers=workers,
            log_config=logging_config(),
        )


class _OneLine(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 -- logging's name
        return ""  # the self-test shows what happened; the server logs the tracebacks


async def self_test() -> None:
    """A few requests through the whole stack in this process, without a server."""
    import httpx

    from mlops_decorators import cache_info, retry_stats, validate_input_stats

    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    app = create_app()
    rows = [[0.5, 1.0, 0.0, 2.0], [1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 3.0, 0.0]]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://serve-model") as client:
        for user_ids in ([7, 8, 10], [7, 8, 10]):  # user 10's first fetch fails and is retried
            answer = await client.post("/predict", json={"user_ids": user_ids, "rows": rows})
            answer.raise_for_status()
            scores = ", ".join(f"{s:.3f}" for s in answer.json()["scores"])
            print(f"users {user_ids}: scores {scores}")
        malformed = {"user_ids": [7, 8], "rows": [[0.5, 1.0, 0.0], [1.0, 0.0, 0.0]]}
        answer = await client.post("/predict", json=malformed)
        if answer.status_code != 422:
            raise RuntimeError(f"a malformed batch got {answer.status_code}, not 422")
        print(f"malformed batch: {answer.status_code} {answer.json()['detail']}")
        metrics = (await client.get("/metrics")).text
    user_features, predict = app.state.user_features, app.state.predict
    info = cache_info(user_features)
    print(f"feature cache: {info.hits} hits, {info.misses} misses")
    print(f"feature fetches retried: {retry_stats(user_features).retries}")
    print(f"batches rejected by validate_input: {validate_input_stats(predict).rejected}")
    for line in metrics.splitlines():
        if line.startswith(("mlops_calls_total", "mlops_errors_total")):
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--self-test", action="store_true", help="send a few requests in-process and exit"
    )
    if parser.parse_args().self_test:
        asyncio.run(self_test())
    else:
        serve()


if __name__ == "__main__":
    main()
