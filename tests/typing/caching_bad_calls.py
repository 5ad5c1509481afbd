"""Never executed: wrong calls that ``mypy --strict`` must reject on the lines marked
``# E: <error code>`` (tests/caching/test_cache_typing.py)."""

from __future__ import annotations

from mlops_decorators.caching import cache_result


@cache_result
def add(a: int, b: int = 0) -> int:
    return a + b


@cache_result(ttl=5)
async def fetch(url: str) -> bytes:
    return url.encode()


add("1")  # E: arg-type
add(1, c=2)  # E: call-arg
text: str = add(1)  # E: assignment
_ = fetch(1)  # E: arg-type
cache_result(ttl="soon")  # E: call-overload
cache_result(maxsize=1.5)  # E: call-overload
