"""`JsonFormatter`: log records as one JSON object per line, structured fields included."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from .._checks import wrong_type

# What every LogRecord carries; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",  # Python 3.12+
}


class JsonFormatter(logging.Formatter):
    """Format each record as one line of JSON: searchable logs for Loki, Elasticsearch,
    Cloud Logging or ``jq``.

    Every object has ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger`` and
    ``message``, then the record's structured fields (what the decorators pass as ``extra``:
    ``function``, ``duration_s``, ``outcome``, ``exception``, ``call_args``, ``labels``,
    ``system``...), then ``exc_info`` (the formatted traceback) when there is one. Values JSON
    cannot encode are written as their ``str()``.

    Args:
        fields: Standard `logging.LogRecord` attributes to add as well (``"process"``,
            ``"threadName"``, ``"lineno"``...).

    Example:
        >>> import logging, sys
        >>> handler = logging.StreamHandler(sys.stdout)
        >>> handler.setFormatter(JsonFormatter())
        >>> log = logging.getLogger("doc.json")
        >>> log.addHandler(handler)
        >>> log.propagate = False
        >>> log.warning("slow", extra={"duration_s": 1.5})  # doctest: +ELLIPSIS
        {"time": "...Z", "level": "WARNING", "logger": "doc.json", "message": "slow", ...: 1.5}
        >>> log.removeHandler(handler)
    """

    def __init__(self, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        what = "a tuple of LogRecord attribute names such as ('process', 'lineno')"
        if not isinstance(fields, tuple) or not all(isinstance(f, str) for f in fields):
            raise wrong_type("fields", what, fields)
        self.fields = fields

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        data: dict[str, Any] = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.fields:
            data[name] = getattr(record, name, None)
        for name, value in vars(record).items():
            if name not in _STANDARD:
                data[name] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str, ensure_ascii=False)
