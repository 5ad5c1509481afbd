"""Short, safe text for values that end up in logs, metrics and error messages.

Values are summarised, never dumped: arrays and tensors by type, shape and dtype (detected
by duck typing, so numpy is never imported here), long strings, bytes and containers cut to
a character budget. Values whose *name* looks like a secret (an argument name, or a string
key inside a mapping) are replaced by ``'***'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_REDACT: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "credential",
        "cookie",
        "session",
    }
)
"""Name fragments whose values are redacted by default (matched case-insensitively).

Example:
    >>> from mlops_decorators import log_calls
    >>> @log_calls(redact=DEFAULT_REDACT | {"ssn"})  # extends the defaults instead of replacing
    ... def lookup(user: str, ssn: str, api_key: str) -> None:
    ...     pass
    >>> "password" in DEFAULT_REDACT, "ssn" in DEFAULT_REDACT
    (True, False)
"""

REDACTED = "'***'"
_MAX_DEPTH = 4


def normalise_redact(name: str, redact: Iterable[str]) -> frozenset[str]:
    """Validate a ``redact=`` argument and return its fragments, lower-cased."""
    if isinstance(redact, (str, bytes)) or not isinstance(redact, Iterable):
        raise TypeError(
            f"{name} must be an iterable of name fragments such as DEFAULT_REDACT | {{'ssn'}}, "
            f"got {type(redact).__name__} {redact!r}"
        )
    fragments = frozenset(redact)
    bad = [f for f in fragments if not isinstance(f, str) or not f]
    if bad:
        raise TypeError(f"{name} must contain non-empty strings only, got {bad!r}")
    return frozenset(f.lower() for f in fragments)


def format_duration(seconds: float) -> str:
    """A human duration: ``'12.3 µs'``, ``'1.24 ms'``, ``'1.24 s'``, ``'2 min 3.4 s'``.

    Example:
        >>> format_duration(0.00124), format_duration(0.9999), format_duration(123.4)
        ('1.24 ms', '1 s', '2 min 3.4 s')
    """
    for scale, unit, spec in _UNITS:
        text = f"{seconds * scale:{spec}}"
        # Choose the unit after rounding: 0.9999 s is "1 s", not "1e+03 ms".
        if float(text) < (60.0 if unit == "s" else 1000.0):
            return f"{text} {unit}"
    minutes, rest = divmod(round(seconds, 1), 60.0)
    return f"{minutes:.0f} min {rest:.1f} s"


_UNITS = ((1e9, "ns", ".0f"), (1e6, "µs", ".3g"), (1e3, "ms", ".3g"), (1.0, "s", ".3g"))


class Summarizer:
    """Turns values into bounded, redacted text.

    Args:
        max_repr: Most characters one value may take.
        redact: Lower-case name fragments; a name containing one is redacted.
    """

    __slots__ = ("max_repr", "redact")

    def __init__(self, max_repr: int, redact: frozenset[str]) -> None:
        self.max_repr = max_repr
        self.redact = redact

    def is_secret(self, name: str) -> bool:
        """Whether values under `name` must be hidden."""
        lowered = name.lower()
        return any(fragment in lowered for fragment in self.redact)

    def arguments(self, arguments: Mapping[str, Any]) -> dict[str, str]:
        """Summaries of named arguments, with secret-looking names redacted."""
        return {
            name: REDACTED if self.is_secret(name) else self.value(value)
            for name, value in arguments.items()
        }

    def value(self, value: Any) -> str:
        """A summary of `value` in at most ``max_repr`` characters.

        A cut string, bytes or repr may add its size note (``...(12345 chars)``) on top,
        and a cut string or bytes keeps at least its first whole character, even when that
        character's escape is longer than ``max_repr`` (up to 12 characters); containers fit
        their notes inside ``max_repr`` (from about 30 characters up) and show only their
        size below four levels of nesting. Array summaries are never cut.

        Example:
            >>> Summarizer(60, DEFAULT_REDACT).value({"user": "ada", "token": "t", "ids": [1] * 50})
            "{'user': 'ada', 'token': '***', 'ids': [1, 1, ...(48 more)]}"
        """
        return self._summarise(value, self.max_repr, 0)

    def _summarise(self, value: Any, budget: int, depth: int) -> str:
        if isinstance(value, str):
            return _cut(value, budget, "chars")
        if isinstance(value, (bytes, bytearray)):
            return _cut(value, budget, "bytes")
        try:
            array = _array_summary(value)
        except Exception:  # a failing shape property (lazy data) must not break the call
            array = None
        if array is not None:
            return array
        kind = dict if isinstance(value, dict) else type(value)  # dict subclasses hold secrets too
        if kind in _BRACKETS:
            if not value:
                return repr(kind())
            if depth < _MAX_DEPTH:
                return self._container(value, kind, budget, depth)
            # Deeper levels show their size only: their repr could hold secret-named keys.
            open_, close = _BRACKETS[kind]
            return f"{open_}...({len(value)} more){close}"
        try:
            text = repr(value)
        except Exception as exc:  # a broken __repr__ must not break the decorated call
            return f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"
        return text if len(text) <= budget else f"{text[: max(budget, 0)]}...({len(text)} chars)"

    def _container(self, value: Any, kind: type, budget: int, depth: int) -> str:
        open_, close = _BRACKETS[kind]
        if kind is tuple and len(value) == 1:
            close = ",)"
        # Iterate lazily: a budget of a few hundred characters shows a few dozen items at
        # most, however long the container is.
        pairs = iter(value.items()) if kind is dict else ((_NO_KEY, v) for v in value)
        shown: list[tuple[Any, Any]] = []
        parts: list[str] = []
        used = len(open_) + len(close)  # plus 2 per part: its ", " separator
        for key, item in pairs:
            text = self._fit(key, item, budget - used, depth)
            if text is None:
                break
            shown.append((key, item))
            parts.append(text)
            used += len(text) + 2
        else:
            return open_ + ", ".join(parts) + close
        # Cut short: make the "...(n more)" note fit by cutting, or dropping, the last items.
        note = f"...({len(value) - len(parts)} more)"
        while parts and used + len(note) > budget:
            used -= len(parts.pop()) + 2
            key, item = shown[len(parts)]
            text = self._fit(key, item, budget - used - len(note) - 2, depth)
            if text is None:
                note = f"...({len(value) - len(parts)} more)"
            else:
                parts.append(text)
                used += len(text) + 2
        return open_ + ", ".join([*parts, note]) + close

    def _fit(self, key: Any, item: Any, room: int, depth: int) -> str | None:
        """One item's text in at most `room` characters, or None if it cannot fit."""
        text = self._item(key, item, room, depth)
        if len(text) > room:  # a size note overshoots its budget: cut that much more
            text = self._item(key, item, 2 * room - len(text), depth)
        return text if len(text) <= room else None

    def _item(self, key: Any, item: Any, budget: int, depth: int) -> str:
        if key is _NO_KEY:
            return self._summarise(item, budget, depth + 1)
        # Keys are summarised too (a huge key or a broken __repr__ must not escape), in at
        # most half the room so that the value shows as well.
        prefix = self._summarise(key, budget // 2, depth + 1) + ": "
        if isinstance(key, str) and self.is_secret(key):
            return prefix + REDACTED
        return prefix + self._summarise(item, budget - len(prefix), depth + 1)


_NO_KEY = object()
_BRACKETS: dict[type, tuple[str, str]] = {
    dict: ("{", "}"),
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}


def _cut(value: str | bytes | bytearray, budget: int, unit: str) -> str:
    overhead = len(repr(value[:0]))  # quotes and prefix: '' or b'' or bytearray(b'')
    n = max(budget - overhead, 1)
    head = repr(value[:n])  # never the repr of a huge value, only of a budget-sized slice
    while len(head) > budget and n > 1:  # escapes ('\x00' is 4 characters) lengthen a repr
        n = max(n * (budget - overhead) // (len(head) - overhead), 1)
        head = repr(value[:n])
    return head if n >= len(value) else f"{head}...({len(value)} {unit})"


def _array_summary(value: Any) -> str | None:
    """``ndarray(shape=(10000, 3), dtype=float32)`` for numpy arrays, tensors and frames."""
    shape = getattr(type(value), "shape", None) and getattr(value, "shape", None)
    if shape is None or (not isinstance(shape, tuple) and type(shape).__name__ != "Size"):
        return None
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return f"{type(value).__name__}(shape={tuple(shape)})"
    if shape == ():  # numpy scalars carry a shape too; their repr is short and useful
        return None
    return f"{type(value).__name__}(shape={tuple(shape)}, dtype={dtype})"


def format_bytes(size: float) -> str:
    """A human size in binary units: ``'512 B'``, ``'8.0 GiB'``, ``'563 MiB'``.

    Example:
        >>> format_bytes(512), format_bytes(8 * 2**30), format_bytes(590_000_000)
        ('512 B', '8.0 GiB', '563 MiB')
    """
    if abs(size) < 1024:
        return f"{size:.0f} B"
    power = 1
    # Choose the unit after rounding: 1023.99 MiB is "1.0 GiB", not "1024.0 MiB".
    while power < len(_BYTE_UNITS) and abs(round(size / 1024**power, 1)) >= 1024:
        power += 1
    value, unit = size / 1024**power, _BYTE_UNITS[power - 1]
    return f"{value:.1f} {unit}" if abs(value) < 99.95 else f"{value:.0f} {unit}"


_BYTE_UNITS = ("KiB", "MiB", "GiB", "TiB")
