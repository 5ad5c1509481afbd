"""Short, safe text for values that end up in logs, metrics and error messages.

Values are summarised, never dumped: arrays and tensors by type, shape and dtype (detected
by duck typing, so numpy is never imported here), long strings, bytes and containers cut to
a character budget. Mappings of any kind (every `collections.abc.Mapping`, and objects with
``keys()`` and ``items()`` methods such as OmegaConf's ``DictConfig``) are shown like dicts, and
records (dataclasses, named tuples, pydantic models, ``argparse``/``SimpleNamespace``
namespaces) by their fields, so that the values under secret-looking names can be hidden.

A name looks like a secret when one of the redaction fragments matches whole words of it:
names are split into words at ``_``, ``-``, ``.``, spaces, digits and camelCase humps
(``AUTH_HEADER`` -> auth, header; ``apiKey`` -> api, key), so ``token`` hides ``access_token``
but not ``max_tokens`` or ``tokenizer``. Its value is replaced by ``'***'``.

Summarising never raises: a container mutated by another thread while it is read, or a
failing ``__repr__``, ``__len__`` or ``__str__``, becomes a short placeholder naming the
error, and is counted in `Summarizer.failures`.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple

from ._stats import Counter

DEFAULT_REDACT: frozenset[str] = frozenset(
    {
        "password",
        "passwords",
        "passwd",
        "secret",
        "secrets",
        "token",
        "api_key",
        "api_keys",
        "apikey",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "private_key",
        "cookie",
        "cookies",
        "session",
    }
)
"""Secret words whose values are redacted by default (whole words, case-insensitive).

Plurals are listed where they name secrets (``credentials``, ``cookies``) and left out where
they usually do not (``tokens``: ``max_tokens``; ``sessions``: ``num_sessions``).

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
# The words of a name: capitals not followed by a lower-case letter (the "API" of "APIKey"),
# else lower-case letters after at most one capital, else digits. Non-ASCII letters count
# as lower-case.
_WORDS = re.compile(r"[A-Z]+(?![^\W\dA-Z_])|[A-Z]?[^\W\dA-Z_]+|\d+")
# Verdicts kept per Summarizer: argument names and config keys repeat on every call.
_MEMO_SIZE = 1024


def _spaced_words(name: str) -> str:
    """``"AUTH_HEADER"`` -> ``" auth header "``: whole words match as substrings."""
    return f" {' '.join(_WORDS.findall(name)).lower()} "


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


def plural(count: int, noun: str) -> str:
    """``"1 item"``, ``"3 items"``.

    Example:
        >>> plural(1, "item"), plural(0, "item")
        ('1 item', '0 items')
    """
    return f"{count} {noun}{'' if count == 1 else 's'}"


_UNITS = ((1e9, "ns", ".0f"), (1e6, "µs", ".3g"), (1e3, "ms", ".3g"), (1.0, "s", ".3g"))


class Summarizer:
    """Turns values into bounded, redacted text, and never raises while doing so.

    Args:
        max_repr: Most characters one value may take.
        redact: Lower-case name fragments (see `DEFAULT_REDACT`); a name is secret when one
            fragment's words appear in a row among the name's words.

    Attributes:
        failures: Summaries that failed and were replaced by a placeholder (a `Counter`).
    """

    __slots__ = ("_patterns", "_verdicts", "failures", "max_repr", "redact")

    def __init__(self, max_repr: int, redact: frozenset[str]) -> None:
        self.max_repr = max_repr
        self.redact = redact
        self.failures = Counter()
        # A fragment without letters or digits ("--") has no words and matches nothing.
        self._patterns = tuple(p for p in map(_spaced_words, sorted(redact)) if p.strip())
        self._verdicts: dict[str, bool] = {}

    def is_secret(self, name: str) -> bool:
        """Whether values under `name` must be hidden.

        Example:
            >>> values = Summarizer(200, DEFAULT_REDACT)
            >>> [values.is_secret(n) for n in ("AUTH_HEADER", "apiKey", "max_tokens")]
            [True, True, False]
        """
        verdict = self._verdicts.get(name)
        if verdict is None:
            words = _spaced_words(name)
            verdict = any(pattern in words for pattern in self._patterns)
            if len(self._verdicts) >= _MEMO_SIZE:  # keys from data, not code: start over
                self._verdicts.clear()
            self._verdicts[name] = verdict
        return verdict

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

    def error_text(self, error: BaseException) -> str:
        """`error`'s message (``str(error)``) cut to ``max_repr`` characters.

        Example:
            >>> Summarizer(10, DEFAULT_REDACT).error_text(ValueError("x" * 5000))
            'xxxxxxxxxx...(5000 chars)'
        """
        try:
            text = str(error)
        except Exception as exc:
            return self._failed(error, "str", exc)
        if len(text) <= self.max_repr:
            return text
        return f"{text[: self.max_repr]}...({len(text)} chars)"

    def _failed(self, value: Any, what: str, exc: Exception) -> str:
        self.failures.increment()
        return f"<{type(value).__name__} ({what} failed: {type(exc).__name__})>"

    def _summarise(self, value: Any, budget: int, depth: int) -> str:
        try:
            return self._summary(value, budget, depth)
        except Exception as exc:  # a container changed by another thread, a failing __len__
            return self._failed(value, "summary", exc)

    def _summary(self, value: Any, budget: int, depth: int) -> str:
        if isinstance(value, str):
            return _cut(value, budget, "chars")
        if isinstance(value, (bytes, bytearray)):
            return _cut(value, budget, "bytes")
        if type(value) not in _PLAIN:
            try:
                array = _array_summary(value)
            except Exception:  # a failing shape property (lazy data): use the repr
                array = None
            if array is not None:
                return array
            layout = _layout(value)
            if layout is not None:
                return self._container(layout, budget, depth)
        try:
            text = repr(value)
        except Exception as exc:  # a broken __repr__ must not break the decorated call
            return self._failed(value, "repr", exc)
        return text if len(text) <= budget else f"{text[: max(budget, 0)]}...({len(text)} chars)"

    def _container(self, layout: _Layout, budget: int, depth: int) -> str:
        open_, close, empty, pairs, size, style = layout
        if size == 0:
            return empty
        if depth >= _MAX_DEPTH:
            # Deeper levels show their size only: their repr could hold secret-named keys.
            return f"{open_}{_more(size, 0)}{close}"
        # Iterate lazily: a budget of a few hundred characters shows a few dozen items at
        # most, however long the container is.
        shown: list[tuple[Any, Any]] = []
        parts: list[str] = []
        used = len(open_) + len(close)  # plus 2 per part: its ", " separator
        for key, item in pairs:
            text = self._fit(style, key, item, budget - used, depth)
            if text is None:
                break
            shown.append((key, item))
            parts.append(text)
            used += len(text) + 2
        else:
            return open_ + ", ".join(parts) + close
        # Cut short: make the "...(n more)" note fit by cutting, or dropping, the last items.
        note = _more(size, len(parts))
        while parts and used + len(note) > budget:
            used -= len(parts.pop()) + 2
            key, item = shown[len(parts)]
            text = self._fit(style, key, item, budget - used - len(note) - 2, depth)
            if text is None:
                note = _more(size, len(parts))
            else:
                parts.append(text)
                used += len(text) + 2
        return open_ + ", ".join([*parts, note]) + close

    def _fit(self, style: int, key: Any, item: Any, room: int, depth: int) -> str | None:
        """One item's text in at most `room` characters, or None if it cannot fit."""
        text = self._item(style, key, item, room, depth)
        if len(text) > room:  # a size note overshoots its budget: cut that much more
            text = self._item(style, key, item, 2 * room - len(text), depth)
        return text if len(text) <= room else None

    def _item(self, style: int, key: Any, item: Any, budget: int, depth: int) -> str:
        if style == _ITEMS or key is None:  # a pydantic model's positional argument has no name
            return self._summarise(item, budget, depth + 1)
        if style == _FIELDS:
            prefix = f"{key}="
        else:
            # Keys are summarised too (a huge key or a broken __repr__ must not escape), in
            # at most half the room so that the value shows as well.
            prefix = self._summarise(key, budget // 2, depth + 1) + ": "
        if isinstance(key, str) and self.is_secret(key):
            return prefix + REDACTED
        return prefix + self._summarise(item, budget - len(prefix), depth + 1)


# How a container's items show: bare items, "key: value" pairs or "name=value" fields.
_ITEMS, _KEYS, _FIELDS = 0, 1, 2


class _Layout(NamedTuple):
    """How to show one container: brackets, its empty form, its (key, item) pairs."""

    open: str
    close: str
    empty: str
    pairs: Iterator[tuple[Any, Any]]
    size: int | None  # None: unknown (a mapping-like object without __len__)
    style: int


_NO_KEY = None
_PLAIN = frozenset({int, float, bool, complex, type(None)})  # their repr is all there is
_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}


def _layout(value: Any) -> _Layout | None:
    """How to show `value` item by item, or None to show its repr."""
    kind = type(value)
    brackets = _BRACKETS.get(kind)
    if brackets is not None:
        open_, close = brackets
        if kind is tuple and len(value) == 1:
            close = ",)"
        items = ((_NO_KEY, item) for item in value)
        return _Layout(open_, close, repr(kind()), items, len(value), _ITEMS)
    fields = _fields(value)
    if fields is not None:
        name = kind.__name__
        return _Layout(f"{name}(", ")", f"{name}()", iter(fields), len(fields), _FIELDS)
    if isinstance(value, Mapping) or (
        callable(getattr(kind, "keys", None)) and callable(getattr(kind, "items", None))
    ):
        size = len(value) if hasattr(kind, "__len__") else None
        return _Layout("{", "}", "{}", iter(value.items()), size, _KEYS)
    return None


def _fields(value: Any) -> list[tuple[str | None, Any]] | None:
    """The (name, value) pairs a record's own repr would show, or None if not a record.

    Records: dataclass instances, named tuples, pydantic models (through their
    ``__repr_args__``, so pydantic is never imported here) and namespaces.
    """
    kind = type(value)
    if isinstance(value, tuple) and hasattr(kind, "_fields"):
        return list(zip(kind._fields, value, strict=False))
    if hasattr(kind, "__dataclass_fields__") and not isinstance(value, type):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr]
    repr_args = getattr(kind, "__repr_args__", None)
    if callable(repr_args):
        return list(repr_args(value))
    argparse = sys.modules.get("argparse")  # a Namespace exists only once argparse is loaded
    if isinstance(value, SimpleNamespace) or (
        argparse is not None and isinstance(value, argparse.Namespace)
    ):
        return list(vars(value).items())
    return None


def _more(size: int | None, shown: int) -> str:
    # A container mutated while it is read may be shorter than its length said.
    return "...(more)" if size is None else f"...({max(size - shown, 1)} more)"


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
