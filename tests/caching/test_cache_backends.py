"""SQLite and Redis backends, signed records, failing backends, cross-process sharing."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fakes import FakeClock, free_port, run_in_threads
from mlops_decorators.caching import RedisBackend, SQLiteBackend, cache_result
from mlops_decorators.caching import _cache as cache_module

SECRET = "test-secret"


def counted(backend: Any, **options: Any) -> Any:
    options.setdefault("namespace", "compute")  # a closure: it needs a name in a shared store
    calls: list[Any] = []

    @cache_result(backend=backend, **options)
    def compute(x: Any) -> Any:
        calls.append(x)
        return {"x": x, "array": np.arange(3, dtype=np.float32) * x}

    compute.calls = calls  # type: ignore[attr-defined]
    return compute


class Evil:
    """Unpickling this creates a file: proof that a record was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.mkdir, (str(self.marker),))


def evil_record(marker: Path) -> bytes:
    return b"md1U" + b"P" + pickle.dumps(Evil(marker))


# -- SQLite ------------------------------------------------------------------------------


def test_sqlite_hit_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.db"
    first = counted(SQLiteBackend(path, secret=SECRET))
    value = first(2)
    assert first(2)["x"] == 2
    np.testing.assert_array_equal(value["array"], [0, 2, 4])
    assert not value["array"].flags.writeable
    restarted = counted(SQLiteBackend(path, secret=SECRET))  # a new process would do this
    hit = restarted(2)
    assert restarted.calls == []
    assert not hit["array"].flags.writeable
    np.testing.assert_array_equal(hit["array"], [0, 2, 4])
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_plain_arrays_skip_pickle_and_copy_option(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)

    @cache_result(backend=backend)
    def frozen(n: int) -> np.ndarray:
        return np.arange(n, dtype=np.int16).reshape(1, n)

    @cache_result(backend=backend, copy=True)
    def fresh(n: int) -> np.ndarray:
        return np.arange(n, dtype=np.int16)

    frozen(4)
    hit = frozen(4)
    assert (hit.dtype, hit.shape, hit.flags.writeable) == (np.int16, (1, 4), False)
    fresh(4)
    copy = fresh(4)
    copy[0] = 9  # a private copy: the next hit is unaffected
    assert fresh(4)[0] == 0
    assert fresh.cache_info().hits == 2


def test_sqlite_ttl_uses_wall_clock_and_purges(tmp_path: Path, clock: FakeClock) -> None:
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET, clock=clock, purge_every=2)
    f = counted(backend, ttl=10)
    f(1)
    clock.advance(9)
    f(1)
    assert len(f.calls) == 1
    clock.advance(1)
    f(1)  # expired: recomputed (second write purges the expired row first... then stores)
    assert len(f.calls) == 2
    clock.advance(100)
    assert backend.purge_expired() == 1
    g = counted(backend, ttl=None)
    g(1)
    clock.advance(1e9)
    g(1)
    assert len(g.calls) == 1
    assert f.cache_info().currsize is None
    assert f.cache_info().maxsize is None


def test_sqlite_clear_and_invalidate_only_touch_one_function(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)
    f, g = counted(backend), counted(backend, version="2")
    f(1), f(2), g(1)
    f.cache_clear()
    f(1), g(1)
    assert (f.calls, g.calls) == ([1, 2, 1], [1])
    assert g.cache_invalidate(1) is True
    assert g.cache_invalidate(1) is False
    assert isinstance(g.cache_key(1), str)
    assert g.cache_key(1).rpartition(":")[0].endswith("compute@2")
    backend.close()
    backend.close()
    assert f(1)["x"] == 1  # reconnects
    assert f.calls == [1, 2, 1]

    def other_thread() -> None:
        f(2)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    backend.close()  # closes the other thread's connection too
    assert f(2)["x"] == 2
    assert f.calls == [1, 2, 1, 2]


def test_sqlite_closes_the_connections_of_ended_threads(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)
    f = counted(backend)
    for i in range(10):  # a thread per request, as some servers do
        thread = threading.Thread(target=f, args=(i,))
        thread.start()
        thread.join()
    assert len(backend._connections) == 1  # only the last thread's is left open
    assert f(9)["x"] == 9
    assert [entry[1] for entry in backend._connections] == [threading.current_thread()]
    assert f.calls == list(range(10))


@pytest.mark.parametrize("copied", [False, True], ids=["built", "unpickled"])
def test_sqlite_backend_dropped_without_close_closes_its_connections(
    tmp_path: Path, copied: bool
) -> None:
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)
    if copied:  # a copy sent to a worker process opens connections of its own
        backend = pickle.loads(pickle.dumps(backend))
    backend.set("f:1", b"record", ttl=None)
    ((connection, _, _),) = backend._connections
    del backend
    gc.collect()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("SELECT 1")


def test_sqlite_connection_that_fails_its_setup_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("CREATE TABLE other (x)")
    blocker.execute("BEGIN EXCLUSIVE")  # the backend cannot even switch to WAL
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    backend = SQLiteBackend(path, secret=SECRET, timeout=0.01)
    try:
        for _ in range(2):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                backend.get("f:1")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert len(opened) == 2
    assert backend._connections == []
    for connection in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
    backend.set("f:1", b"record", ttl=None)  # usable once the lock is gone
    assert backend.get("f:1") == b"record"
    backend.close()


def test_sqlite_sets_up_one_connection_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two connections switching a new file to WAL at once can get "database is locked" at
    # once, whatever the timeout: threads starting together must take turns.
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)
    open_connection = backend._open
    lock = threading.Lock()
    inside = most = opened = 0

    def counting_open() -> sqlite3.Connection:
        nonlocal inside, most, opened
        with lock:
            inside += 1
            opened += 1
            most = max(most, inside)
        time.sleep(0.01)  # room for another thread to come in, were it let
        try:
            return open_connection()
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(backend, "_open", counting_open)
    run_in_threads(lambda: backend.set("f:1", b"record", ttl=None), 4)
    assert (opened, most) == (4, 1)
    assert backend.get("f:1") == b"record"
    backend.close()


def test_sqlite_tampered_entry_is_never_unpickled(
    tmp_path: Path, cache_logs: pytest.LogCaptureFixture
) -> None:
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)
    f = counted(backend)
    f(1)
    key = f.cache_key(1)
    marker = tmp_path / "pwned"
    connection = sqlite3.connect(tmp_path / "c.db")
    with connection:
        connection.execute(
            "UPDATE mlops_cache SET value = ? WHERE key = ?", (evil_record(marker), key)
        )
    connection.close()  # `with` only commits
    assert f(1)["x"] == 1
    assert not marker.exists()
    assert len(f.calls) == 2
    assert any("rejected cache entry" in r.message for r in cache_logs.records)
    # The recomputed value replaced the rejected record: a hit again.
    f(1)
    assert len(f.calls) == 2


@pytest.mark.parametrize("timeout", [0.01, timedelta(milliseconds=10)])
def test_sqlite_locked_database_never_fails_the_call(
    tmp_path: Path, timeout: float | timedelta
) -> None:
    path = tmp_path / "c.db"
    backend = SQLiteBackend(path, secret=SECRET, timeout=timeout)
    f = counted(backend)
    f(0)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert f(1)["x"] == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert f.cache_info().backend_errors >= 1


def test_sqlite_unusable_path_never_fails_the_call(
    tmp_path: Path, cache_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(cache_module, "_monotonic", clock)
    f = counted(SQLiteBackend(tmp_path, secret=SECRET))  # a directory is no database
    assert f(1)["x"] == 1  # get fails: the cool-down begins, set is skipped
    assert f(1)["x"] == 1  # skipped
    f.cache_invalidate(1)  # asked for explicitly: tried, and fails
    f.cache_clear()
    f(1)
    info = f.cache_info()
    assert (info.backend_errors, info.backend_skips) == (0, 1)  # cache_clear reset them
    warnings = [r for r in cache_logs.records if "failed to" in r.message]
    assert len(warnings) == 1  # rate-limited
    # The same structured fields as the other decorators' records.
    assert warnings[0].function.endswith("compute")  # type: ignore[attr-defined]
    assert warnings[0].operation == "get"  # type: ignore[attr-defined]
    assert warnings[0].exception == "OperationalError"  # type: ignore[attr-defined]
    clock.advance(cache_module.WARN_EVERY_S)
    f(1)  # past the cool-down: probes the file, fails again
    assert f.cache_info().backend_errors == 1
    assert len([r for r in cache_logs.records if "failed to" in r.message]) == 2


def test_sqlite_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="table must be an SQL identifier"):
        SQLiteBackend(tmp_path / "c.db", table="x; DROP")
    with pytest.raises(TypeError, match="table must be a str, got int 3"):
        SQLiteBackend(tmp_path / "c.db", table=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        SQLiteBackend(tmp_path / "c.db", timeout=0)
    with pytest.raises(ValueError, match="purge_every"):
        SQLiteBackend(tmp_path / "c.db", purge_every=0)
    with pytest.raises(TypeError, match="clock"):
        SQLiteBackend(tmp_path / "c.db", clock=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_bytes"):
        cache_result(backend=SQLiteBackend(tmp_path / "c.db", secret=SECRET), max_bytes=10)(
            lambda x: x
        )
    with pytest.raises(TypeError, match="secret"):
        SQLiteBackend(tmp_path / "c.db", secret=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="secret"):
        SQLiteBackend(tmp_path / "c.db", secret="")


# -- signing -----------------------------------------------------------------------------


def test_unsigned_backend_warns_once(tmp_path: Path, cache_logs: pytest.LogCaptureFixture) -> None:
    backend = SQLiteBackend(tmp_path / "c.db")
    counted(backend)(1)
    counted(backend)(1)
    unsigned = [r for r in cache_logs.records if "unsigned" in r.message]
    assert len(unsigned) == 1


def test_secret_from_environment(
    tmp_path: Path, cache_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_DECORATORS_CACHE_SECRET", SECRET)
    backend = SQLiteBackend(tmp_path / "c.db")
    f = counted(backend)
    f(1)
    assert not [r for r in cache_logs.records if "unsigned" in r.message]
    # Entries signed with another secret, or not signed at all, are rejected.
    other = counted(SQLiteBackend(tmp_path / "c.db", secret="other"))
    other(1)
    assert other.calls == [1]
    monkeypatch.delenv("MLOPS_DECORATORS_CACHE_SECRET")
    unsigned = counted(SQLiteBackend(tmp_path / "c.db"))
    unsigned(1)  # without a secret, a signed record is read as is
    assert unsigned.calls == []


def test_record_moved_to_another_key_is_rejected(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)
    f = counted(backend)
    f(1)
    record = backend.get(f.cache_key(1))
    assert record is not None
    backend.set(f.cache_key(2), record, 60)
    assert f(2)["x"] == 2
    assert f.calls == [1, 2]


def test_unsigned_mode_rejects_corrupt_records(
    tmp_path: Path, cache_logs: pytest.LogCaptureFixture
) -> None:
    backend = SQLiteBackend(tmp_path / "c.db")
    f = counted(backend)
    for record in (b"garbage", b"md1X", b"md1UZ", b"md1UPnot a pickle", b"md1UA\x00\x00\x00\x02{]"):
        backend.set(f.cache_key(1), record, 60)
        assert f(1)["x"] == 1
        backend.delete(f.cache_key(1))
    assert len(f.calls) == 5
    assert len([r for r in cache_logs.records if "rejected" in r.message]) == 5


def test_non_bytes_from_a_custom_backend_is_a_rejected_record(
    cache_logs: pytest.LogCaptureFixture,
) -> None:
    backend = DictBackend()
    f = counted(backend)
    backend.data[f.cache_key(1)] = "md1U text"  # type: ignore[assignment]
    assert f(1)["x"] == 1
    assert isinstance(backend.data[f.cache_key(1)], bytes)  # replaced by a real record
    assert any("instead of bytes" in r.getMessage() for r in cache_logs.records)


# -- custom and failing backends ---------------------------------------------------------


class DictBackend:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None

    def clear(self, namespace: str) -> None:
        for key in [k for k in self.data if k.startswith(namespace + ":")]:
            del self.data[key]


class BrokenBackend(DictBackend):
    def get(self, key: str) -> bytes | None:
        raise ConnectionError("down")

    set = delete = clear = get  # type: ignore[assignment]


class SpyBackend(DictBackend):
    """Records deletions, to see a rejected record go."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[str] = []

    def delete(self, key: str) -> bool:
        self.deleted.append(key)
        return super().delete(key)


@pytest.mark.parametrize("mac", [b"\0" * 32, b"short", b""])
def test_bad_signature_is_rejected_before_unpickling(
    mac: bytes,
    tmp_path: Path,
    cache_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLOPS_DECORATORS_CACHE_SECRET", SECRET)
    backend = SpyBackend()
    f = counted(backend)
    key = f.cache_key(1)
    marker = tmp_path / "pwned"
    evil = backend.data[key] = b"md1S" + mac + b"P" + pickle.dumps(Evil(marker))
    unpickled: list[object] = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: unpickled.append(a))
    assert f(1)["x"] == 1
    assert unpickled == []  # pickle.loads was never reached
    assert not marker.exists()
    assert backend.deleted == [key]
    assert f.calls == [1]
    assert backend.data[key] != evil  # replaced by the recomputed, signed record
    assert backend.data[key].startswith(b"md1S")
    warnings = [r for r in cache_logs.records if "rejected cache entry" in r.message]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "signature does not verify" in warnings[0].getMessage()


class GatedBackend(DictBackend):
    """Every operation blocks until `gate` opens, like a slow network store."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def get(self, key: str) -> bytes | None:
        assert self.gate.wait(2)  # a failure would be counted in backend_errors
        return super().get(key)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        assert self.gate.wait(2)
        super().set(key, value, ttl)


async def test_async_function_does_backend_io_off_the_event_loop(
    cache_logs: pytest.LogCaptureFixture,
) -> None:
    backend = GatedBackend()

    @cache_result(backend=backend)
    async def fetch(x: int) -> int:
        return x

    async def open_gate() -> None:  # can only run while the backend call waits elsewhere
        backend.gate.set()

    assert await asyncio.gather(fetch(1), open_gate()) == [1, None]
    assert await fetch(1) == 1
    info = fetch.cache_info()
    assert (info.hits, info.misses, info.backend_errors) == (1, 1, 0)


def test_custom_backend_protocol(cache_logs: pytest.LogCaptureFixture) -> None:
    backend = DictBackend()
    f, g = counted(backend), counted(backend)
    f(1), f(1), g(1)
    assert f.calls == [1]
    assert len([r for r in cache_logs.records if "unsigned" in r.message]) == 1
    f.cache_clear()
    assert backend.data == {}


def test_failing_backend_never_fails_the_call(cache_logs: pytest.LogCaptureFixture) -> None:
    f = counted(BrokenBackend())
    assert f(1)["x"] == f(1)["x"] == 1
    assert f.cache_invalidate(1) is False
    assert len(f.calls) == 2
    info = f.cache_info()
    # The first get fails; then the cool-down skips the store until cache_invalidate, which
    # is tried anyway.
    assert (info.backend_errors, info.backend_skips) == (2, 1)  # get, delete; one lookup
    assert len([r for r in cache_logs.records if "failed to" in r.message]) == 1
    f.cache_clear()


def test_unpicklable_result_is_returned_uncached() -> None:
    @cache_result(backend=DictBackend())
    def make(x: int) -> Any:
        return lambda: x

    assert make(1)() == 1
    assert make.cache_info().backend_errors == 1


def test_identity_keyed_argument_with_shared_backend() -> None:
    f = counted(DictBackend())
    with pytest.raises(TypeError, match="identity"):
        f(object())


# -- Redis -------------------------------------------------------------------------------


def test_redis_hit_ttl_and_prefix(redis_url: str, redis_client: Any) -> None:
    backend = RedisBackend(redis_url, secret=SECRET, prefix="test:")
    f = counted(backend, ttl=30)
    f(3)
    value = f(3)
    assert f.calls == [3]
    np.testing.assert_array_equal(value["array"], [0, 3, 6])
    key = "test:" + f.cache_key(3)
    assert 0 < redis_client.pttl(key) <= 30_000
    forever = counted(backend, ttl=None, version=1)
    forever(1)
    assert redis_client.pttl("test:" + forever.cache_key(1)) == -1
    assert "RedisBackend" in repr(backend)


def test_redis_clear_deletes_only_this_function(redis_url: str, redis_client: Any) -> None:
    backend = RedisBackend(client=redis_client, secret=SECRET)
    f, g = counted(backend), counted(backend, version="v[2]*")
    for i in range(600):
        f(i)
    g(1)
    redis_client.set("unrelated", b"1")
    f.cache_clear()
    assert redis_client.get("unrelated") == b"1"
    assert redis_client.dbsize() == 2
    g(1)
    assert g.calls == [1]
    assert g.cache_invalidate(1) is True
    assert g.cache_invalidate(1) is False


def test_redis_tampered_entry(
    redis_url: str, redis_client: Any, tmp_path: Path, cache_logs: pytest.LogCaptureFixture
) -> None:
    f = counted(RedisBackend(redis_url, secret=SECRET))
    f(1)
    key = "mlops-decorators:" + f.cache_key(1)
    marker = tmp_path / "pwned"
    redis_client.set(key, evil_record(marker))
    assert f(1)["x"] == 1
    assert not marker.exists()
    assert f.calls == [1, 1]
    assert any("rejected" in r.message for r in cache_logs.records)


def test_redis_down_never_fails_the_call(cache_logs: pytest.LogCaptureFixture) -> None:
    f = counted(RedisBackend(f"redis://127.0.0.1:{free_port()}/0", secret=SECRET, timeout=0.2))
    assert f(1)["x"] == f(1)["x"] == 1
    assert f.calls == [1, 1]
    info = f.cache_info()
    assert (info.backend_errors, info.backend_skips) == (1, 1)  # one timeout, then skipped
    assert len([r for r in cache_logs.records if "failed to" in r.message]) == 1


def test_redis_password_stays_out_of_repr_and_logs(
    cache_logs: pytest.LogCaptureFixture,
) -> None:
    url = "redis://default:hunter2@127.0.0.1:1/0"  # no I/O: the client connects lazily
    backend = RedisBackend(url)  # unsigned: its repr is logged in a warning
    assert (
        repr(backend)
        == "RedisBackend('redis://default:***@127.0.0.1:1/0', prefix='mlops-decorators:')"
    )
    assert "hunter2" not in cache_logs.text
    assert "unsigned" in cache_logs.text
    assert "hunter2" not in repr(RedisBackend("redis://:hunter2@localhost/0", secret=SECRET))
    assert repr(RedisBackend("redis://localhost/0", secret=SECRET)) == (
        "RedisBackend('redis://localhost/0', prefix='mlops-decorators:')"
    )


def test_redis_arguments() -> None:
    import redis

    client = redis.Redis()  # connects on first command only
    with pytest.raises(ValueError, match="not both"):
        RedisBackend("redis://x", client=client)
    with pytest.raises(TypeError, match="prefix"):
        RedisBackend(client=client, prefix=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^client must be a redis\.Redis client or None"):
        RedisBackend(client=object())
    backend = RedisBackend(secret=SECRET, timeout=timedelta(milliseconds=250))
    connection = backend.client.connection_pool.connection_kwargs
    assert connection["socket_timeout"] == connection["socket_connect_timeout"] == 0.25


# -- two real processes ------------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from mlops_decorators.caching import RedisBackend, SQLiteBackend, cache_result

    kind, where = sys.argv[1], sys.argv[2]
    backend = (SQLiteBackend if kind == "sqlite" else RedisBackend)(where, secret="s")
    computed = []

    @cache_result(ttl=60, backend=backend)
    def embed(n, tags, options):
        computed.append(n)
        return np.arange(n, dtype=np.float32)

    # A set and a dict of str: their iteration order changes with the hash seed.
    result = embed(4, {"alpha", "beta", "gamma", "delta"}, {"x": [1.5], "y": "z", "w": None})
    print(len(computed), float(result.sum()), result.flags.writeable)
    """
)


def run_process(tmp_path: Path, kind: str, where: str, hash_seed: int) -> str:
    script = tmp_path / "worker.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), kind, where],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
    )
    return done.stdout.strip()


def test_sqlite_shared_by_two_processes(tmp_path: Path) -> None:
    where = str(tmp_path / "shared.db")
    assert run_process(tmp_path, "sqlite", where, hash_seed=1) == "1 6.0 False"
    assert run_process(tmp_path, "sqlite", where, hash_seed=2) == "0 6.0 False"


def test_redis_shared_by_two_processes(tmp_path: Path, redis_url: str, redis_client: Any) -> None:
    assert run_process(tmp_path, "redis", redis_url, hash_seed=1) == "1 6.0 False"
    assert run_process(tmp_path, "redis", redis_url, hash_seed=2) == "0 6.0 False"


def test_signed_records_warn_nothing(tmp_path: Path, cache_logs: pytest.LogCaptureFixture) -> None:
    cache_logs.set_level(logging.DEBUG, logger="mlops_decorators.caching")
    counted(SQLiteBackend(tmp_path / "c.db", secret=SECRET))(1)
    assert cache_logs.records == []


def test_backend_without_weakref_gets_a_codec_per_function(
    cache_logs: pytest.LogCaptureFixture,
) -> None:
    class Slotted:  # no __weakref__: codecs cannot be remembered per backend
        __slots__ = ("data",)
        __init__ = DictBackend.__init__
        get, set, delete, clear = (
            DictBackend.get,
            DictBackend.set,
            DictBackend.delete,
            DictBackend.clear,
        )

    f = counted(Slotted())
    f(1)
    f(1)
    assert f.calls == [1]
    assert len([r for r in cache_logs.records if "unsigned" in r.message]) == 1
