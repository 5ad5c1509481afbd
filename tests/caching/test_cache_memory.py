"""cache_result with the memory backend: expiry, eviction, keys, introspection, methods."""

from __future__ import annotations

import builtins
import collections
import functools
import gc
import inspect
import os
import pickle
import sys
import traceback
import weakref
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest

from fakes import FakeClock
from mlops_decorators.caching import (
    CacheInfo,
    MemoryBackend,
    cache_info,
    cache_invalidate,
    cache_result,
    reset_cache_settings,
    set_caching,
)


def counted(clock: FakeClock | None = None, **options: Any) -> Any:
    """A cached ``f(a, b=2)`` that records each real call in ``f.calls``."""
    calls: list[tuple[Any, ...]] = []
    if clock is not None:
        options["backend"] = MemoryBackend(clock=clock)

    @cache_result(**options)
    def f(a: Any, b: Any = 2) -> Any:
        calls.append((a, b))
        return (a, b)

    f.calls = calls  # type: ignore[attr-defined]
    return f


# -- expiry ------------------------------------------------------------------------------


def test_entry_is_served_until_ttl_and_never_after(clock: FakeClock) -> None:
    f = counted(clock, ttl=10)
    f(1)
    clock.advance(9.999)
    f(1)
    assert len(f.calls) == 1
    clock.advance(0.001)  # exactly ttl after storing: expired
    f(1)
    assert len(f.calls) == 2
    assert f.cache_info().expirations == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f(1),  # inlined, positional
        lambda f: f(a=1),  # inlined, keywords in signature order
        lambda f: f(b=2, a=1),  # bound by the slow path
        lambda f: f([1]),  # keyed by content
    ],
    ids=["positional", "keyword", "keywords-reordered", "unhashable"],
)
def test_no_call_style_serves_an_expired_entry(clock: FakeClock, call: Any) -> None:
    f = counted(clock, ttl=10)
    call(f)
    clock.advance(9.5)
    call(f)
    assert len(f.calls) == 1
    clock.advance(0.5)
    call(f)
    assert len(f.calls) == 2


def test_methods_never_serve_an_expired_entry(clock: FakeClock) -> None:
    calls = []

    class Model:
        @cache_result(ttl=10, backend=MemoryBackend(clock=clock))
        def predict(self, x: int) -> int:
            calls.append(x)
            return x

    model = Model()
    model.predict(1)
    clock.advance(9.5)
    model.predict(x=1)
    clock.advance(0.5)
    model.predict(1)
    assert calls == [1, 1]


# -- eviction ----------------------------------------------------------------------------


def test_lru_order_evicts_least_recently_used(clock: FakeClock) -> None:
    f = counted(clock, maxsize=2)
    f(1)
    f(2)
    f(1)  # 1 is now the most recently used
    f(3)  # evicts 2
    assert f.cache_info().evictions == 1
    f(1)
    assert len(f.calls) == 3
    f(2)
    assert len(f.calls) == 4
    assert f.cache_info().currsize == 2


def test_lru_touch_through_keyword_call(clock: FakeClock) -> None:
    f = counted(clock, maxsize=2)
    f(1)
    f(2)
    f(a=1)  # a keyword hit (inlined path) refreshes recency
    f(3)  # evicts 2
    f(b=2, a=1)  # so does one the slow path answers (keywords out of order)
    f(2)  # evicts 3
    f(1)
    assert f.calls == [(1, 2), (2, 2), (3, 2), (2, 2)]


def test_expired_entries_go_before_live_ones(clock: FakeClock) -> None:
    f = counted(clock, ttl=10, maxsize=2)
    f(1)
    clock.advance(5)
    f(2)
    f(1)  # 1 recently used, but it expires first
    clock.advance(6)  # 1 expired, 2 live
    f(3)
    info = f.cache_info()
    assert (info.expirations, info.evictions, info.currsize) == (1, 0, 2)
    f(2)
    assert len(f.calls) == 3


def test_max_bytes_weighs_by_nbytes(clock: FakeClock) -> None:
    class Blob:
        def __init__(self, n: int) -> None:
            self.nbytes = n

    @cache_result(max_bytes=100, maxsize=None, backend=MemoryBackend(clock=clock))
    def make(n: int) -> Blob:
        return Blob(n)

    make(40)
    make(50)
    assert make.cache_info().currsize == 2
    make(30)  # 120 bytes: the least recently used (40) goes
    info = make.cache_info()
    assert (info.currsize, info.evictions) == (2, 1)
    make(200)  # larger than the limit: returned, not cached, nothing evicted
    assert make.cache_info().currsize == 2


def test_max_bytes_falls_back_to_getsizeof() -> None:
    # str's header size differs between Python versions: the limit is read, not hard-coded
    both = sys.getsizeof("x" * 100) + sys.getsizeof("x" * 10)

    @cache_result(max_bytes=both - 1)
    def text(n: int) -> str:
        return "x" * n

    text(100)
    text(10)  # together one byte over the limit: the older entry goes
    info = text.cache_info()
    assert (info.currsize, info.evictions) == (1, 1)
    text(10)
    assert text.cache_info().hits == 1  # the newer one stayed


def test_unbounded_maxsize() -> None:
    f = counted(maxsize=None)
    for i in range(3000):
        f(i)
    assert f.cache_info().currsize == 3000
    assert f.cache_info().maxsize is None


# -- keys --------------------------------------------------------------------------------


def test_calls_normalised_against_signature() -> None:
    f = counted()
    assert f(1) == f(1, 2) == f(1, b=2) == f(b=2, a=1) == f(a=1) == (1, 2)
    assert f.calls == [(1, 2)]
    assert f.cache_info().hits == 4
    f(1, 3)
    assert len(f.calls) == 2
    # Unhashable keyword values leave the keyword shortcut for content keys.
    assert f(1, b=[3]) == f(1, b=[3]) == f(a=1, b=[3]) == (1, [3])
    assert len(f.calls) == 3


def test_keys_include_function_identity_and_version() -> None:
    backend = MemoryBackend()

    @cache_result(backend=backend)
    def one(x: int) -> str:
        return "one"

    @cache_result(backend=backend, version=2)
    def two(x: int) -> str:
        return "two"

    assert (one(1), two(1)) == ("one", "two")
    assert one.cache_key(1)[0].endswith("one")
    assert two.cache_key(1)[0].endswith("two@2")


def test_typed_keys_apart() -> None:
    untyped = counted()
    untyped(1)
    untyped(1.0)
    assert len(untyped.calls) == 1
    typed = counted(typed=True)
    typed(1)
    typed(1.0)
    typed(True)
    typed(1)
    assert len(typed.calls) == 3
    # The argument's own type, also for tuples and dicts (not the types of their items).
    point = collections.namedtuple("point", "x y")
    typed((1, 2))
    typed(point(1, 2))
    typed(collections.OrderedDict(a=1))
    typed({"a": 1})
    assert len(typed.calls) == 7
    untyped((1, 2))
    untyped(point(1, 2))
    assert len(untyped.calls) == 2


def test_ignore_leaves_arguments_out() -> None:
    calls = []

    @cache_result(ignore=("client",))
    def fetch(item: int, client: object = None) -> int:
        calls.append(item)
        return item

    fetch(1, client=object())
    fetch(1, object())
    assert calls == [1]


def test_custom_key_function() -> None:
    calls = []

    @cache_result(key=lambda user, request_id: user["id"])
    def profile(user: dict[str, int], request_id: str) -> int:
        calls.append(user)
        return user["id"]

    profile({"id": 1, "v": 1}, "a")
    profile({"id": 1, "v": 2}, "b")
    assert len(calls) == 1
    with pytest.raises(TypeError, match="key="):
        cache_result(key=lambda *a: [type("U", (), {"__hash__": None})()])(lambda x: x)(1)


def test_varargs_and_kwargs_keys() -> None:
    calls = []

    @cache_result
    def f(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        return len(args) + len(kwargs)

    f(1, 2, x=1, y=[1])
    f(1, 2, y=[1], x=1)
    f(1, 2, x=1)
    assert len(calls) == 2


def test_unhashable_content_keys() -> None:
    @dataclass
    class Cfg:
        lr: float
        layers: list[int]

    f = counted()
    f([1, 2], {"a": [1], "b": {2, 3}})
    f([1, 2], b={3, 2})
    assert len(f.calls) == 2  # b default differs from the first call's dict
    f([1, 2], {"b": {3, 2}, "a": [1]})
    assert len(f.calls) == 2
    f(Cfg(0.1, [1]))
    f(Cfg(0.1, [1]))
    f(Cfg(0.1, [2]))
    assert len(f.calls) == 4


def test_unkeyable_argument_raises_naming_it() -> None:
    class Opaque:
        __hash__ = None  # type: ignore[assignment]

    f = counted()
    with pytest.raises(TypeError, match=r"argument 'b'.*key=.*ignore=\('b',\)"):
        f(1, Opaque())
    assert f.calls == []


# -- cached values -----------------------------------------------------------------------


# -- introspection -----------------------------------------------------------------------


def test_introspection() -> None:
    f = counted()
    f(1)
    f(1)
    f(2)
    info = f.cache_info()
    assert isinstance(info, CacheInfo)
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (1, 2, 2, 1024)
    assert info.name == "counted.<locals>.f"
    assert f.cache_result_stats() == info
    with pytest.raises(AttributeError):
        info.hits = 3  # type: ignore[misc]
    assert f.cache_key(1) == f.cache_key(a=1, b=2)
    assert f.cache_invalidate(a=1) is True
    assert f.cache_invalidate(1) is False
    f(1)
    assert len(f.calls) == 3
    f.cache_clear()
    assert f.cache_info() == CacheInfo("counted.<locals>.f", 0, 0, 1024, 0, 0, 0, 0, 0, 0)
    f(2)
    assert len(f.calls) == 4


# -- methods -----------------------------------------------------------------------------


class Model:
    def __init__(self, scale: int) -> None:
        self.scale = scale
        self.calls = 0

    @cache_result
    def predict(self, x: int) -> int:
        """x, scaled."""
        self.calls += 1
        return x * self.scale

    @cache_result
    async def apredict(self, x: int) -> int:
        self.calls += 1
        return x * self.scale

    @staticmethod
    @cache_result
    def static(x: int) -> int:
        return -x

    @classmethod
    @cache_result
    def build(cls, x: int) -> int:
        return x + 100


def test_one_cache_per_instance() -> None:
    a, b = Model(2), Model(3)
    assert (a.predict(1), a.predict(1), b.predict(1), b.predict(x=1)) == (2, 2, 3, 3)
    assert (a.calls, b.calls) == (1, 1)
    assert Model.predict.cache_info().currsize == 2
    assert Model.predict.cache_info().name == "Model.predict"
    assert Model.predict.cache_invalidate(a, 1) is True
    a.predict(1)
    assert a.calls == 2
    assert Model.static(1) == -1
    assert Model.build(1) == 101


async def test_async_method_per_instance() -> None:
    a = Model(2)
    assert await a.apredict(2) == await a.apredict(2) == 4
    assert a.calls == 1


def test_instances_are_not_kept_alive() -> None:
    model = Model(2)
    model.predict(1)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
    assert Model.predict.cache_info().currsize == 0


def test_self_passed_by_keyword() -> None:
    model = Model(5)
    assert Model.predict(self=model, x=1) == model.predict(1) == 5
    assert model.calls == 1
    with pytest.raises(TypeError, match="self"):
        Model.predict(x=1)


def test_accessors_of_a_bound_method_name_its_instance() -> None:
    a, b = Model(2), Model(3)
    a.predict(1), b.predict(1)
    assert a.predict.cache_key(1) == Model.predict.cache_key(a, 1) == b.predict.cache_key(x=1)
    assert a.predict.cache_invalidate(1) is True
    assert a.predict.cache_invalidate(x=1) is False
    assert b.predict.cache_invalidate(1) is True  # b's own entry
    assert cache_invalidate(a.predict, 1) is False  # the typed accessor agrees
    a.predict(1)
    assert cache_invalidate(a.predict, 1) is True
    assert a.predict.cache_info() == Model.predict.cache_info() == cache_info(a.predict)
    with pytest.raises(TypeError, match=r"3 is no Model: name the instance"):
        Model.predict.cache_invalidate(3)  # 3 would be keyed by value, as an instance


async def test_a_bound_method_still_looks_and_behaves_like_one() -> None:
    a = Model(2)
    bound = a.predict
    assert (bound.__self__, bound.__func__) == (a, Model.predict)
    assert (bound.__name__, bound.__qualname__) == ("predict", "Model.predict")
    assert str(inspect.signature(bound)) == "(x: 'int') -> 'int'"
    assert bound == a.predict
    assert hash(bound) == hash(a.predict)
    assert bound != Model(2).predict
    assert repr(bound).startswith("<bound method Model.predict of <")
    assert bound.__doc__ == Model.predict.__doc__
    assert inspect.iscoroutinefunction(a.apredict)
    assert await a.apredict(3) == 6
    assert a.apredict.cache_invalidate(3) is True
    assert weakref.WeakMethod(bound)() == bound
    assert pickle.loads(pickle.dumps(Pickled(4).triple))(2) == 24


class Pickled:
    def __init__(self, n: int) -> None:
        self.n = n

    @cache_result
    def triple(self, x: int) -> int:
        return 3 * self.n * x


def test_instances_without_weak_references_are_keyed_by_value() -> None:
    """Hashable instances that cannot be weakly referenced (namedtuples, int subclasses,
    frozen slotted dataclasses, objects with empty __slots__) share one store, keyed by class
    and value as functools.lru_cache keys them; an unhashable one gets a message that never
    suggests ignore=("self",), which would hand one instance another's result."""
    calls: list[object] = []

    class P(int):
        @cache_result
        def double(self) -> int:
            calls.append(self)
            return 2 * self

    class Q(P):
        pass

    class Point(NamedTuple):
        x: int
        y: int

        @cache_result
        def norm1(self) -> int:
            calls.append(self)
            return abs(self.x) + abs(self.y)

    @dataclass(frozen=True, slots=True)
    class Frozen:
        a: int

        @cache_result
        def twice(self) -> int:
            calls.append(self)
            return 2 * self.a

    class Slotted:
        __slots__ = ()

        @cache_result
        def f(self) -> int:
            calls.append(self)
            return id(self)

    assert (P(5).double(), P(1).double(), P(5).double()) == (10, 2, 10)
    assert Q(5).double() == 10
    assert calls.count(5) == 2  # Q(5) == P(5), but of another class: computed again
    assert (Point(1, -2).norm1(), Point(3, 4).norm1(), Point(1, -2).norm1()) == (3, 7, 3)
    assert (Frozen(2).twice(), Frozen(3).twice(), Frozen(2).twice()) == (4, 6, 4)
    one, two = Slotted(), Slotted()
    assert (one.f(), two.f(), one.f()) == (id(one), id(two), id(one))
    assert len(calls) == 9
    assert P(5).double.cache_invalidate() is True
    assert P.double.cache_info().currsize == 2  # P(1) and Q(5)

    @dataclass(slots=True)
    class Mutable:  # neither hashable nor weakly referenceable
        a: int

        @cache_result
        def twice(self) -> int:
            return 2 * self.a

    with pytest.raises(TypeError, match="weakref_slot=True") as info:
        Mutable(1).twice()
    assert "ignore" not in str(info.value)


def test_a_class_receiver_stays_in_the_key() -> None:
    calls = []

    class Base:
        @cache_result
        @classmethod
        def build(klass, x: int) -> str:  # noqa: N804 -- any name: it is the receiver
            calls.append((klass.__name__, x))
            return f"{klass.__name__}{x}"

    class Child(Base):
        pass

    assert (Base.build(1), Child.build(1), Base.build(1), Child.build(1)) == (
        "Base1",
        "Child1",
        "Base1",
        "Child1",
    )
    assert calls == [("Base", 1), ("Child", 1)]
    assert Base.build.cache_info().currsize == 2  # one store, keyed by class


def test_a_function_outside_a_class_body_has_no_receiver() -> None:
    @cache_result
    def scaled(self: int, x: int) -> int:  # not a method: `self` is an ordinary argument
        return self * x

    assert scaled(2, 3) == scaled(2, 3) == 6  # ints cannot be weakly referenced: keyed
    assert scaled.cache_info().hits == 1


def test_ignore_self_shares_one_cache() -> None:
    calls = []

    class Service:
        @cache_result(ignore=("self",))
        def lookup(self, x: int) -> int:
            calls.append(x)
            return x

    Service().lookup(1)
    Service().lookup(1)
    assert calls == [1]


# -- async -------------------------------------------------------------------------------


async def test_async_function_hits(clock: FakeClock) -> None:
    calls = []

    @cache_result(ttl=5, backend=MemoryBackend(clock=clock))
    async def fetch(x: Any) -> Any:
        calls.append(x)
        return x

    assert await fetch(1) == await fetch(1) == 1
    assert await fetch([1]) == await fetch(x=[1]) == [1]
    clock.advance(5)
    await fetch(1)
    assert len(calls) == 3
    with pytest.raises(TypeError, match="argument 'x'"):
        await fetch(object.__new__(type("U", (), {"__hash__": None})))


async def test_async_keyword_calls_in_any_order_share_one_entry(clock: FakeClock) -> None:
    calls = []

    @cache_result(ttl=5, backend=MemoryBackend(clock=clock))
    async def fetch(a: int, b: int = 2) -> int:
        calls.append((a, b))
        return a + b

    # In signature order (the inlined path), out of order (bound first), defaults applied.
    assert await fetch(1, b=2) == await fetch(b=2, a=1) == await fetch(a=1) == await fetch(1) == 3
    assert calls == [(1, 2)]
    assert fetch.cache_info().hits == 3


# -- bad arguments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"ttl": 0}, ValueError, "ttl"),
        ({"ttl": -1}, ValueError, "ttl"),
        ({"ttl": "1"}, TypeError, "ttl"),
        ({"maxsize": 0}, ValueError, "maxsize"),
        ({"max_bytes": 0}, ValueError, "max_bytes"),
        ({"key": 1}, TypeError, "key"),
        ({"backend": {}}, TypeError, "backend"),
        ({"typed": 1}, TypeError, "typed"),
        ({"copy": None}, TypeError, "copy"),
        ({"version": 1.5}, TypeError, "version must be a str, an int or None, got float 1.5"),
        ({"ignore": 3}, TypeError, "ignore must be a parameter name or an iterable of them"),
        ({"ignore": [3]}, TypeError, r"ignore must contain parameter names \(str\), got int 3"),
    ],
)
def test_bad_options(options: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        cache_result(**options)


def test_bad_options_at_decoration() -> None:
    def f(a: int) -> int:
        return a

    with pytest.raises(ValueError, match=r"ignore.*'nope'"):
        cache_result(ignore="nope")(f)
    with pytest.raises(ValueError, match="key= or ignore="):
        cache_result(key=lambda a: a, ignore=("a",))(f)

    def gen(a: int) -> Any:
        yield a

    with pytest.raises(TypeError, match="generator"):
        cache_result(gen)
    with pytest.raises(TypeError, match="callable"):
        cache_result()(3)
    with pytest.raises(TypeError, match="signature"):
        cache_result(max)
    with pytest.raises(TypeError, match="clock"):
        MemoryBackend(clock=3)  # type: ignore[arg-type]
    assert "MemoryBackend" in repr(MemoryBackend())


def test_numpy_integers_and_floats_are_taken_wherever_numbers_are() -> None:
    np = pytest.importorskip("numpy")

    @cache_result(
        ttl=np.float64(5), maxsize=np.int64(2), max_bytes=np.int32(10_000), version=np.int64(3)
    )
    def f(x: int) -> int:
        return x

    f(1), f(1)
    info = f.cache_info()
    assert (info.hits, info.maxsize) == (1, 2)
    assert type(info.maxsize) is int
    assert f.cache_key(1)[0].endswith("f@3")
    from mlops_decorators.caching import RedisBackend, SQLiteBackend

    sqlite = SQLiteBackend(os.devnull, secret="s", timeout=np.int64(2), purge_every=np.int64(3))
    redis = RedisBackend(secret="s", timeout=np.float32(0.5))  # neither connects yet
    assert (repr(sqlite), repr(redis)) != ("", "")


# -- what cache_info reports ---------------------------------------------------------------


def test_currsize_counts_live_entries_only(clock: FakeClock) -> None:
    f = counted(clock, ttl=10)
    f(1), f(2)
    clock.advance(5)
    f(3)
    assert f.cache_info().currsize == 3
    clock.advance(5)  # 1 and 2 expired; nothing written since, so they are still held
    assert f.cache_info().currsize == 1
    assert f.cache_info().expirations == 0
    clock.advance(5)
    assert f.cache_info().currsize == 0
    f(4)  # a write purges them
    assert (f.cache_info().currsize, f.cache_info().expirations) == (1, 3)


# -- hashing ---------------------------------------------------------------------------------


class CountedHash:
    """An argument that counts the calls of its __hash__."""

    calls = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        CountedHash.calls += 1
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CountedHash) and other.value == self.value


def hashes(call: Any) -> int:
    CountedHash.calls = 0
    call()
    return CountedHash.calls


class Hashing:
    @cache_result
    def method(self, x: Any) -> Any:
        return x


class Point(NamedTuple):  # hashable, no weak references: its entries are keyed by value
    x: int

    @cache_result
    def shifted(self, by: Any) -> Any:
        return by


async def test_an_argument_is_hashed_once_per_call() -> None:
    """functools' promise: once per call, hit or miss (it was 8 times per miss, twice per
    hit), however the call is spelled and whatever the key visits: the store, the
    single-flight board, an eviction, an instance's store, an entry keyed by value."""

    @cache_result
    def f(a: Any, b: Any = 2, *, c: Any = 3) -> Any:
        return a

    @cache_result(typed=True)
    def typed(a: Any) -> Any:
        return a

    @cache_result(maxsize=1)
    def evicting(a: Any) -> Any:
        return a

    @cache_result
    async def fetch(a: Any) -> Any:
        return a

    x, y, obj = CountedHash(1), CountedHash(2), Hashing()
    spellings = [
        lambda: f(x),
        lambda: f(x, 2),
        lambda: f(a=x),
        lambda: f(x, b=2, c=3),
        lambda: f(c=3, b=2, a=x),
        lambda: f(x, b=4),
        lambda: f(b=4, a=x),
        lambda: obj.method(x),
        lambda: obj.method(x=x),
        lambda: Point(1).shifted(x),
        lambda: typed(x),
        lambda: evicting(x),
        lambda: evicting(y),  # evicts x's entry
        lambda: evicting(x),
    ]
    assert [hashes(call) for call in spellings] == [1] * len(spellings)
    assert [hashes(call) for call in spellings[:-3]] == [1] * (len(spellings) - 3)  # hits
    assert (f.cache_info().hits, f.cache_info().misses) == (12, 2)
    CountedHash.calls = 0
    assert await fetch(x) is await fetch(x)
    assert CountedHash.calls == 2


def test_an_unhashable_argument_costs_its_neighbours_one_more_hash() -> None:
    """The lookup hashes the key tuple and meets the list; the key by content then hashes
    the other arguments again (documented in docs/caching.md)."""

    @cache_result
    def f(a: Any, b: Any) -> Any:
        return a

    x = CountedHash(1)
    assert (hashes(lambda: f(x, [1])), hashes(lambda: f(x, [1]))) == (2, 2)
    assert f.cache_info().hits == 1


def test_keys_whose_hashes_collide_keep_their_own_entries() -> None:
    """The store files entries by their key's hash: -1 and -2 (and tuples of them) hash
    alike, and each keeps its entry, its hits, its invalidation and its eviction."""
    assert hash((-1,)) == hash((-2,))
    clock, calls = FakeClock(0.0), []

    @cache_result(ttl=10, maxsize=2, backend=MemoryBackend(clock=clock))
    def f(x: int) -> int:
        calls.append(x)
        return x

    assert (f(-1), f(-2), f(-1), f(-2)) == (-1, -2, -1, -2)
    assert (calls, f.cache_info().hits, f.cache_info().currsize) == ([-1, -2], 2, 2)
    assert f.cache_invalidate(-1)
    assert not f.cache_invalidate(-1)
    assert (f(-2), f(-1)) == (-2, -1)
    assert calls == [-1, -2, -1]
    f(5)  # evicts the least recently used, -2, wherever it is filed
    assert (f(-1), f(-2)) == (-1, -2)
    assert calls == [-1, -2, -1, 5, -2]
    clock.advance(11)
    assert f.cache_info().currsize == 0
    assert (f(-1), f(-2)) == (-1, -2)
    assert calls[-2:] == [-1, -2]
    assert f.cache_info().expirations == 2


def test_caching_the_builtin_len_does_not_recurse(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrapper and its key code call len() themselves: installed as builtins.len, the
    cached len must not call itself."""
    cached_len = cache_result(maxsize=2)(len)
    monkeypatch.setattr(builtins, "len", cached_len)
    results = [len("abc"), len("abc"), len([1, 2]), len(b"x"), len((1, 2, 3)), len("abc")]
    monkeypatch.undo()
    assert results == [3, 3, 2, 1, 3, 3]
    assert cached_len.cache_info().hits >= 1


# -- the wrapper binds like the function ------------------------------------------------------


def passing(g: Any) -> Any:
    """A ``functools.wraps`` decorator passing every call on unchanged (sync or async)."""
    if inspect.iscoroutinefunction(g):

        @functools.wraps(g)
        async def ainner(*args: Any, **kwargs: Any) -> Any:
            return await g(*args, **kwargs)

        return ainner

    @functools.wraps(g)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return g(*args, **kwargs)

    return inner


def test_every_spelling_of_a_call_shares_one_entry_and_passes_the_same_values() -> None:
    """The wrapper takes the function's own parameters (positional-only, keyword-only,
    defaults): each spelling is one key, and the function gets the default objects
    themselves."""
    marker, seen = object(), []

    @cache_result
    def f(a: Any, /, b: Any = 1, *, c: Any, d: Any = marker) -> Any:
        seen.append((a, b, c, d))
        return a

    assert [f(0, c=3), f(0, 1, c=3), f(0, b=1, c=3, d=marker), f(0, d=marker, c=3)] == [0] * 4
    assert seen == [(0, 1, 3, marker)]
    assert f.cache_info().hits == 3
    assert inspect.signature(f) == inspect.signature(f.__wrapped__)
    assert (f.__defaults__, f.__kwdefaults__) == ((1,), {"d": marker})


def test_a_wrong_call_fails_as_on_the_function_itself() -> None:
    @cache_result
    def f(a: int, /, b: int = 1) -> int:
        return a

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        ((1, 2, 3), {}),
        ((), {"a": 1}),
        ((1,), {"e": 2}),
    ]
    for args, kwargs in calls:
        with pytest.raises(TypeError) as undecorated:
            f.__wrapped__(*args, **kwargs)
        with pytest.raises(TypeError) as cached:
            f(*args, **kwargs)
        assert str(cached.value) == str(undecorated.value)
    assert f.cache_info().misses == 0


def test_parameters_named_like_the_wrappers_own_names_work() -> None:
    @cache_result
    def f(
        _c_key: int,
        TypeError: int = 1,  # noqa: N803
        cached: int = 2,
        make: int = 3,
        hash: int = 4,
    ) -> int:
        return _c_key + TypeError + cached + make + hash

    assert f(0) == f(0) == f(_c_key=0, hash=4) == 10
    assert f([0][0], TypeError=2) == 11
    assert (f.cache_info().hits, f.cache_info().misses) == (2, 2)


def test_under_a_decorator_that_takes_args_and_kwargs_the_defaults_hold() -> None:
    """The key comes from the innermost signature (``x, y=0``); the wrapper beneath takes
    ``(*args, **kwargs)``, whose empty defaults must not replace the cache wrapper's."""

    @cache_result
    @passing
    def f(x: int, y: int = 0) -> int:
        return x + y

    assert (f(1), f(1), f(1, y=0), f(x=1)) == (1, 1, 1, 1)
    assert (f.cache_info().hits, f.cache_info().misses) == (3, 1)


def test_under_a_decorator_the_function_gets_the_call_as_spelled() -> None:
    """The key comes from the innermost signature, but what runs is the decorator's wrapper,
    which may fill in arguments itself or look at how they were passed: it must get the
    call as the caller spelled it, not the innermost defaults passed positionally."""
    config = {"lr": 0.5}

    def configured(g: Any) -> Any:
        @functools.wraps(g)
        def inner(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("lr", config["lr"])
            return g(*args, **kwargs)

        return inner

    def own_default(g: Any) -> Any:
        @functools.wraps(g)
        def inner(x: int, y: int = 10) -> Any:
            return g(x, y)

        return inner

    @cache_result
    @configured
    def train(x: int, lr: float = 0.1) -> Any:
        return (x, lr)

    @cache_result
    @own_default
    def add(x: int, y: int = 1) -> int:
        return x + y

    assert [train(1), train(1), train(2, lr=0.3)] == [(1, 0.5), (1, 0.5), (2, 0.3)]
    assert train.cache_info().hits == 1
    assert (add(1), add(1)) == (11, 11)


async def test_under_a_decorator_an_async_function_gets_the_call_as_spelled() -> None:
    def configured(g: Any) -> Any:
        @functools.wraps(g)
        async def inner(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("lr", 0.5)
            return await g(*args, **kwargs)

        return inner

    @cache_result
    @configured
    async def train(x: int, lr: float = 0.1) -> Any:
        return (x, lr)

    assert [await train(1), await train(1), await train(2, lr=0.3)] == [
        (1, 0.5),
        (1, 0.5),
        (2, 0.3),
    ]


def test_a_function_with_its_own_signature_object_gets_the_call_as_spelled() -> None:
    def f(*args: Any, **kwargs: Any) -> Any:
        return (args, kwargs)

    f.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    )
    cached = cache_result(f)
    assert [cached(x=1), cached(x=1), cached(1)] == [((), {"x": 1})] * 3  # one key
    assert cached.cache_info().hits == 2


def test_a_builtin_gets_the_call_as_spelled() -> None:
    """complex's signature says ``imag=0``, yet complex("1+2j", 0) is an error."""
    cached = cache_result(complex)
    assert (cached("1+2j"), cached("1+2j")) == (1 + 2j, 1 + 2j)
    assert cached.cache_info().hits == 1


def test_a_validate_call_function_keeps_its_unvalidated_defaults() -> None:
    pydantic = pytest.importorskip("pydantic")

    @cache_result
    @pydantic.validate_call
    def f(x: int, y: int = None) -> Any:  # type: ignore[assignment]  # noqa: RUF013
        return (x, y)

    assert (f(1), f(1)) == ((1, None), (1, None))


async def test_under_a_decorator_an_argument_is_still_hashed_once_per_call() -> None:
    """A function the generated wrapper cannot call as is (under a functools.wraps
    decorator, a builtin) gets the ``(*args, **kwargs)`` wrapper, whose hit path is inlined
    too: one hash per call, hit or miss, every spelling."""

    @cache_result
    @passing
    def f(a: Any, b: Any = 2, *, c: Any = 3) -> Any:
        return a

    @cache_result
    @passing
    async def fetch(a: Any, b: Any = 2) -> Any:
        return a

    x = CountedHash(1)
    spellings = [
        lambda: f(x),
        lambda: f(x, 2),
        lambda: f(a=x),
        lambda: f(x, b=2, c=3),
        lambda: f(c=3, b=2, a=x),
        lambda: f(x, b=4),
    ]
    assert [hashes(call) for call in spellings] == [1] * len(spellings)
    assert [hashes(call) for call in spellings] == [1] * len(spellings)
    assert (f.cache_info().hits, f.cache_info().misses) == (10, 2)
    CountedHash.calls = 0
    assert await fetch(x) is await fetch(x, b=2)
    assert (CountedHash.calls, fetch.cache_info().hits) == (2, 1)
    assert f([1]) == f([1]) == [1]  # unhashable: by content
    assert f.cache_info().hits == 11


def test_a_method_hits_however_its_receiver_and_arguments_are_passed() -> None:
    """Methods taking ``self`` get a generated wrapper too, which finds the instance's own
    store; each instance keeps its entries."""

    class Model:
        def __init__(self, scale: int) -> None:
            self.scale = scale

        @cache_result
        def predict(self, x: int, *, shift: int = 0) -> int:
            return self.scale * x + shift

    a, b = Model(2), Model(3)
    assert [a.predict(1), a.predict(x=1), Model.predict(a, 1), Model.predict(self=a, x=1)] == [
        2
    ] * 4
    assert [b.predict(1), b.predict(1, shift=0)] == [3, 3]
    info = Model.predict.cache_info()
    assert (info.hits, info.misses, info.currsize) == (4, 2, 2)


def test_a_method_under_another_decorator_keeps_its_entries_per_instance() -> None:
    """The wrapper that passes the call on as written finds the instance's store too,
    whether the receiver comes positionally or by keyword."""

    class Model:
        def __init__(self, scale: int) -> None:
            self.scale = scale

        @cache_result
        @passing
        def predict(self, x: int, shift: int = 0) -> int:
            return self.scale * x + shift

        @cache_result
        @passing
        def echo(self, x: Any) -> Any:
            return x

    a, b = Model(2), Model(3)
    assert [a.predict(1), a.predict(x=1), Model.predict(self=a, x=1), a.predict(1, 0)] == [2] * 4
    assert [b.predict(1), b.predict(1, shift=1)] == [3, 4]
    info = Model.predict.cache_info()
    assert (info.hits, info.misses, info.currsize) == (3, 3, 3)
    x = CountedHash(1)
    assert (hashes(lambda: a.echo(x)), hashes(lambda: a.echo(x))) == (1, 1)


def test_a_traceback_through_the_wrapper_shows_its_source() -> None:
    @cache_result
    def f(x: int) -> int:
        raise ValueError(x)

    with pytest.raises(ValueError, match="1") as caught:
        f(1)
    lines = "".join(traceback.format_tb(caught.tb))
    assert "<cache_result wrapper of" in lines
    assert "_c_call(" in lines  # the line itself, read from linecache


# -- the caching switch ----------------------------------------------------------------------


def test_set_caching_turns_caching_off_and_back_on() -> None:
    f = counted()
    f(1)
    with set_caching(False):
        f(1), f(1)  # the entry made before is not served
        assert len(f.calls) == 3
        assert f.cache_info().currsize == 0  # and nothing is stored
    assert len(f.calls) == 3
    f(1), f(1)
    assert len(f.calls) == 4
    assert f.cache_info().hits == 1
    set_caching(False)
    f(1)
    set_caching(True)
    assert (len(f.calls), f.cache_info().misses) == (5, 5)
    with pytest.raises(TypeError, match=r"^enabled must be True or False"):
        set_caching("false")  # type: ignore[arg-type]


async def test_set_caching_covers_methods_async_functions_and_new_functions() -> None:
    model = Model(2)
    with set_caching(False):
        model.predict(1), model.predict(1)
        await model.apredict(1), await model.apredict(1)
        late = counted()  # decorated while caching is off
        late(1), late(1)
    assert model.calls == 4
    assert len(late.calls) == 2


def test_caching_is_off_when_the_environment_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_DECORATORS_CACHE_DISABLED", "1")
    reset_cache_settings()
    f = counted()
    f(1), f(1)
    assert len(f.calls) == 2
    monkeypatch.delenv("MLOPS_DECORATORS_CACHE_DISABLED")
    reset_cache_settings()
    f(1), f(1)
    assert len(f.calls) == 3
    assert os.environ.get("MLOPS_DECORATORS_CACHE_DISABLED") is None
