"""How long a failure asks to wait: a ``retry_after`` attribute or a ``Retry-After`` header.

Servers that shed load say when to come back (HTTP 429 and 503 responses). `retry_after`
reads that advice from an exception, in the forms the common HTTP clients attach it;
anything it cannot read counts as no advice, so the caller falls back to its own backoff.
`wall_clock` (replaced by tests) is read only for HTTP-date values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .. import _checks

wall_clock: Callable[[], float] = time.time


def retry_after(exc: BaseException) -> float | None:
    """Seconds `exc` asks to wait (>= 0), or None when it gives no readable advice.

    The advice is the exception's ``retry_after`` attribute (seconds, a `timedelta` or a
    header string) or else a ``Retry-After`` header, as delta-seconds or an HTTP-date, from
    ``exc.response.headers`` (requests and httpx errors) or ``exc.headers`` (aiohttp's
    ``ClientResponseError``).
    """
    value = getattr(exc, "retry_after", None)
    if value is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        if headers is None:
            headers = getattr(exc, "headers", None)
        if headers is None:
            return None
        try:
            value = headers.get("Retry-After")
            if value is None:  # plain dicts are case-sensitive
                value = headers.get("retry-after")
        except Exception:  # an unexpected headers type is not worth failing the call
            return None
    delta = _checks.timedelta_seconds(value)
    if delta is not None:
        seconds = delta
    elif isinstance(value, (str, bytes)):
        seconds = _parse_header(value.decode("latin-1") if isinstance(value, bytes) else value)
    else:
        try:  # ints, floats and numpy numbers alike; NaN, infinities and bools are no advice
            seconds = _checks.number("retry_after", value)
        except (TypeError, ValueError):
            return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _parse_header(text: str) -> float:
    """Seconds from a header value (delta-seconds or an HTTP-date); NaN when unreadable."""
    try:
        return float(text.strip())
    except ValueError:
        pass
    from datetime import datetime, timezone  # rare path: keep the module import light
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return math.nan
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime.fromtimestamp(wall_clock(), timezone.utc)).total_seconds()
