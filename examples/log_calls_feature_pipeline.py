"""A feature pipeline logged with `log_calls`: summarised arrays, redacted secrets, and a
failing call logged at ERROR with its traceback, then re-raised.

Run it with ``python examples/log_calls_feature_pipeline.py`` (needs numpy). The log
format shows the structured ``extra`` fields `log_calls` attaches to each record.
"""

from __future__ import annotations

import logging
import sys

import numpy as np

from mlops_decorators import DEFAULT_REDACT, log_calls

log = logging.getLogger("pipeline")


@log_calls
def load_features(path: str, api_key: str, rows: int = 10_000) -> np.ndarray:
    """The array argument and result are logged as ``ndarray(shape=..., dtype=...)``."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((rows, 3)).astype(np.float32)


@log_calls(level=logging.DEBUG, redact=DEFAULT_REDACT | {"email"})
def normalise(features: np.ndarray, config: dict[str, object]) -> np.ndarray:
    """``config`` is a dict: secret-looking keys inside it are redacted too."""
    return (features - features.mean(axis=0)) / features.std(axis=0)


@log_calls(max_repr=40)
def describe(features: np.ndarray, note: str) -> list[float]:
    """Long strings and containers are cut to ``max_repr`` characters."""
    return [round(float(v), 4) for v in features.mean(axis=0)] * 10


@log_calls
def validate(features: np.ndarray, min_rows: int) -> None:
    if len(features) < min_rows:
        raise ValueError(f"need at least {min_rows} rows, got {len(features)}")


def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    # `function` is an extra field of log_calls records; other records get the default.
    handler.setFormatter(
        logging.Formatter(
            "%(levelname)-5s %(name)s [function=%(function)s] %(message)s",
            defaults={"function": "-"},
        )
    )
    logging.basicConfig(level=logging.DEBUG, handlers=[handler])

    features = load_features("s3://bucket/features.parquet", api_key="sk-live-0123456789")
    features = normalise(
        features, config={"method": "zscore", "email": "ada@example.com", "db_password": "x"}
    )
    describe(features, note="a long free-text note " * 20)
    try:
        validate(features[:10], min_rows=100)
    except ValueError as exc:  # log_calls logged it at ERROR with the traceback, then re-raised
        print(f"caught the re-raised error: {exc}")
    log.info("pipeline done")


if __name__ == "__main__":
    main()
