"""Never executed: wrong calls that ``mypy --strict`` must reject on the lines marked
``# E: <error code>`` (tests/test_retrying_typing.py)."""

from __future__ import annotations

from mlops_decorators import RetryBudget, retry, retry_context


@retry
def add(a: int, b: int = 0) -> int:
    return a + b


@retry(max_attempts=2)
async def fetch(url: str) -> bytes:
    return url.encode()


add("1")  # E: arg-type
add(1, c=2)  # E: call-arg
text: str = add(1)  # E: assignment
_ = fetch(1)  # E: arg-type
retry(3)  # E: call-overload
retry(max_attempts="3")  # E: call-overload
retry(jitter="uniform")  # E: call-overload
retry(budget=0.2)  # E: call-overload
retry_context(name=3)  # E: arg-type
RetryBudget(ratio="0.2")  # E: arg-type
