"""Cache an expensive numpy computation (text embeddings) with a TTL.

Run: python examples/cache_embeddings.py   (needs numpy; a few seconds)

Shows: hits and misses, array arguments keyed by content, read-only cached arrays,
single-flight under 8 concurrent threads, expiry, and a persistent SQLite cache.
"""

from __future__ import annotations

import tempfile
import threading
import time
import zlib
from pathlib import Path

import numpy as np

from mlops_decorators.caching import SQLiteBackend, cache_result

DIM = 256
PROJECTION = np.random.default_rng(0).standard_normal((4096, DIM)).astype(np.float32)


@cache_result(ttl=1.0, maxsize=10_000)
def embed(text: str) -> np.ndarray:
    """A deliberately slow 'model': hashed character trigrams through a random projection."""
    counts = np.zeros(4096, dtype=np.float32)
    for i in range(len(text) - 2):
        counts[zlib.crc32(text[i : i + 3].encode()) % 4096] += 1
    time.sleep(0.05)  # stands in for a real model's latency
    vector = counts @ PROJECTION
    return vector / (np.linalg.norm(vector) or 1.0)


@cache_result(ttl=60)
def nearest(query: np.ndarray, corpus: np.ndarray) -> int:
    """Keyed by the arrays' dtype, shape and content, not by object identity."""
    return int(np.argmax(corpus @ query))


def main() -> None:
    texts = ["feature store", "model registry", "feature store", "drift monitor"]
    start = time.perf_counter()
    vectors = [embed(t) for t in texts]
    print(f"4 embeddings in {time.perf_counter() - start:.2f} s: {embed.cache_info()}")

    try:
        vectors[0][0] = 1.0
    except ValueError as exc:
        print(f"cached arrays are read-only: {exc}")

    # Eight threads asking for the same new text: the model runs once.
    misses_before = embed.cache_info().misses
    threads = [threading.Thread(target=embed, args=("batch inference",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    info = embed.cache_info()
    print(
        f"8 concurrent calls: model ran {info.misses - misses_before} time(s), "
        f"{info.single_flight_waits} calls waited for it"
    )

    corpus = np.stack(vectors)
    query = embed("feature stores")
    best = nearest(query, corpus)
    nearest(query.copy(), corpus)  # another array object, equal content: a hit
    print(f"nearest to 'feature stores': {texts[best]!r}; {nearest.cache_info()}")

    time.sleep(1.1)  # past the TTL: recomputed
    embed("feature store")
    info = embed.cache_info()
    print(f"after the TTL: misses={info.misses} expirations={info.expirations}")

    with tempfile.TemporaryDirectory() as folder:
        backend = SQLiteBackend(Path(folder) / "embeddings.db", secret="example-secret")
        persistent = cache_result(ttl=3600, backend=backend)(embed.__wrapped__)
        persistent("model registry")
        persistent("model registry")
        print(f"SQLite backend: {persistent.cache_info()}")
        backend.close()


if __name__ == "__main__":
    main()
