"""The vocabulary of Corridor: countries, agencies, agreements and case-alert metadata.

These types are shared by every layer (codec, envelope, directory, policy, components),
so they hold data only: no I/O, no crypto, no Kafka. The enumerations mirror the Avro
schemas in ``schemas/``; a test keeps the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
AGENCY_ID = re.compile(r"^[A-Z]{2}-[A-Z0-9][A-Z0-9_-]{0,30}$")
CORRIDOR_SEPARATOR = ">"


class AlertType(StrEnum):
    PRESUMED_VICTIM_IDENTIFIED = "PRESUMED_VICTIM_IDENTIFIED"
    REFERRAL_REQUEST = "REFERRAL_REQUEST"
    RISK_ASSESSMENT = "RISK_ASSESSMENT"
    RETURN_REQUEST = "RETURN_REQUEST"
    ASSISTANCE_UPDATE = "ASSISTANCE_UPDATE"
    PROCEEDINGS_UPDATE = "PROCEEDINGS_UPDATE"
    SUSPECT_INFORMATION = "SUSPECT_INFORMATION"
    ROUTE_INTELLIGENCE = "ROUTE_INTELLIGENCE"
    CASE_CLOSED = "CASE_CLOSED"
    ERASURE_REQUEST = "ERASURE_REQUEST"


class TrmPhase(StrEnum):
    """The five phases of a Transnational Referral Mechanism."""

    IDENTIFICATION = "IDENTIFICATION"
    FIRST_ASSISTANCE_AND_PROTECTION = "FIRST_ASSISTANCE_AND_PROTECTION"
    LONG_TERM_ASSISTANCE_AND_SOCIAL_INCLUSION = "LONG_TERM_ASSISTANCE_AND_SOCIAL_INCLUSION"
    RETURN_AND_SOCIAL_INCLUSION = "RETURN_AND_SOCIAL_INCLUSION"
    CRIMINAL_AND_CIVIL_PROCEEDINGS = "CRIMINAL_AND_CIVIL_PROCEEDINGS"


class Priority(StrEnum):
    ROUTINE = "ROUTINE"
    URGENT = "URGENT"
    IMMEDIATE = "IMMEDIATE"


class HandlingCode(StrEnum):
    """Law-enforcement handling codes: H2 restricts onward sharing to named addressees."""

    H0 = "H0"
    H1 = "H1"
    H2 = "H2"
    H3 = "H3"


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER_STRICT"
    RED = "RED"


class DataCategory(StrEnum):
    IDENTITY = "IDENTITY"
    CONTACT = "CONTACT"
    TRAVEL_DOCUMENTS = "TRAVEL_DOCUMENTS"
    LOCATION = "LOCATION"
    HEALTH = "HEALTH"
    ASSISTANCE_NEEDS = "ASSISTANCE_NEEDS"
    EXPLOITATION_DETAILS = "EXPLOITATION_DETAILS"
    SUSPECT_INFORMATION = "SUSPECT_INFORMATION"
    CRIMINAL_INTELLIGENCE = "CRIMINAL_INTELLIGENCE"
    PROCEEDINGS = "PROCEEDINGS"


#: Categories that identify or locate the victim: they need consent for service providers.
PERSONAL_DATA_CATEGORIES: frozenset[DataCategory] = frozenset(
    {
        DataCategory.IDENTITY,
        DataCategory.CONTACT,
        DataCategory.TRAVEL_DOCUMENTS,
        DataCategory.LOCATION,
        DataCategory.HEALTH,
        DataCategory.ASSISTANCE_NEEDS,
        DataCategory.EXPLOITATION_DETAILS,
    }
)


class ConsentScope(StrEnum):
    NONE = "NONE"
    LAW_ENFORCEMENT_ONLY = "LAW_ENFORCEMENT_ONLY"
    ASSISTANCE = "ASSISTANCE"
    FULL = "FULL"


class AgencyKind(StrEnum):
    LAW_ENFORCEMENT = "LAW_ENFORCEMENT"
    PROSECUTION = "PROSECUTION"
    NRM_COORDINATOR = "NRM_COORDINATOR"
    SERVICE_PROVIDER = "SERVICE_PROVIDER"
    CHILD_PROTECTION = "CHILD_PROTECTION"
    LABOUR_INSPECTION = "LABOUR_INSPECTION"
    MIGRATION_AUTHORITY = "MIGRATION_AUTHORITY"
    CONSULAR = "CONSULAR"


class AgencyStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


class AgreementKind(StrEnum):
    BILATERAL = "BILATERAL"
    MULTILATERAL = "MULTILATERAL"
    REGIONAL_TRM = "REGIONAL_TRM"


class AgreementStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"


class AckStatus(StrEnum):
    RECEIVED = "RECEIVED"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    NEED_INFO = "NEED_INFO"


@dataclass(frozen=True, slots=True)
class Corridor:
    """Origin, destination and transit countries; ``key`` is the Kafka partition key."""

    origin: str
    destination: str
    transit: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.origin}{CORRIDOR_SEPARATOR}{self.destination}"

    @property
    def countries(self) -> frozenset[str]:
        return frozenset((self.origin, self.destination, *self.transit))


@dataclass(frozen=True, slots=True)
class LinkageToken:
    """A keyed hash of one normalised identity attribute under a linkage-key epoch."""

    epoch: int
    value: bytes


@dataclass(frozen=True, slots=True)
class AlertMetadata:
    """The clear part of a case alert: everything routing and policy need, nothing personal."""

    alert_id: str
    case_ref: str
    issuer: str
    corridor: Corridor
    alert_type: AlertType
    phase: TrmPhase
    priority: Priority
    handling: HandlingCode
    tlp: Tlp
    data_categories: frozenset[DataCategory]
    involves_minor: bool
    best_interests_assessed: bool
    consent: ConsentScope
    created_at: datetime
    addressees: tuple[str, ...] = ()
    linkage_tokens: tuple[LinkageToken, ...] = ()


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One public key of an agency, identified by ``key_id`` so keys can rotate."""

    key_id: str
    public_key: bytes
    valid_from: datetime
    valid_to: datetime | None = None

    def valid_at(self, when: datetime) -> bool:
        return self.valid_from <= when and (self.valid_to is None or when < self.valid_to)


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    country: str
    kind: AgencyKind
    cleared_for_children: bool
    signing_keys: tuple[PublicKey, ...]
    encryption_keys: tuple[PublicKey, ...]
    status: AgencyStatus = AgencyStatus.ACTIVE

    def signing_key(self, key_id: str) -> PublicKey | None:
        return next((k for k in self.signing_keys if k.key_id == key_id), None)

    def publishes_signing_key(self, key_id: str, public: bytes, when: datetime) -> bool:
        """Whether what this key signs at ``when`` verifies against this entry."""
        key = self.signing_key(key_id)
        return key is not None and key.public_key == public and key.valid_at(when)

    def encryption_key_at(self, when: datetime) -> PublicKey | None:
        """The newest encryption key valid at ``when``, the one senders should seal for."""
        valid = [k for k in self.encryption_keys if k.valid_at(when)]
        return max(valid, key=lambda k: k.valid_from) if valid else None


@dataclass(frozen=True, slots=True)
class Agreement:
    """A cooperation agreement; ``scope`` maps each agency kind to the categories it may get."""

    id: str
    title: str
    kind: AgreementKind
    parties: frozenset[str]
    alert_types: frozenset[AlertType]
    scope: Mapping[AgencyKind, frozenset[DataCategory]]
    valid_from: datetime
    valid_to: datetime | None
    status: AgreementStatus
    child_safeguards: bool = True
    response_deadlines: Mapping[Priority, timedelta] = field(default_factory=dict)
    retention_days: int = 365

    def in_force_at(self, when: datetime) -> bool:
        return (
            self.status is AgreementStatus.ACTIVE
            and self.valid_from <= when
            and (self.valid_to is None or when < self.valid_to)
        )


@dataclass(frozen=True, slots=True)
class Directory:
    """Agencies and agreements as the directory authority published them."""

    version: int
    issued_at: datetime
    agencies: Mapping[str, Agency]
    agreements: Mapping[str, Agreement]


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """The alert's data key, HPKE-sealed to one recipient's encryption key."""

    agency_id: str
    key_id: str
    enc: bytes
    wrapped_key: bytes


@dataclass(frozen=True, slots=True)
class SealedAlert:
    """A case alert as it travels: clear metadata, sealed body, issuer's signature.

    ``suite`` names the algorithms so they can change without breaking old alerts.
    """

    suite: str
    metadata: AlertMetadata
    body_nonce: bytes
    body_ciphertext: bytes
    recipients: tuple[WrappedKey, ...]
    signer_key_id: str
    signature: bytes
