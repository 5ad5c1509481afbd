"""The tour behind ``python -m mlops_decorators``: a simulated inference pipeline.

A feature store that resets the connection, an embedding model worth caching, a `predict`
that must reject malformed batches, a batch scorer that must not get its container
OOM-killed, and one request served through all seven decorators stacked in the recommended
order; then ``monitor.report()``. Each section says what the decorators did and reads it
back through their typed accessors. Nothing touches the network or needs numpy, and the waits
are milliseconds: the tour takes about a second.

``--check`` prints what a bug report needs: versions, the optional libraries found, the
memory limits `memory_guard` sees and how the cache keys arrays.

The one module that imports every decorator. Importing it decorates the pipeline, which
claims the functions' names in the shared statistics registry: only ``python -m
mlops_decorators`` imports it (the test suite runs it in subprocesses).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Annotated

from pydantic import Field

from . import __version__
from ._resources import system_probe, tightest
from ._values import format_bytes, format_duration
from .caching import cache_info, cache_result
from .call_logging import log_calls
from .exceptions import InputValidationError, MemoryGuardError
from .memory import memory_guard, memory_guard_stats
from .monitoring import monitor, monitor_stats
from .retrying import retry, retry_stats
from .timing import timer, timer_stats
from .validation import validate_input, validate_input_stats

# The decorated functions below log to this module's logger; `main` gives it a handler.
_log = logging.getLogger(__name__)

API_KEY = "sk-live-0123456789"  # redacted by @log_calls: it never appears in the output


# -- fetch: a flaky feature store ------------------------------------------------------------


class FeatureStore:
    """A feature store whose connection resets `resets` times, then answers."""

    def __init__(self, resets: int) -> None:
        self.resets = resets

    def get(self, user_id: int) -> list[float]:
        if self.resets:
            self.resets -= 1
            raise ConnectionError("the feature store reset the connection")
        return [round(0.1 * (user_id % 10), 2), 0.25, 0.5, 1.0]


store = FeatureStore(resets=2)


@monitor
@retry(max_attempts=4, exceptions=ConnectionError, delay=0.01, jitter=None)
@log_calls  # right above the function: one record per attempt
def fetch_features(user_id: int, api_key: str) -> list[float]:
    return store.get(user_id)


def fetch_section() -> None:
    print("fetch_features(7) meets two connection resets: @retry tries again after 10 ms, then")
    print("20 ms; @log_calls logs each attempt, with the api_key redacted.")
    features = fetch_features(7, api_key=API_KEY)
    stats = retry_stats(fetch_features)
    print(f"-> {features}: {stats.calls} call, {stats.attempts} attempts, {stats.retries} retries")


# -- embed: cached embeddings ----------------------------------------------------------------


@monitor
@cache_result(ttl=300)
@timer("embed.compute")  # under the cache: times only the calls that compute
def embed(text: str) -> tuple[float, ...]:
    time.sleep(0.02)  # the embedding model's forward pass
    return tuple(round(ord(c) / 256, 3) for c in text[:2])


def embed_section() -> None:
    texts = ["red shoes", "blue hat", "red shoes", "red shoes", "blue hat", "green scarf"]
    print(f"{len(texts)} requests for {len(set(texts))} texts; the model takes 20 ms per text.")
    for text in texts:
        embed(text)
    info, computed, seen = cache_info(embed), timer_stats(embed), monitor_stats(embed)
    print(
        f"-> cache_info: {info.hits} hits, {info.misses} misses; timer_stats: the model ran "
        f"{computed.count} times, {format_duration(computed.mean_s)} each"
    )
    print(
        f"-> monitor_stats: @monitor above the cache saw all {seen.calls} calls, "
        f"{format_duration(seen.mean_s)} on average, hits included"
    )


# -- predict: validated input ----------------------------------------------------------------

WEIGHTS = (0.8, -0.5, 0.3, 0.1)
Finite = Annotated[float, Field(allow_inf_nan=False)]
Row = Annotated[list[Finite], Field(min_length=len(WEIGHTS), max_length=len(WEIGHTS))]
Threshold = Annotated[float, Field(gt=0, lt=1)]


@monitor
@validate_input
def predict(rows: list[Row], threshold: Threshold = 0.5) -> list[bool]:
    """A logistic regression over four features: which rows score above `threshold`."""
    scores = (sum(w * x for w, x in zip(WEIGHTS, row, strict=True)) for row in rows)
    return [1 / (1 + math.exp(-s)) > threshold for s in scores]


def predict_section() -> None:
    good = [[0.7, 0.25, 0.5, 1.0], [0.1, 0.9, 0.2, 0.0]]
    batches: list[tuple[str, list[list[float]], object]] = [
        ("a good batch", good, 0.5),
        ('threshold "0.7" typed by hand', good, "0.7"),
        ("NaN from a failed join", [[0.7, math.nan, 0.5, 1.0]], 0.5),
        ("a column dropped upstream", [[0.7, 0.25, 0.5]], 0.5),
        ("a threshold out of range", good, 1.5),
    ]
    for label, rows, threshold in batches:
        print(f"{label}:")
        try:
            print(f"   -> {predict(rows, threshold)}")  # type: ignore[arg-type]
        except InputValidationError:
            print("   -> InputValidationError: the model did not run; the record is @monitor's")
    stats = validate_input_stats(predict)
    print(
        f"-> validate_input_stats: {stats.calls} batches, {stats.rejected} rejected before the "
        f"model ran, by parameter {stats.by_parameter}"
    )


# -- batch: a guarded batch ------------------------------------------------------------------

CHUNKS = 20


class BatchScorer:
    """Scores batches; each row needs `row_bytes` of working memory while it is scored."""

    def __init__(self, row_bytes: int) -> None:
        self.row_bytes = row_bytes

    def needed(self, rows: range) -> int:
        return len(rows) * self.row_bytes

    def in_chunks(self, rows: range) -> float:
        size = max(len(rows) // CHUNKS, 1)
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
        total = sum(self.score_chunk(chunk) * len(chunk) for chunk in chunks)
        print(f"   fallback: {len(rows):,} rows scored in {len(chunks)} chunks of {size:,}")
        return total / len(rows)

    @memory_guard(max_percent=100, estimate=needed)
    def score_chunk(self, rows: range) -> float:
        return sum(rows) / len(rows)

    @monitor
    @memory_guard(max_percent=100, estimate=needed, fallback=in_chunks)
    def score(self, rows: range) -> float:
        return sum(rows) / len(rows)


def batch_section() -> None:
    reading = tightest(system_probe().memory())
    where = f" (the limit from {reading.where})" if reading.where else ""
    print(f"@memory_guard reads {reading}{where}.")
    rows = range(1_000_000)
    # Sized from the memory available here, so that the batch is refused on any machine; only
    # the estimate is large, nothing is allocated.
    scorer = BatchScorer(row_bytes=int(1.5 * reading.available) // len(rows) + 1)
    print(f"A batch of {len(rows):,} rows needs an estimated {format_bytes(scorer.needed(rows))}.")
    try:
        scorer.score_chunk(rows)
    except MemoryGuardError as exc:
        print(f"score_chunk(batch) did not start: MemoryGuardError: {exc}")
    mean = scorer.score(rows)
    guarded = memory_guard_stats(scorer.score)
    print(
        f"-> score(batch) = {mean:,.1f}; memory_guard_stats: {guarded.calls} call, "
        f"{guarded.refused} refused, {guarded.fallbacks} fallback"
    )


# -- serve: the seven stacked ----------------------------------------------------------------

UserId = Annotated[int, Field(ge=0)]


@monitor  # 1. sees every call, as the caller does
@validate_input  # 2. rejects bad input before anything runs; the cache keys coerced values
@retry(max_attempts=3, exceptions=ConnectionError, delay=0.01)  # 3. around what can fail
@cache_result(ttl=60)  # 4. a hit skips everything below
@memory_guard(max_percent=100, estimate=64 * 2**20)  # 5. just before the work runs
@timer("serve.compute")  # 6. and 7. see each run: each attempt, each cache miss
@log_calls
def serve(user_id: UserId, text: str) -> bool:
    """One request: features, embedding, prediction."""
    features = fetch_features(user_id, api_key=API_KEY)
    vector = embed(text)
    return predict([[*features[:2], *vector]])[0]


def serve_section() -> None:
    print("serve(user_id, text) is stacked in the recommended order (see docs/getting-started.md).")
    for user_id in (7, "7", -1):
        print(f"serve({user_id!r}, 'red shoes'):")
        try:
            print(f"   -> {serve(user_id, 'red shoes')}")  # type: ignore[arg-type]
        except InputValidationError:
            print("   -> InputValidationError: nothing below @validate_input ran")
    seen, checked = monitor_stats(serve), validate_input_stats(serve)
    retried, cached = retry_stats(serve), cache_info(serve)
    guarded, timed = memory_guard_stats(serve), timer_stats(serve)
    print("Each decorator's state, read from the outermost function:")
    print(f"   monitor_stats:        {seen.calls} calls, errors {dict(seen.errors)}")
    print(f"   validate_input_stats: {checked.calls} calls, {checked.rejected} rejected")
    print(f"   retry_stats:          {retried.calls} calls, {retried.attempts} attempts")
    print(
        f'   cache_info:           {cached.hits} hit ("7" was coerced to 7), {cached.misses} miss'
    )
    print(f"   memory_guard_stats:   {guarded.calls} call, {guarded.refused} refused")
    print(f"   timer_stats:          {timed.count} run, {format_duration(timed.mean_s)}")


# -- report ----------------------------------------------------------------------------------


def report_section() -> None:
    print("monitor.report(): every monitored function and every timer, slowest total first.")
    print(monitor.report())


SECTIONS: tuple[tuple[str, str, Callable[[], None]], ...] = (
    ("fetch", "a flaky feature fetch: @retry with fast waits, @log_calls", fetch_section),
    ("embed", "cached embeddings: @cache_result, @timer under it", embed_section),
    ("predict", "a validated predict: @validate_input rejects bad batches", predict_section),
    ("batch", "a guarded batch: @memory_guard refuses, then a fallback in chunks", batch_section),
    ("serve", "one request through all seven, in the recommended order", serve_section),
    ("report", "monitor.report(): calls, errors and latencies of everything", report_section),
)


# -- check -----------------------------------------------------------------------------------

# Distributions of the optional extras, and of the dependencies a report should name.
LIBRARIES = (
    "numpy",
    "xxhash",
    "redis",
    "prometheus-client",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "pydantic",
    "psutil",
    "torch",
    "nvidia-ml-py",
)


def check() -> None:
    """Print the environment a bug report needs."""
    print(f"mlops-decorators {__version__} ({os.path.dirname(os.path.abspath(__file__))})")
    print(f"Python {platform.python_version()} ({platform.python_implementation()})")
    print(f"platform {platform.platform()} ({platform.machine()})")
    print("libraries:")
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"   {name:<18} {version}")
    probe = system_probe()
    print("memory, as memory_guard and monitor see it:")
    readings = probe.memory()
    for reading in readings:
        print(f"   {reading}{f' from {reading.where}' if reading.where else ''}")
    if probe.problem is not None:
        print(f"   no cgroup used: {probe.problem}")
    elif probe.cgroup is not None and len(readings) == 1:
        print(f"   cgroup v{probe.cgroup.version} {probe.cgroup.directories[0]}: no limit")
    gpus = probe.gpu()
    print(f"   GPUs: {len(gpus)} visible" if gpus is not None else f"   GPUs: {probe.gpu_problem}")
    print(f"cache keys of arrays: {_array_hash()}")
    settings = {k: v for k, v in os.environ.items() if k.startswith("MLOPS_DECORATORS_")}
    print(f"environment: {settings or 'no MLOPS_DECORATORS_* variable set'}")


def _array_hash() -> str:
    """Which hash the cache keys arrays with, told by what it computes."""
    from .caching._keys import _array_hasher

    if _array_hasher()(b"") == hashlib.blake2b(b"", digest_size=16).digest():
        return "BLAKE2b (install xxhash, or the numpy extra, for faster keys)"
    return "xxhash (XXH3-128)"


# -- main ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    listing = "\n".join(
        f"  {i}. {name:<8} {summary}" for i, (name, summary, _) in enumerate(SECTIONS, 1)
    )
    parser = argparse.ArgumentParser(
        prog="python -m mlops_decorators",
        description=(
            "A tour of mlops-decorators: a simulated inference pipeline using all seven "
            "decorators (about a second, no network).\n\nsections:\n" + listing
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Docs: docs/getting-started.md; the examples/ directory has one script each.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="print the environment a bug report needs (versions, extras, memory limits)",
    )
    return parser


class _Formatter(logging.Formatter):
    """One line per record: tracebacks are left out of the tour."""

    def formatException(self, ei: object) -> str:  # noqa: N802 -- logging's name
        return ""


def _configure_logging() -> None:
    """Show this module's records, and only them, on stdout, between the tour's lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter("   log %(levelname)s: %(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tour, or ``--check``; returns the exit status.

    Args:
        argv: The command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0.
    """
    if _parser().parse_args(argv).check:
        check()
        return 0
    _configure_logging()
    print(f"mlops-decorators {__version__}: a tour of a simulated inference pipeline.")
    for i, (name, summary, run) in enumerate(SECTIONS, 1):
        print(f"\n{i}. {name}: {summary}")
        run()
    return 0
