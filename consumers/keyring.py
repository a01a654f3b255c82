"""The agency's private keys as a running consumer holds them.

A key rotation writes new key files while the consumer runs; the directory then lists
the new encryption key and issuers seal to it. The consumer notices that a record names
one of its agency's keys it does not hold and reads its key files again, so a rotation
needs no restart to keep alerts readable. Reads are spaced out (``min_interval``) so
records naming an unknown key cannot make the consumer read its key files in a loop.

Acknowledgements are signed with the newest signing key held that the directory
publishes as valid: the key the consumer started with until the directory lists the
new one, then the new one, so no acknowledgement is signed with a key the processors
would refuse while a valid one is at hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from corridor.domain import Directory, WrappedKey
from corridor.envelope.keys import EncryptionKey, SigningKey
from corridor.keys import AgencyKeys, KeyStoreError, signing_key_published
from corridor.logs import log_event

__all__ = ["Keyring"]

LOG = logging.getLogger("corridor.consumer.keys")


class Keyring:
    """Finds the private key a sealed record was wrapped for, reloading on a miss."""

    def __init__(
        self,
        keys: AgencyKeys,
        reload: Callable[[], AgencyKeys] | None = None,
        *,
        min_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._reload = reload
        self._min_interval = min_interval
        self._clock = clock
        self._last_reload: float | None = None
        #: Every signing key held since the start, newest first.
        self._signing: list[SigningKey] = [keys.signing]

    @property
    def keys(self) -> AgencyKeys:
        return self._keys

    def signing_key(self, directory: Directory, when: datetime | None = None) -> SigningKey:
        """The newest signing key held that ``directory`` publishes as valid at ``when``
        (now by default); the newest held if it publishes none of them."""
        at = when if when is not None else datetime.now(UTC)
        for key in self._signing:
            if signing_key_published(directory, self._keys.agency_id, key, at):
                return key
        return self._signing[0]

    def key_for(self, recipients: Iterable[WrappedKey]) -> EncryptionKey | None:
        """Our key for the first entry wrapped to us that we hold; None if none is."""
        ours = [w.key_id for w in recipients if w.agency_id == self._keys.agency_id]
        if not ours:
            return None
        for key_id in ours:
            key = self._keys.encryption_key(key_id)
            if key is not None:
                return key
        if not self._reloaded():
            return None
        return next(
            (k for k in map(self._keys.encryption_key, ours) if k is not None),
            None,
        )

    def _reloaded(self) -> bool:
        now = self._clock()
        if self._reload is None or (
            self._last_reload is not None and now - self._last_reload < self._min_interval
        ):
            return False
        self._last_reload = now
        try:
            fresh = self._reload()
        except KeyStoreError as exc:
            log_event(LOG, "keys_reload_failed", level=logging.WARNING, error=str(exc))
            return False
        if fresh.agency_id != self._keys.agency_id:
            log_event(LOG, "keys_reload_failed", level=logging.WARNING, error="another agency")
            return False
        before = {self._keys.encryption.key_id, *(r.key.key_id for r in self._keys.retired)}
        self._keys = fresh
        if all(k.key_id != fresh.signing.key_id for k in self._signing):
            self._signing.insert(0, fresh.signing)
        held = [fresh.encryption.key_id, *(r.key.key_id for r in fresh.retired)]
        log_event(
            LOG,
            "keys_reloaded",
            agency=fresh.agency_id,
            encryption_keys=held,
            new=[k for k in held if k not in before],
        )
        return True
