"""Label sets: checked once, normalised to sorted (key, value) pairs, capped per function.

Keys follow Prometheus' rule (``[a-zA-Z_][a-zA-Z0-9_]*``, no leading ``__``) and may not be
one of the labels `monitor` sets itself; values are strings or numbers, cut to
`MAX_LABEL_VALUE` characters. A function keeps at most `MAX_LABEL_SETS` distinct label sets:
every further one is recorded under a single overflow set whose values are all ``"other"``,
so an unbounded label (a user id) cannot grow memory or a metrics backend without bound.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping

from .._checks import wrong_type, wrong_value
from .._stats import Labels

#: Distinct label sets kept per function; further ones go to the overflow set.
MAX_LABEL_SETS = 100
#: Characters kept of a label value.
MAX_LABEL_VALUE = 100
#: The value of every label of the overflow set.
OTHER = "other"
#: Labels `monitor`'s exporters set themselves.
RESERVED = frozenset({"function", "outcome", "error_type", "le", "quantile"})

_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def label_set(option: str, labels: object) -> Labels:
    """Check a label mapping and return it as sorted (key, str value) pairs.

    Args:
        option: What the labels come from, for the error message.
        labels: The mapping to check.

    Returns:
        The label set.

    Raises:
        TypeError: Not a mapping, or a key or value of the wrong type.
        ValueError: A key that is no valid label name or that `monitor` sets itself.

    Example:
        >>> label_set("labels", {"model": "resnet50", "version": 2})
        (('model', 'resnet50'), ('version', '2'))
        >>> label_set("labels", {"function": "x"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: labels must be a mapping of label names other than monitor's own (...), got ...
    """
    if not isinstance(labels, Mapping):
        raise wrong_type(option, "a mapping of label names to str or number values", labels)
    pairs = []
    for key, value in labels.items():
        if not isinstance(key, str):
            raise wrong_type(option, "a mapping with str keys (label names)", labels)
        if not _KEY.match(key) or key.startswith("__"):
            raise wrong_value(
                option,
                "a mapping of label names (letters, digits and '_', not starting with a digit "
                "or '__')",
                labels,
            )
        if key in RESERVED:
            own = ", ".join(sorted(RESERVED))
            raise wrong_value(
                option, f"a mapping of label names other than monitor's own ({own})", labels
            )
        if not isinstance(value, (str, numbers.Real)):
            raise wrong_type(option, "a mapping of label names to str or number values", labels)
        pairs.append((key, str(value)[:MAX_LABEL_VALUE]))
    return tuple(sorted(pairs))


def overflow(keys: Labels) -> Labels:
    """The overflow set for a function whose label sets have the keys of `keys`.

    Example:
        >>> overflow((("model", "a"), ("user", "42")))
        (('model', 'other'), ('user', 'other'))
    """
    return tuple((key, OTHER) for key, _ in keys)
