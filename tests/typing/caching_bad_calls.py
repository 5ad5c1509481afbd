# pyright: strict
"""Never executed: wrong calls that ``mypy --strict`` and pyright must reject on the lines
marked ``# E: <error code>`` (tests/test_typing.py)."""

from __future__ import annotations

from mlops_decorators import cache_clear, cache_info, cache_invalidate
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
cache_info(None)  # E: arg-type
hits: str = cache_info(add).hits  # E: assignment
cache_clear(add, 1)  # E: call-arg
dropped: str = cache_invalidate(fetch, "u")  # E: assignment
cache_invalidate("add", 1)  # E: arg-type


def nonexistent_accessor() -> None:
    from mlops_decorators import cache_stats  # E: attr-defined

    del cache_stats
