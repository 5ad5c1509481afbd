"""`retry` on calls that succeed at once vs backoff, tenacity and stamina (same semantics:
retry on Exception, at most 3 attempts), plain and with a deadline and a budget (no target:
that row shows what reading the clock and counting the call in the budget cost)."""

from __future__ import annotations

import logging

import backoff
import stamina
import tenacity
from overhead import Group

from mlops_decorators.retrying import RetryBudget, retry

BACKOFF = "backoff.on_exception(expo, Exception, max_tries=3)"
TENACITY = "tenacity.retry(stop=stop_after_attempt(3))"
STAMINA = "stamina.retry(on=Exception, attempts=3) (reference)"


def _work() -> int:
    return 1


async def _awork() -> int:
    return 1


def _peers(fn):  # type: ignore[no-untyped-def]
    return {
        BACKOFF: backoff.on_exception(backoff.expo, Exception, max_tries=3, logger=None)(fn),
        TENACITY: tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True)(fn),
        STAMINA: stamina.retry(on=Exception, attempts=3)(fn),
    }


def groups() -> list[Group]:
    logging.getLogger("bench.quiet").setLevel(logging.CRITICAL)
    targets = {BACKOFF: 0.1, TENACITY: 0.03}
    return [
        Group(
            name="retry (sync, first attempt ok)",
            bare=_work,
            ours=retry(max_attempts=3, logger="bench.quiet")(_work),
            peers=_peers(_work),
            targets=targets,
        ),
        Group(
            name="retry (async, first attempt ok)",
            bare=_awork,
            ours=retry(max_attempts=3, logger="bench.quiet")(_awork),
            peers=_peers(_awork),
            targets=targets,
            is_async=True,
        ),
        Group(
            name="retry (sync, deadline + budget)",
            bare=_work,
            ours=retry(max_attempts=3, deadline=10, budget=RetryBudget(), logger="bench.quiet")(
                _work
            ),
            peers={
                "backoff.on_exception(..., max_tries=3, max_time=10)": backoff.on_exception(
                    backoff.expo, Exception, max_tries=3, max_time=10, logger=None
                )(_work),
                "tenacity.retry(stop=attempt(3) | delay(10))": tenacity.retry(
                    stop=tenacity.stop_after_attempt(3) | tenacity.stop_after_delay(10),
                    reraise=True,
                )(_work),
            },
        ),
    ]
