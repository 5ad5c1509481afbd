"""Values crossing a process boundary: serialised, and signed when a secret is configured.

A record is ``b"md1"``, then ``b"S"`` and a 32-byte HMAC-SHA256 (or ``b"U"`` when unsigned),
then the payload: ``b"A"`` + a small header + the raw bytes of a C-contiguous numpy array
(no pickle involved), or ``b"P"`` + a pickle for anything else.

Unpickling what a shared store holds runs code chosen by whoever can write to that store.
With a secret (``secret=`` or ``MLOPS_DECORATORS_CACHE_SECRET``) every record carries an HMAC
over its cache key and payload, and a record that does not verify is rejected before any
byte of it is unpickled; binding the key into the MAC also stops a valid record from being
copied under another key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import pickle
import sys
from typing import Any

ENV_SECRET = "MLOPS_DECORATORS_CACHE_SECRET"

_MAGIC = b"md1"
_SIGNED = b"S"
_UNSIGNED = b"U"
_ARRAY = b"A"
_PICKLE = b"P"
_MAC_SIZE = 32

logger = logging.getLogger("mlops_decorators.caching")


class BadRecordError(Exception):
    """A stored record that is not ours, is corrupt, or whose signature does not verify."""


def resolve_secret(name: str, secret: str | bytes | None) -> bytes | None:
    """The signing key: `secret`, else the environment variable, else None.

    Raises:
        TypeError: `secret` is neither str, bytes nor None.
        ValueError: `secret` is empty.
    """
    if secret is None:
        secret = os.environ.get(ENV_SECRET) or None
    if secret is None:
        return None
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, bytes):
        raise TypeError(f"{name} must be str, bytes or None, got {type(secret).__name__}")
    if not secret:
        raise ValueError(f"{name} must not be empty")
    return secret


class Codec:
    """Serialises, signs, verifies and deserialises the records of one backend."""

    __slots__ = ("_secret",)

    Error = BadRecordError  # what loads() raises, for callers that do not import this module

    def __init__(self, secret: bytes | None, backend: str) -> None:
        self._secret = secret
        if secret is None:
            logger.warning(
                "%s stores unsigned cache entries: anyone who can write to it can make this "
                "process unpickle arbitrary data. Set secret= or %s to sign entries.",
                backend,
                ENV_SECRET,
                extra={"backend": backend},
            )

    def _mac(self, key: str, payload: bytes) -> bytes:
        assert self._secret is not None
        mac = hmac.new(self._secret, key.encode("utf-8", "surrogatepass"), hashlib.sha256)
        mac.update(b"\0")
        mac.update(payload)
        return mac.digest()

    def dumps(self, key: str, value: Any) -> bytes:
        """The record storing `value` under `key`."""
        payload = _dump_payload(value)
        if self._secret is None:
            return b"".join((_MAGIC, _UNSIGNED, payload))
        return b"".join((_MAGIC, _SIGNED, self._mac(key, payload), payload))

    def loads(self, key: str, record: bytes, *, copy: bool) -> Any:
        """The value in `record`; arrays are read-only views of it unless `copy`.

        Raises:
            BadRecordError: The record is foreign or corrupt, or (with a secret) unsigned or
                signed with another key; nothing of it was unpickled.
        """
        try:
            view = memoryview(record)
        except TypeError:  # a custom backend returned str or another non-bytes value
            raise BadRecordError(f"a {type(record).__name__} instead of bytes") from None
        if bytes(view[:3]) != _MAGIC:
            raise BadRecordError("not a mlops-decorators cache record")
        flag = bytes(view[3:4])
        if flag == _SIGNED:
            mac, payload = bytes(view[4 : 4 + _MAC_SIZE]), view[4 + _MAC_SIZE :]
        elif flag == _UNSIGNED:
            mac, payload = b"", view[4:]
        else:
            raise BadRecordError("unknown record flag")
        if self._secret is not None:
            if flag != _SIGNED:
                raise BadRecordError("record is not signed but a secret is configured")
            if not hmac.compare_digest(mac, self._mac(key, bytes(payload))):
                raise BadRecordError("signature does not verify")
        try:
            return _load_payload(payload, copy=copy)
        except Exception as exc:
            raise BadRecordError(f"cannot deserialise record: {type(exc).__name__}: {exc}") from exc


def _plain_array(value: Any) -> bool:
    np = sys.modules.get("numpy")
    return (
        np is not None
        and type(value) is np.ndarray
        and value.dtype.fields is None
        and not value.dtype.hasobject
    )


def _dump_payload(value: Any) -> bytes:
    if _plain_array(value):
        np = sys.modules["numpy"]
        header = json.dumps({"dtype": value.dtype.str, "shape": value.shape}).encode()
        body = np.ascontiguousarray(value).reshape(-1).view(np.uint8)  # datetime64 too
        return b"".join((_ARRAY, len(header).to_bytes(4, "big"), header, body.data))
    return _PICKLE + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _load_payload(payload: memoryview, *, copy: bool) -> Any:
    kind = bytes(payload[:1])
    if kind == _PICKLE:
        return pickle.loads(payload[1:])
    if kind != _ARRAY:
        raise BadRecordError("unknown payload kind")
    import numpy as np

    size = int.from_bytes(payload[1:5], "big")
    header = json.loads(bytes(payload[5 : 5 + size]))
    array = np.frombuffer(payload[5 + size :], dtype=np.dtype(header["dtype"]))
    array = array.reshape(header["shape"])
    # frombuffer over immutable bytes is already read-only and shares no memory with anyone.
    return array.copy() if copy else array
