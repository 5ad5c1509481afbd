"""`StatsDExporter`: call metrics as DogStatsD datagrams over UDP, the way a Datadog agent
(or any StatsD server that reads tags) receives them.

One datagram per call, sent without waiting: UDP never blocks on the receiver, the socket is
non-blocking, and the agent's address is resolved once, when the exporter is created.
"""

from __future__ import annotations

import re
import socket
import weakref
from collections.abc import Iterable, Mapping

from .._checks import instance_of, integer, wrong_type, wrong_value
from ._data import MonitoredSeries

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*\Z")
# Characters that would end a tag, a metric or a datagram early.
_UNSAFE = re.compile(r"[,|#\n\r]")


def _tag(key: str, value: str) -> str:
    return f"{_UNSAFE.sub('_', key)}:{_UNSAFE.sub('_', value)}"


class StatsDExporter:
    """Export monitored functions as DogStatsD metrics.

    Per call, one datagram with (tags ``function``, the function's labels and `tags`):

    - ``<prefix>.calls:1|c`` tagged ``outcome:ok`` or ``outcome:error``;
    - ``<prefix>.call.duration:<ms>|ms``, a timing in milliseconds;
    - ``<prefix>.errors:1|c`` tagged ``error_type:<exception class>``, for a failure.

    Sending never blocks nor fails the call: a datagram the kernel cannot take is dropped and
    counted as an export error.

    Args:
        host: The StatsD server or Datadog agent (resolved once, here).
        port: Its UDP port.
        prefix: Prepended to every metric name.
        tags: Tags on every metric: a mapping (``{"env": "prod"}``) or ``"key:value"`` strings.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: ``host`` cannot be resolved, ``port`` is out of range or ``prefix`` is
            no metric name.

    Example:
        >>> import socket
        >>> from mlops_decorators import StatsDExporter, monitor
        >>> agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        >>> agent.bind(("127.0.0.1", 0))
        >>> statsd = StatsDExporter(port=agent.getsockname()[1], tags={"env": "dev"})
        >>> @monitor(exporters=[statsd])
        ... def fit_epoch() -> None:
        ...     pass
        >>> fit_epoch()
        >>> print(agent.recv(4096).decode().split("\\n")[0])
        mlops.calls:1|c|#function:fit_epoch,outcome:ok,env:dev
        >>> statsd.close()
        >>> agent.close()
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8125,
        *,
        prefix: str = "mlops",
        tags: Mapping[str, str] | Iterable[str] | None = None,
    ) -> None:
        host = instance_of("host", host, str)
        port = integer("port", port, ge=1, le=65535)
        prefix = instance_of("prefix", prefix, str)
        if not _NAME.match(prefix):
            raise wrong_value(
                "prefix", "a metric name (letters, digits, '_' and '.', from a letter)", prefix
            )
        self.prefix = prefix
        self.tags = _constant_tags(tags)
        try:
            family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except OSError as exc:
            raise ValueError(f"host {host!r} cannot be resolved: {exc}") from None
        self.address = address
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        # Closed with the exporter, if close() is never called.
        self._closer = weakref.finalize(self, self._socket.close)

    def __repr__(self) -> str:
        return f"StatsDExporter(address={self.address!r}, prefix={self.prefix!r})"

    def bind(self, series: MonitoredSeries) -> _Datagrams:
        """Export `series`: one datagram per call."""
        return _Datagrams(self, series)

    def send(self, datagram: bytes) -> None:
        """Send one datagram, without waiting (`BlockingIOError` when the buffer is full)."""
        self._socket.sendto(datagram, self.address)

    def close(self) -> None:
        """Close the socket."""
        self._closer()


def _constant_tags(tags: object) -> list[str]:
    what = "a mapping such as {'env': 'prod'}, 'key:value' strings or None"
    if tags is None:
        return []
    if isinstance(tags, Mapping):
        return [_tag(str(key), str(value)) for key, value in tags.items()]
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise wrong_type("tags", what, tags)
    checked = list(tags)
    if not all(isinstance(tag, str) for tag in checked):
        raise wrong_type("tags", what, tags)
    return [_UNSAFE.sub("_", tag) for tag in checked]


class _Datagrams:
    """Formats and sends the datagram of each call of one series (built once, filled in)."""

    __slots__ = ("_error", "_error_type", "_ok", "_series", "_timing", "exporter")

    def __init__(self, exporter: StatsDExporter, series: MonitoredSeries) -> None:
        self.exporter = exporter
        self._series = series
        function = _tag("function", series.name)
        rest = [*(_tag(k, v) for k, v in series.labels.items()), *exporter.tags]

        def tagged(*more: str) -> str:
            return ",".join([function, *more, *rest])

        p = exporter.prefix
        self._ok = f"{p}.calls:1|c|#{tagged('outcome:ok')}"
        self._error = f"{p}.calls:1|c|#{tagged('outcome:error')}"
        self._timing = (f"{p}.call.duration:", f"|ms|#{tagged()}")
        self._error_type = f"{p}.errors:1|c|#{tagged()},error_type:"

    def start(self) -> None:
        return None

    def finish(self, token: object, duration_s: float, error: BaseException | None) -> None:
        name, tags = self._timing
        timing = f"{name}{duration_s * 1000:.3f}{tags}"
        if error is None:
            datagram = f"{self._ok}\n{timing}"
        else:
            kind = _UNSAFE.sub("_", self._series.error_type(error))
            datagram = f"{self._error}\n{timing}\n{self._error_type}{kind}"
        self.exporter.send(datagram.encode())
