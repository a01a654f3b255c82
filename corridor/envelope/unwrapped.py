"""Wrapping keys a recipient has already unwrapped, so a reused wrap is opened once.

Under a suite that reuses wrapping keys, an issuer's alerts to the same recipients carry
the same wrap for a while; the HPKE decryption (an X25519 agreement, the costliest step
of opening) then needs doing once. An entry is found only by the exact bytes of the
wrap, the HPKE ``info`` it was opened under and the very key object that opened it, so a
wrap altered, relabelled or addressed to another key never matches and is decrypted (and
refused) as usual. Bounded: the least recently used entries go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from corridor.envelope.keys import EncryptionKey

__all__ = ["UnwrappedKeys"]


class UnwrappedKeys:
    """A small, thread-safe LRU map from a wrap (as opened by one key) to its key."""

    __slots__ = ("_entries", "_lock", "_max_entries")

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[bytes, bytes, str], tuple[EncryptionKey, bytes]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: EncryptionKey, info: bytes, sealed_key: bytes) -> bytes | None:
        """The key ``key`` unwrapped from ``sealed_key`` under ``info``, if remembered."""
        ident = (info, sealed_key, key.key_id)
        with self._lock:
            found = self._entries.get(ident)
            if found is None or found[0] is not key:
                return None
            self._entries.move_to_end(ident)
            return found[1]

    def put(self, key: EncryptionKey, info: bytes, sealed_key: bytes, unwrapped: bytes) -> None:
        with self._lock:
            self._entries[(info, sealed_key, key.key_id)] = (key, unwrapped)
            self._entries.move_to_end((info, sealed_key, key.key_id))
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
