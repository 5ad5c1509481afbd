"""The memory cache against a naive reference model, and hits racing evictions, with plain
keys and with keys whose hashes collide (which the store files apart)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import FakeClock
from mlops_decorators.caching import MemoryBackend, cache_result

TTL = 10.0
MAXSIZE = 3

operations = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.integers(0, 5)),
        st.tuples(st.just("tick"), st.sampled_from([0.5, 3.0, 9.999, 10.0])),
    ),
    max_size=60,
)


class Colliding:
    """A key equal by value whose hash three values share: -1 and -2 hash alike in CPython,
    and so do the tuples holding them; this makes it happen everywhere."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        return self.value // 3

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Colliding) and other.value == self.value


KEYS = pytest.mark.parametrize("make_key", [int, Colliding], ids=["plain", "colliding"])


class Reference:
    """LRU with a TTL, written as plainly as possible."""

    def __init__(self) -> None:
        self.entries: OrderedDict[int, float] = OrderedDict()  # key -> deadline, LRU first
        self.now = 0.0
        self.computed: list[int] = []
        self.expirations = 0
        self.evictions = 0

    def call(self, key: int) -> None:
        deadline = self.entries.get(key)
        if deadline is not None and deadline > self.now:
            self.entries.move_to_end(key)
            return
        if deadline is not None:
            del self.entries[key]
            self.expirations += 1
        self.computed.append(key)
        self.entries[key] = self.now + TTL
        for other, other_deadline in list(self.entries.items()):
            if other_deadline <= self.now:
                del self.entries[other]
                self.expirations += 1
        while len(self.entries) > MAXSIZE:
            self.entries.popitem(last=False)
            self.evictions += 1


@KEYS
@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_memory_cache_matches_reference(ops: list[tuple[str, float]], make_key: Any) -> None:
    clock = FakeClock(0.0)
    computed: list[int] = []

    @cache_result(ttl=TTL, maxsize=MAXSIZE, backend=MemoryBackend(clock=clock))
    def f(key: Any) -> int:
        value: int = getattr(key, "value", key)
        computed.append(value)
        return value

    reference = Reference()
    for op, arg in ops:
        if op == "tick":
            clock.advance(arg)
            reference.now += arg
        else:
            assert f(make_key(int(arg))) == arg
            reference.call(int(arg))
    info = f.cache_info()
    assert computed == reference.computed
    assert (info.expirations, info.evictions) == (reference.expirations, reference.evictions)
    # Live entries: expired ones still held until the next write do not count.
    assert info.currsize == sum(deadline > reference.now for deadline in reference.entries.values())
    assert info.hits + info.misses == sum(op == "call" for op, _ in ops)


@KEYS
def test_hits_racing_evictions_stay_correct(make_key: Any) -> None:
    @cache_result(maxsize=4)
    def square(x: Any) -> int:
        value: int = getattr(x, "value", x)
        return value * value

    errors: list[BaseException] = []

    def hammer(offset: int) -> None:
        try:
            for i in range(3000):
                x = (i + offset) % 9
                assert square(make_key(x)) == x * x
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    info = square.cache_info()
    assert info.currsize <= 4
    assert info.hits + info.misses + info.single_flight_waits == 12_000
