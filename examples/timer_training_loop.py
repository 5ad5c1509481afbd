"""A fake training loop timed with `timer`: decorated epochs, a timed block, an async step.

Run it with ``python examples/timer_training_loop.py``. Durations are logged through
`logging` (one record per call, ``"train_epoch took 12.3 ms"``); at the end the per-name
statistics are printed as a table with `timer_report`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time

from mlops_decorators import get_timer_stats, timer, timer_report


@timer
def train_epoch(epoch: int, batches: int) -> float:
    """One epoch over a few tiny batches; returns the epoch's loss."""
    loss = 0.0
    for batch in range(batches):
        time.sleep(0.002)  # stands in for a forward and backward pass
        loss += 1.0 / (1 + epoch + batch)
    return loss / batches


@timer(threshold=0.005)  # only slow checkpoint saves are logged; all are counted
async def save_checkpoint(epoch: int) -> str:
    await asyncio.sleep(0.001 if epoch % 2 else 0.008)  # an async upload
    return f"checkpoints/epoch-{epoch}.pt"


def evaluate(batches: int) -> float:
    with timer("evaluate"):
        time.sleep(0.001 * batches)
        return random.uniform(0.8, 0.9)


async def main() -> None:
    for epoch in range(5):
        loss = train_epoch(epoch, batches=4)
        accuracy = evaluate(batches=3)
        path = await save_checkpoint(epoch)
        print(f"epoch {epoch}: loss={loss:.3f} accuracy={accuracy:.3f} saved {path}")

    stats = train_epoch.timer_stats()
    print(f"\ntrain_epoch: {stats.count} calls, mean {stats.mean_s * 1e3:.1f} ms")
    print(f"save_checkpoint calls counted: {get_timer_stats()['save_checkpoint'].count}")
    print("\n" + timer_report())


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stdout
    )
    asyncio.run(main())
