"""Guard a model's predict() against malformed batches with validate_input.

A scoring service receives batches from upstream jobs. Most are fine; some carry NaN from a
failed join, a column too few after a schema change, float64 instead of float32, or a
threshold typed by hand. Each bad batch is rejected before it reaches the model, with an error
that says which argument is wrong and how, and the statistics count what was rejected.

Run: python examples/validate_predict.py
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field

from mlops_decorators import Array, InputValidationError, validate_input, validate_input_stats

N_FEATURES = 4

Features = Annotated[np.ndarray, Array(shape=("n", N_FEATURES), dtype="float32")]
Weights = Annotated[np.ndarray, Array(shape=("n",), dtype="floating", ge=0)]
Scores = Annotated[np.ndarray, Array(shape=("n",), ge=0, le=1)]


class Settings(BaseModel):
    threshold: Annotated[float, Field(gt=0, lt=1)] = 0.5
    api_token: str = ""


class ChurnModel:
    def __init__(self) -> None:
        self.coef = np.array([0.8, -0.5, 0.3, 0.1], dtype=np.float32)

    @validate_input(validate_return=True)
    def predict(self, features: Features, weights: Weights, settings: Settings) -> Scores:
        logits = features @ self.coef * weights
        return 1 / (1 + np.exp(-logits))


def batches(rng: np.random.Generator) -> list[tuple[str, tuple[object, ...]]]:
    good = rng.normal(size=(256, N_FEATURES)).astype(np.float32)
    with_nan = good.copy()
    with_nan[[3, 17, 40], 2] = np.nan
    return [
        ("good batch", (good, np.ones(256), {"threshold": "0.7"})),
        ("NaN from a failed join", (with_nan, np.ones(256), {})),
        ("a column dropped upstream", (good[:, :3], np.ones(256), {})),
        ("float64 features", (good.astype(np.float64), np.ones(256), {})),
        ("weights of another batch", (good, np.ones(255), {})),
        (
            "a bad threshold and a leaked token",
            (good, -np.ones(256), {"threshold": 1.5, "api_token": 12345}),
        ),
    ]


def main() -> None:
    model = ChurnModel()
    for label, (features, weights, settings) in batches(np.random.default_rng(0)):
        try:
            scores = model.predict(features, weights, settings)  # type: ignore[arg-type]
        except InputValidationError as error:
            print(f"rejected {label}: {error}")
        else:
            print(f"scored {label}: {len(scores)} rows, mean score {scores.mean():.3f}")
    stats = validate_input_stats(model.predict)
    print(f"{stats.calls} batches, {stats.rejected} rejected; by argument: {stats.by_parameter}")


if __name__ == "__main__":
    main()
