"""Small builders for directories and alerts, shared by the policy tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from corridor.domain import (
    Agency,
    AgencyKind,
    AgencyStatus,
    Agreement,
    AgreementKind,
    AgreementStatus,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    Directory,
    HandlingCode,
    Priority,
    PublicKey,
    Tlp,
    TrmPhase,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALL_KINDS = frozenset(AgencyKind)
ALL_CATEGORIES = frozenset(DataCategory)
ALL_TYPES = frozenset(AlertType)


def public_key(label: str) -> PublicKey:
    return PublicKey(f"{label}-k1", label.encode().ljust(32, b"\0")[:32], NOW - timedelta(days=400))


def agency(
    agency_id: str,
    kind: AgencyKind = AgencyKind.LAW_ENFORCEMENT,
    *,
    cleared: bool = True,
    status: AgencyStatus = AgencyStatus.ACTIVE,
) -> Agency:
    return Agency(
        id=agency_id,
        name=f"{agency_id} (test)",
        country=agency_id[:2],
        kind=kind,
        cleared_for_children=cleared,
        signing_keys=(public_key(agency_id + "-sig"),),
        encryption_keys=(public_key(agency_id + "-enc"),),
        status=status,
    )


def agreement(
    agreement_id: str,
    parties: Iterable[str],
    *,
    alert_types: Iterable[AlertType] = ALL_TYPES,
    scope: dict[AgencyKind, frozenset[DataCategory]] | None = None,
    status: AgreementStatus = AgreementStatus.ACTIVE,
    valid_from: datetime = NOW - timedelta(days=365),
    valid_to: datetime | None = None,
    child_safeguards: bool = True,
) -> Agreement:
    party_set = frozenset(parties)
    return Agreement(
        id=agreement_id,
        title=f"{agreement_id} (test)",
        kind=AgreementKind.BILATERAL if len(party_set) == 2 else AgreementKind.MULTILATERAL,
        parties=party_set,
        alert_types=frozenset(alert_types),
        scope=MappingProxyType(
            scope if scope is not None else dict.fromkeys(ALL_KINDS, ALL_CATEGORIES)
        ),
        valid_from=valid_from,
        valid_to=valid_to,
        status=status,
        child_safeguards=child_safeguards,
        response_deadlines=MappingProxyType({Priority.URGENT: timedelta(hours=24)}),
    )


def directory(agencies: Iterable[Agency], agreements: Iterable[Agreement]) -> Directory:
    return Directory(
        version=1,
        issued_at=NOW - timedelta(days=1),
        agencies=MappingProxyType({a.id: a for a in agencies}),
        agreements=MappingProxyType({a.id: a for a in agreements}),
    )


def alert(
    *,
    issuer: str = "RO-POL",
    origin: str = "RO",
    destination: str = "AT",
    transit: tuple[str, ...] = (),
    alert_type: AlertType = AlertType.PRESUMED_VICTIM_IDENTIFIED,
    phase: TrmPhase = TrmPhase.IDENTIFICATION,
    categories: Iterable[DataCategory] = (DataCategory.IDENTITY,),
    tlp: Tlp = Tlp.AMBER,
    handling: HandlingCode = HandlingCode.H1,
    involves_minor: bool = False,
    best_interests_assessed: bool = False,
    consent: ConsentScope = ConsentScope.FULL,
    addressees: tuple[str, ...] = (),
) -> AlertMetadata:
    return AlertMetadata(
        alert_id="00000000-0000-4000-8000-000000000001",
        case_ref="case-1",
        issuer=issuer,
        corridor=Corridor(origin, destination, transit),
        alert_type=alert_type,
        phase=phase,
        priority=Priority.URGENT,
        handling=handling,
        tlp=tlp,
        data_categories=frozenset(categories),
        involves_minor=involves_minor,
        best_interests_assessed=best_interests_assessed,
        consent=consent,
        created_at=NOW,
        addressees=addressees,
    )
