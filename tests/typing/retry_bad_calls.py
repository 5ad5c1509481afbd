# pyright: strict
"""Never executed: wrong calls that ``mypy --strict`` and pyright must reject on the lines
marked ``# E: <error code>`` (tests/test_typing.py)."""

from __future__ import annotations

from mlops_decorators import RetryBudget, RetryState, retry, retry_context, retry_stats


@retry
def add(a: int, b: int = 0) -> int:
    return a + b


@retry(max_attempts=2)
async def fetch(url: str) -> bytes:
    return url.encode()


def no_state() -> float:
    return 1.0


def in_words(state: RetryState) -> str:
    return "1s"


def two_states(state: RetryState, other: RetryState) -> None:
    return None


add("1")  # E: arg-type
add(1, c=2)  # E: call-arg
text: str = add(1)  # E: assignment
_ = fetch(1)  # E: arg-type
retry(3)  # E: call-overload
retry(max_attempts="3")  # E: call-overload
retry(jitter="uniform")  # E: call-overload
retry(budget=0.2)  # E: call-overload
retry(wait=no_state)  # E: arg-type
retry(wait=in_words)  # E: arg-type
retry(before_attempt=two_states)  # E: arg-type
retry_context(wait=no_state)  # E: arg-type
retry_context(max_attempts="3")  # E: arg-type
retry_context(name=3)  # E: arg-type
RetryBudget(ratio="0.2")  # E: arg-type
retry_stats("add")  # E: arg-type
retries: str = retry_stats(add).retries  # E: assignment
_ = retry_stats(add).nope  # E: attr-defined


def nonexistent_accessor() -> None:
    from mlops_decorators import retry_info  # E: attr-defined

    del retry_info
