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
"""Name fragments whose values are redacted by default (matched case-insensitively)."""

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
    """A human duration: ``'12.3 µs'``, ``'1.24 ms'``, ``'1.24 s'``, ``'2 min 3.4 s'``."""
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 60.0:
        return f"{seconds:.3g} s"
    minutes, rest = divmod(seconds, 60.0)
    return f"{minutes:.0f} min {rest:.1f} s"


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
        """A summary of `value` of at most ``max_repr`` characters (plus a size note)."""
        return self._summarise(value, self.max_repr, 0)

    def _summarise(self, value: Any, budget: int, depth: int) -> str:
        if isinstance(value, str):
            return _cut(value, budget, "chars")
        if isinstance(value, (bytes, bytearray)):
            return _cut(value, budget, "bytes")
        array = _array_summary(value)
        if array is not None:
            return array
        if depth < _MAX_DEPTH and type(value) in (dict, list, tuple, set, frozenset):
            return self._container(value, budget, depth)
        try:
            text = repr(value)
        except Exception as exc:  # a broken __repr__ must not break the decorated call
            return f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"
        return text if len(text) <= budget else f"{text[:budget]}...({len(text)} chars)"

    def _container(self, value: Any, budget: int, depth: int) -> str:
        if isinstance(value, dict):
            items: list[tuple[str, Any]] = [
                (repr(k) + ": ", REDACTED if isinstance(k, str) and self.is_secret(k) else v)
                for k, v in value.items()
            ]
            open_, close = "{", "}"
        else:
            items = [("", v) for v in value]
            open_, close = _BRACKETS[type(value)]
            if isinstance(value, tuple) and len(value) == 1:
                close = ",)"
        if not items and type(value) in (set, frozenset):
            return f"{type(value).__name__}()"
        parts: list[str] = []
        used = len(open_) + len(close)
        for index, (prefix, item) in enumerate(items):
            remaining = budget - used
            if remaining <= 0:
                parts.append(f"...({len(items) - index} more)")
                break
            text = item if item is REDACTED else self._summarise(item, remaining, depth + 1)
            parts.append(prefix + text)
            used += len(prefix) + len(text) + 2
        return open_ + ", ".join(parts) + close


_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}


def _cut(value: str | bytes | bytearray, budget: int, unit: str) -> str:
    text = repr(value)
    if len(text) <= budget:
        return text
    return f"{value[: max(budget - 3, 1)]!r}...({len(value)} {unit})"


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
