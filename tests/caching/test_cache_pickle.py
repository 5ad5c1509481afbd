"""Backends survive pickling where a copy means something: options and secret travel, the copy
opens its own connections on load; a Redis backend given its client refuses, saying why."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_decorators.caching import MemoryBackend, RedisBackend, SQLiteBackend, cache_result

SECRET = "pickle-secret"


def roundtrip(obj: object) -> Any:
    return pickle.loads(pickle.dumps(obj))


def test_memory_backend_pickles_with_its_clock() -> None:
    loaded = roundtrip(MemoryBackend(clock=time.monotonic))
    assert isinstance(loaded, MemoryBackend)
    assert loaded.clock is time.monotonic

    @cache_result(backend=loaded)
    def double(x: int) -> int:
        return 2 * x

    assert double(2) == double(2) == 4
    assert double.cache_info().hits == 1


def test_sqlite_backend_in_use_pickles_and_reconnects(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "cache.db", secret=SECRET, table="shared")
    backend.set("app.f:1", backend.codec.dumps("app.f:1", {"rows": 3}), ttl=None)  # connected

    loaded = roundtrip(backend)
    assert repr(loaded) == repr(backend)
    record = loaded.get("app.f:1")
    assert record is not None
    assert loaded.codec.loads("app.f:1", record, copy=False) == {"rows": 3}  # same secret
    assert loaded._connection() is not backend._connection()
    loaded.set("app.f:2", b"from the copy", ttl=60)
    assert backend.get("app.f:2") == b"from the copy"  # one file, two sets of connections
    loaded.close()
    backend.close()


def test_sqlite_backend_loaded_in_another_process_reads_the_same_file(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "cache.db", secret=SECRET)
    backend.set("app.f:1", b"written by the parent", ttl=None)
    blob = tmp_path / "backend.pickle"
    blob.write_bytes(pickle.dumps(backend))
    code = (
        "import pickle, sys; "
        f"backend = pickle.loads(open({str(blob)!r}, 'rb').read()); "
        "sys.stdout.write(backend.get('app.f:1').decode())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "written by the parent"
    backend.close()


def test_redis_backend_given_a_client_refuses_to_pickle_saying_why() -> None:
    import redis

    backend = RedisBackend(client=redis.Redis(), secret=SECRET)
    with pytest.raises(TypeError, match=r"^cannot pickle RedisBackend\('Redis'.*given its client"):
        pickle.dumps(backend)


def test_redis_backend_from_a_url_pickles_without_connecting() -> None:
    backend = RedisBackend("redis://user:pw@127.0.0.1:1/3", secret=SECRET, timeout=0.5)
    loaded = roundtrip(backend)
    assert repr(loaded) == repr(backend)
    assert "pw" not in repr(loaded)
    assert loaded.client is not backend.client
    kwargs = loaded.client.connection_pool.connection_kwargs
    assert (kwargs["password"], kwargs["db"], kwargs["socket_timeout"]) == ("pw", 3, 0.5)


@pytest.mark.redis
def test_redis_backend_from_a_url_reconnects_on_load(redis_url: str) -> None:
    backend = RedisBackend(redis_url, secret=SECRET, prefix="pickle-test:")
    backend.set("app.f:1", b"before pickling", ttl=60)
    loaded = roundtrip(backend)
    assert loaded.get("app.f:1") == b"before pickling"
    loaded.set("app.f:2", b"after", ttl=60)
    assert backend.get("app.f:2") == b"after"
    backend.clear("app.f")
