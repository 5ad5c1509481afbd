"""The few array operations `Array` needs, done by the array's own library.

numpy >= 2, jax and cupy arrays name their array-API namespace (``__array_namespace__``);
torch tensors and numpy 1.x arrays are handled by the module that defines their type. Nothing
is copied to the host or converted to numpy: only scalar results (a flag, a mean, an index)
are read back. Dtypes are compared by name (``float32``), so no library is imported here.
"""

from __future__ import annotations

import sys
from typing import Any

#: Kind -> the dtype kinds it accepts (see `kind_of`).
KINDS: dict[str, frozenset[str]] = {
    "bool": frozenset({"bool"}),
    "integer": frozenset({"signed integer", "unsigned integer"}),
    "signed integer": frozenset({"signed integer"}),
    "unsigned integer": frozenset({"unsigned integer"}),
    "floating": frozenset({"floating"}),
    "complex": frozenset({"complex"}),
    "numeric": frozenset({"signed integer", "unsigned integer", "floating", "complex"}),
}

_PREFIXES = (
    ("uint", "unsigned integer"),
    ("int", "signed integer"),
    ("float", "floating"),
    ("bfloat", "floating"),
    ("complex", "complex"),
)
_NAMES: dict[Any, str] = {}
_NAMESPACES: dict[type, Namespace] = {}
_CACHE_LIMIT = 256  # structured numpy dtypes are unbounded in number: stop caching there


def kind_of(name: str) -> str | None:
    """The kind of a dtype name: ``'floating'`` for ``'float32'`` or ``'bfloat16'``, ...

    Example:
        >>> kind_of("uint8"), kind_of("bfloat16"), kind_of("bool"), kind_of("datetime64[s]")
        ('unsigned integer', 'floating', 'bool', None)
    """
    if name == "bool":
        return "bool"
    for prefix, kind in _PREFIXES:
        if name.startswith(prefix):
            return kind
    return None


def dtype_name(dtype: Any) -> str:
    """``'float32'`` for numpy's, jax's and cupy's ``float32`` and for ``torch.float32``.

    Example:
        >>> import numpy as np
        >>> dtype_name(np.dtype("float32")), dtype_name(np.dtype(bool))
        ('float32', 'bool')
    """
    name = _NAMES.get(dtype)
    if name is not None:
        return name
    # numpy's dtype.name is slow to build (microseconds), hence the cache; torch dtypes have
    # no name, only "torch.float32".
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = str(dtype).rpartition(".")[2]
    if len(_NAMES) < _CACHE_LIMIT:
        _NAMES[dtype] = name
    return name


class Namespace:
    """Array operations in one library, with its differences ironed out.

    Args:
        xp: The library's array-API namespace, or its module (torch, numpy 1.x).
    """

    __slots__ = ("_api", "_errstate", "_torch", "xp")

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self._torch = getattr(xp, "__name__", "") == "torch"
        # numpy 1.x has no ``correction=`` on std (its default is the population std anyway).
        self._api = self._torch or hasattr(xp, "__array_api_version__")
        self._errstate = getattr(xp, "errstate", None)  # numpy's, to silence one sum

    def total(self, x: Any) -> Any:
        """The sum of `x`, without numpy's warning when it overflows or meets inf - inf: a
        sum that is not finite only makes the caller look closer."""
        if self._errstate is None:
            return self.xp.sum(x)
        with self._errstate(over="ignore", invalid="ignore"):
            return self.xp.sum(x)

    def count(self, mask: Any) -> tuple[int, int]:
        """How many elements of boolean `mask` are set, and the flat index of the first one
        (-1 when none is).

        Example:
            >>> import numpy as np
            >>> namespace(np.zeros(1)).count(np.array([[False, True], [True, True]]))
            (3, 1)
        """
        flat = self.xp.reshape(mask, (-1,))
        found = self.xp.nonzero(flat, as_tuple=True) if self._torch else self.xp.nonzero(flat)
        indices = found[0]
        count = int(indices.shape[0])
        return count, int(indices[0]) if count else -1

    def std(self, x: Any) -> Any:
        """The population standard deviation (torch's own default would be the sample's)."""
        return self.xp.std(x, correction=0) if self._api else self.xp.std(x)

    def astype(self, x: Any, name: str) -> Any:
        """`x` converted to the dtype called `name` in its own library."""
        dtype = getattr(self.xp, name)
        if self._torch:
            return x.to(dtype)
        astype = getattr(self.xp, "astype", None)  # the array API's; numpy 1.x has a method
        return astype(x, dtype) if astype is not None else x.astype(dtype)


def namespace(value: Any) -> Namespace:
    """The `Namespace` of `value`'s library (looked up once per array type).

    Example:
        >>> import numpy as np
        >>> namespace(np.zeros(3)).xp.__name__
        'numpy'
    """
    kind = type(value)
    found = _NAMESPACES.get(kind)
    if found is None:
        get = getattr(value, "__array_namespace__", None)
        xp = get() if get is not None else sys.modules[kind.__module__.partition(".")[0]]
        found = _NAMESPACES[kind] = Namespace(xp)
    return found


def unravel(flat: int, shape: tuple[int, ...]) -> list[int]:
    """The index in an array of `shape` of its `flat`-th element (C order).

    Example:
        >>> unravel(5, (2, 3))
        [1, 2]
    """
    index = []
    for size in reversed(shape):
        flat, position = divmod(flat, size)
        index.append(position)
    return index[::-1]
