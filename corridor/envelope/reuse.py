"""An issuer's wrapping keys, each reused for one exact set of recipient keys, bounded.

Wrapping the body key for a recipient is one HPKE seal (an X25519 key generation and
agreement), the costliest step of sealing an alert, and it was paid again for every
alert although an issuer sends most of its alerts to the same few counterparts. Under a
suite that derives body keys, the issuer wraps a *wrapping key* once for a set of
recipient keys and reuses that wrap, as the AWS Encryption SDK's data-key caching does,
within limits (decision 18):

* the set is exact: the recipients' agency ids, key ids and public keys, in order. An
  agency added, dropped, suspended or given a new key makes a new set and a new
  wrapping key, so a wrap never reaches anyone the current alert is not sealed for;
* ``max_alerts`` and ``max_age`` bound what one leaked wrapping key exposes (at most
  that many alerts, all to the same recipients, all of whom could open them anyway);
* every alert still gets its own body key and nonce (:func:`derive_body_key`), so the
  reuse never approaches AES-GCM's per-key limits.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corridor import canonical
from corridor.canonical import Canonical
from corridor.domain import WrappedKey
from corridor.envelope.body import RandomSource, wrap_key
from corridor.envelope.errors import SealError
from corridor.envelope.keys import RecipientKey
from corridor.envelope.suites import DATA_KEY_LENGTH, CipherSuite

__all__ = ["KeyReuse", "Wrapping", "WrappingKeys"]

#: An alert's recipients as a cache key: agency id, key id and public key, in order.
_SetKey = tuple[bytes, tuple[tuple[str, str, bytes], ...]]


@dataclass(frozen=True, slots=True)
class KeyReuse:
    """How far one wrapping key may be reused for one set of recipient keys."""

    #: Alerts sealed under one wrapping key before a new one is made.
    max_alerts: int = 1000
    #: Seconds after which a wrapping key is not used for new alerts.
    max_age: float = 300.0
    #: Recipient sets remembered at once (least recently used dropped first).
    max_sets: int = 256

    def __post_init__(self) -> None:
        if self.max_alerts < 1:
            raise SealError("key reuse: max_alerts must be at least 1")
        if not self.max_age > 0:
            raise SealError("key reuse: max_age must be positive")
        if self.max_sets < 1:
            raise SealError("key reuse: max_sets must be at least 1")


@dataclass(frozen=True, slots=True)
class Wrapping:
    """A wrapping key and its wraps for one set of recipient keys."""

    key: bytes
    recipients: tuple[WrappedKey, ...]


@dataclass(slots=True)
class _Entry:
    wrapping: Wrapping
    expires: float
    uses_left: int


class WrappingKeys:
    """The wrapping keys of one sealer, by recipient set; safe to share between threads."""

    __slots__ = ("_clock", "_entries", "_lock", "_on_new", "_randomness", "_reuse", "_suite")

    def __init__(
        self,
        suite: CipherSuite,
        reuse: KeyReuse,
        *,
        randomness: RandomSource = os.urandom,
        clock: Callable[[], float] = time.monotonic,
        on_new: Callable[[], object] | None = None,
    ) -> None:
        if not suite.derives_body_key:
            raise SealError(f"suite {suite.id} does not reuse wrapping keys")
        self._suite = suite
        self._reuse = reuse
        self._randomness = randomness
        self._clock = clock
        self._on_new = on_new
        self._entries: OrderedDict[_SetKey, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def reuse(self) -> KeyReuse:
        return self._reuse

    def get(self, label: Canonical, recipients: Sequence[RecipientKey]) -> Wrapping:
        """The wrapping key to seal one alert for ``recipients`` with; counts the use."""
        ident = self._ident(label, recipients)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(ident)
            if entry is not None and entry.uses_left > 0 and now < entry.expires:
                entry.uses_left -= 1
                self._entries.move_to_end(ident)
                return entry.wrapping
        # Wrapping happens outside the lock: it is the slow part. Two threads that miss
        # at once each make a key; the later one replaces the earlier, which is harmless.
        wrapping = self._new(label, recipients)
        if self._on_new is not None:
            self._on_new()
        with self._lock:
            self._entries[ident] = _Entry(
                wrapping, now + self._reuse.max_age, self._reuse.max_alerts - 1
            )
            self._entries.move_to_end(ident)
            while len(self._entries) > self._reuse.max_sets:
                self._entries.popitem(last=False)
        return wrapping

    def clear(self) -> None:
        """Forget every wrapping key (the next alert to each set wraps a new one)."""
        with self._lock:
            self._entries.clear()

    def _new(self, label: Canonical, recipients: Sequence[RecipientKey]) -> Wrapping:
        key = self._randomness(DATA_KEY_LENGTH)
        if not isinstance(key, bytes) or len(key) != DATA_KEY_LENGTH:
            raise SealError("the random source returned a bad wrapping key")
        return Wrapping(key, wrap_key(self._suite, key, label, recipients))

    @staticmethod
    def _ident(label: Canonical, recipients: Sequence[RecipientKey]) -> _SetKey:
        if not all(isinstance(r, RecipientKey) for r in recipients):
            raise SealError("recipients must be RecipientKey values")
        members = tuple((r.agency_id, r.key_id, r.public_key) for r in recipients)
        return canonical.encode(label), members
