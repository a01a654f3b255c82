"""Hostile inbound records, made the ways an attacker or a broken system would make them.

Each :class:`Hostile` carries the dead-letter reasons it may end with: one exact reason
for the cryptographic attacks (a forgery must be called a forgery), any reason from
the processors' catalogue for the shapeless ones (random, truncated, bit-flipped
bytes), but never ``PROCESSING_FAILED``, which means the processor hit a bug.
"""

from __future__ import annotations

import dataclasses
import random
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from corridor.codec import Codec
from corridor.domain import AlertType, ConsentScope, DataCategory
from corridor.envelope import SigningKey
from corridor.keys import AgencyKeys
from processors.dead_letters import DeadLetterReason as R
from tests.processor_factories import AlertFactory, Built

ANY = frozenset(reason.value for reason in R if reason is not R.PROCESSING_FAILED)
#: An alert suite a future version might name; no reader of today supports it.
FUTURE_SUITE = "CORRIDOR-2:MLKEM768X25519-HKDF-SHA256-AES256GCM:AES256GCM:MLDSA65"
#: The largest inbound records the test sends in bulk: well under every size limit
#: once wrapped in a dead letter (see test_an_oversized_record_is_dead_lettered).
LARGE = 900_000


@dataclass(frozen=True)
class Hostile:
    kind: str
    key: bytes | None
    value: bytes | None
    reasons: frozenset[str] = ANY


def one(reason: R) -> frozenset[str]:
    return frozenset({reason.value})


def md_alert(factory: AlertFactory, issuer: str, **kwargs: object) -> Built:
    """An MD>UA alert of ``issuer`` (MD-CCTP or MD-NRS), routed to UA under the JIT."""
    metadata = factory.metadata(
        issuer,
        origin="MD",
        destination="UA",
        alert_type=AlertType.SUSPECT_INFORMATION,
        categories=(DataCategory.SUSPECT_INFORMATION, DataCategory.CRIMINAL_INTELLIGENCE),
        consent=ConsentScope.NONE,
    )
    return factory.build(metadata, **kwargs)  # type: ignore[arg-type]


class HostileFactory:
    """Hostile records around genuine alerts of RO-ANITP (RO>AT)."""

    def __init__(self, factory: AlertFactory, codec: Codec, seed: int) -> None:
        self.factory = factory
        self.codec = codec
        self.rng = random.Random(seed)
        self._templates = [factory.alert() for _ in range(4)]  # sealed, never sent

    def _template(self) -> Built:
        return self.rng.choice(self._templates)

    def _bytes(self, size: int) -> bytes:
        return self.rng.randbytes(size)

    def _many(self, count: int, make: Callable[[], Hostile]) -> list[Hostile]:
        return [make() for _ in range(count)]

    def shapeless(self) -> list[Hostile]:
        """Random, framed-random, truncated, bit-flipped, empty, null and large records."""
        caseal = b"\xc3\x01" + self.codec.fingerprint("CaseAlert")
        keys: list[bytes | None] = [b"RO>AT", b"", None, b"\xff\xfe", b"RO>AT" * 50]

        def random_bytes() -> Hostile:
            value = self._bytes(self.rng.randint(1, 4096))
            return Hostile("random bytes", self.rng.choice(keys), value)

        def framed() -> Hostile:
            value = caseal + self._bytes(self.rng.randint(0, 2048))
            return Hostile("random body behind a CaseAlert header", b"RO>AT", value)

        def truncated() -> Hostile:
            built = self._template()
            cut = self.rng.randint(1, len(built.value) - 1)
            return Hostile("truncated genuine alert", built.key, built.value[:cut])

        def flipped() -> Hostile:
            built = self._template()
            bit = self.rng.randrange(len(built.value) * 8)
            value = bytearray(built.value)
            value[bit // 8] ^= 1 << (bit % 8)
            return Hostile("genuine alert, one bit flipped", built.key, bytes(value))

        def large() -> Hostile:
            return Hostile("large random record (900 kB)", b"RO>AT", self._bytes(LARGE))

        undecodable = one(R.UNDECODABLE)
        return [
            *self._many(60, random_bytes),
            *self._many(30, framed),
            *self._many(40, truncated),
            *self._many(60, flipped),
            *self._many(3, large),
            Hostile("empty value", b"RO>AT", b"", undecodable),
            Hostile("empty value", None, b"", undecodable),
            Hostile("null value (tombstone)", b"RO>AT", None, undecodable),
        ]

    def mislabelled(self) -> list[Hostile]:
        """Wrong schema ids and fingerprints, other events on the alerts topic."""

        def schema_id() -> Hostile:
            built = self._template()
            framing = b"\x00" + struct.pack(">I", self.rng.randint(1, 2**31 - 1))
            return Hostile("unknown schema id", built.key, framing + built.value[10:])

        def fingerprint() -> Hostile:
            built = self._template()
            framing = b"\xc3\x01" + self._bytes(8)
            return Hostile("unknown fingerprint", built.key, framing + built.value[10:])

        def other_fingerprint() -> Hostile:
            built = self._template()
            name = self.rng.choice(["Acknowledgement", "AuditRecord", "DeadLetter", "LinkNotice"])
            framing = b"\xc3\x01" + self.codec.fingerprint(name)
            return Hostile(
                "alert behind another event's fingerprint", built.key, framing + built.value[10:]
            )

        def acknowledgement() -> Hostile:
            key, value, _ = self.factory.ack(self._template(), "AT-BKA")
            return Hostile(
                "an acknowledgement on the alerts topic", key, value, one(R.UNEXPECTED_EVENT)
            )

        undecodable = one(R.UNDECODABLE)
        return [
            *(dataclasses.replace(h, reasons=undecodable) for h in self._many(10, schema_id)),
            *(dataclasses.replace(h, reasons=undecodable) for h in self._many(10, fingerprint)),
            *self._many(8, other_fingerprint),
            *self._many(5, acknowledgement),
        ]

    def attacks(self) -> tuple[list[Built], list[Hostile]]:
        """Forgeries and replays; returns the genuine originals to send first, too."""
        f = self.factory
        originals = [f.alert() for _ in range(20)]
        replays = [
            Hostile("replayed genuine alert", b.key, b.value, one(R.DUPLICATE)) for b in originals
        ]
        reused = [f.build(f.metadata("RO-IGPR", alert_id=b.alert_id)) for b in originals[:5]]
        hostile = [
            *replays,
            *(
                Hostile("alert id of another issuer", b.key, b.value, one(R.ALERT_ID_REUSED))
                for b in reused
            ),
            *(
                Hostile("forged signature", b.key, b.value, one(R.BAD_SIGNATURE))
                for b in (f.forged() for _ in range(20))
            ),
            *(
                Hostile("altered in transit", b.key, f.changed_byte(b), one(R.BAD_SIGNATURE))
                for b in (f.alert() for _ in range(10))
            ),
            *(
                Hostile("issuer not in the directory", b.key, b.value, one(R.UNKNOWN_ISSUER))
                for b in (f.unknown_issuer() for _ in range(5))
            ),
            *(
                Hostile("key is not the corridor", b"BG>AT", b.value, one(R.KEY_MISMATCH))
                for b in (f.alert() for _ in range(5))
            ),
            *(
                Hostile("expired", b.key, b.value, one(R.EXPIRED))
                for b in (f.expired(timedelta(days=8)) for _ in range(5))
            ),
            *(
                Hostile("created in the future", b.key, b.value, one(R.CREATED_IN_FUTURE))
                for b in (f.future(timedelta(hours=2)) for _ in range(5))
            ),
            *(self._suite() for _ in range(10)),
        ]
        return originals, hostile

    def _suite(self) -> Hostile:
        sealed = dataclasses.replace(self.factory.seal(self.factory.metadata()), suite=FUTURE_SUITE)
        built = self.factory.wrap(sealed)
        return Hostile("unsupported suite id", built.key, built.value, one(R.UNSUPPORTED_SUITE))

    def signed_by(
        self, keys: AgencyKeys | SigningKey, issuer: str, count: int, kind: str, reason: R
    ) -> list[Hostile]:
        """``count`` MD>UA alerts claiming ``issuer``, signed with ``keys``."""
        signer = keys if isinstance(keys, SigningKey) else keys.signing
        built: Iterable[Built] = (
            md_alert(self.factory, issuer, signer=signer) for _ in range(count)
        )
        return [Hostile(kind, b.key, b.value, one(reason)) for b in built]
