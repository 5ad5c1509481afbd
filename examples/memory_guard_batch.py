"""A batch scorer that refuses a batch too big for the memory it has, and scores it in chunks
instead.

Run it with ``python examples/memory_guard_batch.py``; it takes well under a second and
allocates nothing big: the batches are sized from the memory this machine (or container)
really has, and only the estimates are large.

1. What the guard sees here: the host, or the container's cgroup limit when that is tighter.
2. An oversized batch is refused before it starts, with the numbers behind the refusal.
3. The same scorer with a fallback: a refused batch is split into chunks small enough to pass,
   each going through the guard again.
"""

from __future__ import annotations

import logging

from mlops_decorators import MemoryGuardError, memory_guard, memory_guard_stats

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

# Working memory one row needs while it is scored (features, activations, outputs); set
# below from the memory available here, so the example refuses on any machine.
bytes_per_row = 1024


def needed(rows: range) -> int:
    return len(rows) * bytes_per_row


def mean(rows: range) -> float:
    return sum(rows) / max(len(rows), 1)


@memory_guard(max_percent=90, estimate=needed)
def score(rows: range) -> float:
    return mean(rows)


# 1. What does the guard see on this machine?
score(range(10))
reading = memory_guard_stats(score).last_reading
assert reading is not None
print(f"the guard reads {reading}; limit from {reading.where or 'the host'}")

# A batch that would need 1.5 times the memory available here.
batch = range(1_000_000)
bytes_per_row = int(1.5 * reading.available) // len(batch)

# 2. Refused before it starts, with a message a person can act on.
try:
    score(batch)
except MemoryGuardError as exc:
    print(f"oversized batch: {exc}")


# 3. A fallback that processes smaller chunks: each needs a twentieth of the batch's memory,
#    so each passes the guard of `score` (which would refuse it, too, if memory ran short).
def in_chunks(rows: range) -> float:
    size = max(len(rows) // 20, 1)
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    means = [score(chunk) for chunk in chunks]
    print(f"fallback: scored {len(rows):,} rows in {len(chunks)} chunks of {size:,}")
    return sum(m * len(chunk) for m, chunk in zip(means, chunks, strict=True)) / len(rows)


@memory_guard(max_percent=90, estimate=needed, fallback=in_chunks)
def score_or_chunk(rows: range) -> float:
    return mean(rows)


print(f"mean score: {score_or_chunk(batch):,.1f}")
stats = memory_guard_stats(score_or_chunk)
print(f"score_or_chunk: {stats.calls} call, {stats.refused} refused, {stats.fallbacks} fallback")
