"""`RedisBackend`: one cache shared by every process and machine of a service.

``redis`` is imported when a backend is constructed, never at package import. Entries live
under ``prefix + namespace + ":" + digest`` and expire through Redis' own ``PX`` expiry, so
no process has to purge anything.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import _checks
from ._serialize import Codec, resolve_secret

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = ["RedisBackend"]

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _is_client(client: object) -> bool:
    """Whether `client` has the methods a backend calls (a class has them too: refused)."""
    methods = ("get", "set", "delete", "scan_iter", "unlink")
    return not isinstance(client, type) and all(
        callable(getattr(client, method, None)) for method in methods
    )


class RedisBackend:
    """Store cache entries in Redis (the ``redis`` extra).

    Use it when the replicas of a service should share one cache. TTLs use Redis' native
    expiry; ``cache_clear()`` deletes only the calling function's keys (SCAN + UNLINK).
    A backend built from a URL can be pickled (sent to a worker process): the copy connects
    anew with the same URL; the pickle holds the URL's password and the signing secret. One
    given its ``client`` cannot (`TypeError`): a client's connections stay in its process.

    Args:
        url: A Redis URL such as ``"redis://localhost:6379/0"``; the default when neither
            `url` nor `client` is given. A password in it is shown as ``***`` in the
            backend's repr, and so in log records.
        client: An existing ``redis.Redis`` client to use instead of a URL.
        prefix: Prepended to every key, so the cache can share a database with other data.
        secret: Key signing each entry with HMAC-SHA256; defaults to the
            ``MLOPS_DECORATORS_CACHE_SECRET`` environment variable. Without one, entries
            are unsigned and a warning says so once: anyone who can write to the Redis
            database could then make your processes unpickle arbitrary data.
        timeout: Seconds (or a `timedelta`) a call may wait for the server: the socket
            timeout of a client created from `url` (which tries each command once), and the
            most an ``async def`` call waits in total. After a failure, calls skip the
            server for a short cool-down, so an unreachable or hung server costs one
            timeout per cool-down. Give a client you pass in its own socket timeouts.

    Raises:
        ImportError: The ``redis`` package is not installed.
        ValueError: Both `url` and `client` were given, or ``timeout`` is not positive.
        TypeError: ``url`` or ``prefix`` is not a str, ``client`` lacks the methods of a
            ``redis.Redis`` client, or ``timeout`` is not a number of seconds.

    Example:
        >>> from mlops_decorators.caching import cache_result
        >>> backend = RedisBackend("redis://127.0.0.1:6379/0", secret="s3cret")  # no I/O yet
        >>> @cache_result(ttl=600, backend=backend)
        ... def features(user_id: int) -> list[float]:
        ...     return [float(user_id)]
        >>> features.cache_key(7).startswith("mlops_decorators.caching._redis.features:")
        True
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        prefix: str = "mlops-decorators:",
        secret: str | bytes | None = None,
        timeout: float | timedelta = 1.0,
    ) -> None:
        url = _checks.optional(_checks.instance_of, "url", url, str)
        if client is not None and not _is_client(client):
            raise _checks.wrong_type("client", "a redis.Redis client or None", client)
        if url is not None and client is not None:
            raise ValueError("pass either url= or client= to RedisBackend, not both")
        self.prefix = _checks.instance_of("prefix", prefix, str)
        timeout_s = _checks.seconds("timeout", timeout, allow_zero=False)
        client_given = client is not None
        if client is None:
            client = _client_from_url(url, timeout_s)
        self.client = client
        self.timeout = timeout_s
        self._url = None if url is None else _without_password(url)
        # What a copy reconnects with (the password included): None for a client given.
        self._connect = None if client_given else (url, timeout_s)
        self.codec = Codec(resolve_secret("secret", secret), repr(self))

    def __getstate__(self) -> dict[str, object]:
        # A client's connection pool (sockets, locks) cannot cross processes: a copy (pickle,
        # e.g. to a worker process) reconnects from the URL on load.
        if self._connect is None:
            raise TypeError(
                f"cannot pickle {self!r}: it was given its client, whose connections cannot "
                "cross processes. Build it from a URL, RedisBackend(url, ...), to pickle it, "
                "or create the backend in each process."
            )
        state = self.__dict__.copy()
        del state["client"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.client = _client_from_url(*state["_connect"])

    def __repr__(self) -> str:
        # Logged in warnings (unsigned entries, a failing server): never with the password.
        where = self._url if self._url is not None else type(self.client).__name__
        return f"RedisBackend({where!r}, prefix={self.prefix!r})"

    def get(self, key: str) -> bytes | None:
        """The bytes stored under `key` (Redis drops expired keys itself).

        Args:
            key: ``"<namespace>:<hex digest>"``; stored under ``prefix + key``.

        Returns:
            The stored bytes, or None.

        Raises:
            redis.RedisError: The server cannot be reached or answers with an error.

        Example:
            >>> backend = RedisBackend("redis://localhost:6379/0", secret="s")
            >>> backend.set("app.f:1", b"record", ttl=60)  # doctest: +SKIP
            >>> backend.get("app.f:1")  # doctest: +SKIP
            b'record'
        """
        value = self.client.get(self.prefix + key)
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """``SET key value PX ttl_ms`` (no expiry when `ttl` is None).

        Args:
            key: ``"<namespace>:<hex digest>"``.
            value: The record to store.
            ttl: Seconds until Redis expires the key (at least 1 ms), or None for never.

        Raises:
            redis.RedisError: The server cannot be reached or answers with an error.

        Example:
            >>> backend = RedisBackend("redis://localhost:6379/0", secret="s")
            >>> backend.set("app.f:1", b"record", ttl=0.5)  # doctest: +SKIP
            >>> backend.client.pttl("mlops-decorators:app.f:1") <= 500  # doctest: +SKIP
            True
        """
        px = None if ttl is None else max(1, round(ttl * 1000))
        self.client.set(self.prefix + key, value, px=px)

    def delete(self, key: str) -> bool:
        """Delete `key`; whether it was there.

        Args:
            key: ``"<namespace>:<hex digest>"``.

        Returns:
            True if the key existed.

        Raises:
            redis.RedisError: The server cannot be reached or answers with an error.

        Example:
            >>> backend = RedisBackend("redis://localhost:6379/0", secret="s")
            >>> backend.set("app.f:1", b"record", ttl=60)  # doctest: +SKIP
            >>> backend.delete("app.f:1"), backend.delete("app.f:1")  # doctest: +SKIP
            (True, False)
        """
        return bool(self.client.delete(self.prefix + key))

    def clear(self, namespace: str) -> None:
        """Delete the keys of one function (`namespace`), leaving every other key alone.

        Keys are found with ``SCAN`` (never the blocking ``KEYS``) and removed with ``UNLINK``
        in batches of 500.

        Args:
            namespace: The function's namespace (module, qualname and version).

        Raises:
            redis.RedisError: The server cannot be reached or answers with an error.

        Example:
            >>> backend = RedisBackend("redis://localhost:6379/0", secret="s")
            >>> backend.set("app.f:1", b"f's", ttl=60)  # doctest: +SKIP
            >>> backend.set("app.g:1", b"g's", ttl=60)  # doctest: +SKIP
            >>> backend.clear("app.f")  # doctest: +SKIP
            >>> backend.get("app.f:1"), backend.get("app.g:1")  # doctest: +SKIP
            (None, b"g's")
        """
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.prefix + namespace) + ":*"
        batch: list[Any] = []
        for name in self.client.scan_iter(match=pattern, count=500):
            batch.append(name)
            if len(batch) >= 500:
                self.client.unlink(*batch)
                batch.clear()
        if batch:
            self.client.unlink(*batch)


def _client_from_url(url: str | None, timeout_s: float) -> Any:
    """A ``redis.Redis`` client for `url` (the local server by default), with timeouts, that
    tries each command once."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover -- redis is installed in tests
        raise ImportError(
            "RedisBackend needs the redis package: pip install 'mlops-decorators[redis]'"
        ) from exc
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url or "redis://localhost:6379/0",
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        # One attempt: retrying a hung server multiplies the wait; the cache's cool-down
        # handles a failing server instead.
        retry=Retry(NoBackoff(), 0),
    )


def _without_password(url: str) -> str:
    """`url` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()
