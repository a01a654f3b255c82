"""Inbound alerts for processor tests, made with the core only (Sealer, records, codec).

Good alerts are sealed by the issuer's real keys for every recipient the policy allows,
as a producer would; hostile ones are made the ways an attacker or a broken system
would: forged by another agency's key, one byte changed in transit, an issuer not in
the directory, an alert id replayed, expired, dated in the future, plain garbage.
Keys come from a callable so unit tests can use keys generated in memory and
integration tests the key files of the test network.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from corridor.acks import Acknowledgement, encode_ack, make_ack
from corridor.codec import Codec
from corridor.domain import (
    AckStatus,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    Directory,
    HandlingCode,
    LinkageToken,
    Priority,
    SealedAlert,
    Tlp,
    TrmPhase,
)
from corridor.envelope import RecipientKey, Sealer, SigningKey
from corridor.keys import AgencyKeys
from corridor.policy import decide_all
from corridor.records import alert_to_record

KeySource = Callable[[str], AgencyKeys]

#: A made-up body: processors never open it, so its content is irrelevant to them.
BODY = b"\x02sealed-test-body" + bytes(200)


@dataclass(frozen=True)
class Built:
    """One inbound record: key and value as a producer writes them, and what is in it."""

    key: bytes
    value: bytes
    metadata: AlertMetadata
    sealed: SealedAlert

    @property
    def alert_id(self) -> str:
        return self.metadata.alert_id


def token(n: int, epoch: int = 1) -> LinkageToken:
    """A linkage token as a producer would compute it (here: any 32 bytes)."""
    return LinkageToken(epoch, n.to_bytes(4, "big") + bytes(28))


def random_tokens(count: int = 3) -> tuple[LinkageToken, ...]:
    return tuple(LinkageToken(1, os.urandom(32)) for _ in range(count))


@dataclass
class AlertFactory:
    directory: Directory
    keys: KeySource
    codec: Codec = field(default_factory=Codec)
    sealer: Sealer = field(default_factory=Sealer)

    def metadata(
        self,
        issuer: str = "RO-ANITP",
        *,
        origin: str = "RO",
        destination: str = "AT",
        transit: Sequence[str] = (),
        alert_type: AlertType = AlertType.PRESUMED_VICTIM_IDENTIFIED,
        priority: Priority = Priority.URGENT,
        categories: Sequence[DataCategory] = (
            DataCategory.IDENTITY,
            DataCategory.EXPLOITATION_DETAILS,
        ),
        consent: ConsentScope = ConsentScope.ASSISTANCE,
        tokens: Sequence[LinkageToken] = (),
        created_at: datetime | None = None,
        alert_id: str | None = None,
        addressees: Sequence[str] = (),
    ) -> AlertMetadata:
        return AlertMetadata(
            alert_id=alert_id or str(uuid.uuid4()),
            case_ref=f"{issuer}-case-{uuid.uuid4().hex[:8]}",
            issuer=issuer,
            corridor=Corridor(origin, destination, tuple(transit)),
            alert_type=alert_type,
            phase=TrmPhase.IDENTIFICATION,
            priority=priority,
            handling=HandlingCode.H1,
            tlp=Tlp.AMBER,
            data_categories=frozenset(categories),
            involves_minor=False,
            best_interests_assessed=False,
            consent=consent,
            created_at=(created_at or datetime.now(UTC)).astimezone(UTC),
            addressees=tuple(addressees),
            linkage_tokens=tuple(tokens),
        )

    def allowed(self, metadata: AlertMetadata, now: datetime | None = None) -> set[str]:
        """The agencies the policy lets receive ``metadata`` (the oracle for routing)."""
        when = now or datetime.now(UTC)
        return {a.id for a, d in decide_all(metadata, self.directory, when) if d.allowed}

    def _recipients(self, metadata: AlertMetadata) -> list[RecipientKey]:
        ids = sorted(self.allowed(metadata)) or ["AT-BKA"]
        keys = []
        for agency_id in ids:
            agency = self.directory.agencies[agency_id]
            newest = max(agency.encryption_keys, key=lambda k: k.valid_from)
            keys.append(RecipientKey(agency_id, newest.key_id, newest.public_key))
        return keys

    def seal(self, metadata: AlertMetadata, *, signer: SigningKey | None = None) -> SealedAlert:
        signer = signer or self.keys(metadata.issuer).signing
        return self.sealer.seal(metadata, BODY, self._recipients(metadata), signer)

    def build(self, metadata: AlertMetadata, *, signer: SigningKey | None = None) -> Built:
        sealed = self.seal(metadata, signer=signer)
        return self.wrap(sealed)

    def wrap(self, sealed: SealedAlert) -> Built:
        value = self.codec.encode("CaseAlert", alert_to_record(sealed))
        return Built(sealed.metadata.corridor.key.encode(), value, sealed.metadata, sealed)

    def alert(self, issuer: str = "RO-ANITP", **kwargs: object) -> Built:
        return self.build(self.metadata(issuer, **kwargs))  # type: ignore[arg-type]

    # -- hostile input ---------------------------------------------------------------

    def forged(self, issuer: str = "RO-ANITP", impostor: str = "RO-IGPR") -> Built:
        """Claims ``issuer`` and its key id, but signed with ``impostor``'s private key."""
        real = self.keys(issuer).signing
        stolen = self.keys(impostor).signing
        signer = SigningKey.from_private_bytes(real.key_id, stolen.private_bytes())
        return self.build(self.metadata(issuer), signer=signer)

    def changed_byte(self, built: Built) -> bytes:
        """The record with one byte of the sealed body flipped, as if altered in transit."""
        at = built.value.index(built.sealed.body_ciphertext) + 7
        flipped = bytearray(built.value)
        flipped[at] ^= 0x01
        return bytes(flipped)

    def unknown_issuer(self) -> Built:
        """Well formed and validly signed, by an agency the directory does not know."""
        ghost = SigningKey.generate("LU-GHOST-sig-1")
        return self.build(self.metadata("LU-GHOST", origin="LU"), signer=ghost)

    def expired(self, age: timedelta) -> Built:
        return self.alert(created_at=datetime.now(UTC) - age)

    def future(self, ahead: timedelta) -> Built:
        return self.alert(created_at=datetime.now(UTC) + ahead)

    def many(self, count: int, **kwargs: object) -> list[Built]:
        """``count`` distinct alerts from one template, sealed for the same recipients."""
        template = self.metadata(**kwargs)  # type: ignore[arg-type]
        recipients = self._recipients(template)
        signer = self.keys(template.issuer).signing
        built = []
        for _ in range(count):
            metadata = replace(template, alert_id=str(uuid.uuid4()))
            sealed = self.sealer.seal(metadata, BODY, recipients, signer)
            built.append(self.wrap(sealed))
        return built

    # -- acknowledgements ------------------------------------------------------------

    def ack(
        self, built: Built, from_agency: str, status: AckStatus = AckStatus.RECEIVED
    ) -> tuple[bytes, bytes, Acknowledgement]:
        """(key, value, ack) of ``from_agency``'s signed answer to ``built``."""
        ack = make_ack(
            alert_id=built.alert_id,
            corridor=built.metadata.corridor,
            signer=self.keys(from_agency).signing,
            from_agency=from_agency,
            issuer=self.directory.agencies[built.metadata.issuer],
            status=status,
        )
        return ack.key, encode_ack(ack, self.codec), ack
