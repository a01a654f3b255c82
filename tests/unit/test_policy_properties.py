"""Properties of the access policy over generated directories and alerts.

Each property states a guarantee of DESIGN.md 3.5 directly against the directory, not
through the policy's own index, so a bug in the index cannot hide a bug in the rules.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.domain import (
    PERSONAL_DATA_CATEGORIES,
    Agency,
    AgencyKind,
    AgencyStatus,
    Agreement,
    AgreementStatus,
    AlertMetadata,
    AlertType,
    ConsentScope,
    DataCategory,
    Directory,
    HandlingCode,
    Tlp,
    TrmPhase,
)
from corridor.policy import Decision, PolicyIndex, Reason, decide
from tests.unit.policy_builders import NOW, agency, agreement, alert, directory

COUNTRIES = ("RO", "AT", "DE")
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)
T = TypeVar("T")


def mostly(common: T, *rare: T, percent: int = 85) -> st.SearchStrategy[T]:
    """``common`` most of the time (and when shrinking), otherwise one of ``rare``.

    The generators lean towards what allows (active agencies, agreements in force,
    wide scopes, few restrictions), so every property sees many allowed decisions
    as well as every kind of denial.
    """
    return st.integers(0, 99).map(lambda i: common if i < percent else rare[i % len(rare)])


ALL_CATEGORIES = frozenset(DataCategory)
WIDE_SCOPE = dict.fromkeys(AgencyKind, ALL_CATEGORIES)
KINDS = st.sampled_from(AgencyKind)
# A few categories, personal and not, so that partial overlaps with scopes are common.
CATEGORY_POOL = st.sampled_from(
    (
        DataCategory.IDENTITY,
        DataCategory.HEALTH,
        DataCategory.SUSPECT_INFORMATION,
        DataCategory.CRIMINAL_INTELLIGENCE,
    )
)
CATEGORY_SETS = st.frozensets(CATEGORY_POOL)
TYPE_SETS = st.just(frozenset(AlertType)) | st.frozensets(st.sampled_from(AlertType), min_size=1)
PARTY_SETS = st.just(frozenset(COUNTRIES)) | st.sets(st.sampled_from(COUNTRIES), min_size=2)
AGREEMENT_STATUS = mostly(
    AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED, AgreementStatus.EXPIRED
)
AGENCY_STATUS = mostly(
    AgencyStatus.ACTIVE, AgencyStatus.SUSPENDED, AgencyStatus.REVOKED, percent=92
)
COUNTRY = st.sampled_from(COUNTRIES)


@st.composite
def scopes(draw: st.DrawFn) -> dict[AgencyKind, frozenset[DataCategory]]:
    """Per kind: mostly every category, sometimes a few, now and then the kind left out."""
    scope: dict[AgencyKind, frozenset[DataCategory]] = {}
    for kind in AgencyKind:
        choice = draw(st.integers(0, 9))
        if choice < 9:
            scope[kind] = ALL_CATEGORIES if choice < 5 else draw(CATEGORY_SETS)
    return scope


@st.composite
def agencies(draw: st.DrawFn) -> list[Agency]:
    found: dict[str, Agency] = {}
    for index in range(draw(st.integers(3, 8))):
        agency_id = f"{draw(COUNTRY)}-A{index}"
        found[agency_id] = agency(
            agency_id,
            draw(KINDS),
            cleared=draw(mostly(True, False, percent=70)),
            status=draw(AGENCY_STATUS),
        )
    return list(found.values())


@st.composite
def agreements(draw: st.DrawFn) -> list[Agreement]:
    found = []
    for index in range(draw(mostly(1, 0, 2, 3, percent=50))):
        start = NOW - timedelta(days=draw(mostly(100, -5, 0)))
        ends = draw(mostly(None, 0, 1, 30))
        found.append(
            agreement(
                f"AG-{index}",
                draw(PARTY_SETS),
                alert_types=draw(TYPE_SETS),
                scope=draw(st.just(WIDE_SCOPE) | scopes()),
                status=draw(AGREEMENT_STATUS),
                valid_from=start,
                valid_to=None if ends is None else max(NOW + timedelta(days=ends), start),
                child_safeguards=draw(mostly(True, False)),
            )
        )
    return found


@st.composite
def cases(draw: st.DrawFn) -> tuple[Directory, AlertMetadata]:
    members = draw(agencies())
    network = directory(members, draw(agreements()))
    ids = [a.id for a in members]
    addressees = st.lists(st.sampled_from(ids), min_size=1, max_size=3).map(tuple)
    metadata = alert(
        issuer=draw(st.sampled_from(ids)),
        origin=draw(COUNTRY),
        destination=draw(COUNTRY),
        transit=draw(st.lists(COUNTRY, max_size=2).map(tuple)),
        alert_type=draw(mostly(AlertType.RETURN_REQUEST, *AlertType, percent=20)),
        phase=draw(mostly(TrmPhase.RETURN_AND_SOCIAL_INCLUSION, *TrmPhase, percent=20)),
        categories=draw(st.frozensets(CATEGORY_POOL, max_size=3)),
        tlp=draw(mostly(Tlp.AMBER, Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER_STRICT, Tlp.RED, percent=60)),
        handling=draw(mostly(HandlingCode.H1, HandlingCode.H0, HandlingCode.H2, HandlingCode.H3)),
        involves_minor=draw(st.booleans()),
        best_interests_assessed=draw(st.booleans()),
        consent=draw(mostly(ConsentScope.FULL, *ConsentScope, percent=50)),
        addressees=draw(st.just(()) | st.just(()) | addressees),
    )
    return network, metadata


def decisions(network: Directory, metadata: AlertMetadata) -> list[tuple[Agency, Decision]]:
    return [(a, decide(metadata, a, network, NOW)) for a in network.agencies.values()]


def covering(network: Directory, metadata: AlertMetadata, recipient: Agency) -> list[Agreement]:
    """Agreements that by themselves authorise this exchange, read straight off the rules."""
    issuer = network.agencies[metadata.issuer]
    return [
        a
        for a in network.agreements.values()
        if a.in_force_at(NOW)
        and {issuer.country, recipient.country} <= a.parties
        and metadata.alert_type in a.alert_types
        and recipient.kind in a.scope
        and metadata.data_categories <= a.scope[recipient.kind]
        and (a.child_safeguards or not metadata.involves_minor)
    ]


def consent_allows(metadata: AlertMetadata, recipient: Agency) -> bool:
    if metadata.data_categories.isdisjoint(PERSONAL_DATA_CATEGORIES):
        return True
    if recipient.kind in {AgencyKind.LAW_ENFORCEMENT, AgencyKind.PROSECUTION}:
        return True
    if metadata.involves_minor and recipient.kind is AgencyKind.CHILD_PROTECTION:
        return True
    if metadata.consent is ConsentScope.FULL:
        return True
    return metadata.consent is ConsentScope.ASSISTANCE and recipient.kind in {
        AgencyKind.NRM_COORDINATOR,
        AgencyKind.SERVICE_PROVIDER,
        AgencyKind.CHILD_PROTECTION,
        AgencyKind.CONSULAR,
    }


def reference_allows(network: Directory, metadata: AlertMetadata, recipient: Agency) -> bool:
    """The documented rules written out plainly, as an independent oracle."""
    issuer = network.agencies[metadata.issuer]
    restricted = metadata.tlp is Tlp.RED or metadata.handling is HandlingCode.H2
    returning = (
        metadata.phase is TrmPhase.RETURN_AND_SOCIAL_INCLUSION
        or metadata.alert_type is AlertType.RETURN_REQUEST
    )
    return (
        issuer.status is AgencyStatus.ACTIVE
        and recipient.status is AgencyStatus.ACTIVE
        and recipient.id != issuer.id
        and (
            recipient.id in metadata.addressees
            if metadata.addressees or restricted
            else recipient.country in metadata.corridor.countries
        )
        and bool(covering(network, metadata, recipient))
        and (recipient.cleared_for_children or not metadata.involves_minor)
        and (metadata.best_interests_assessed or not (metadata.involves_minor and returning))
        and consent_allows(metadata, recipient)
    )


@PROPERTY_SETTINGS
@given(cases())
def test_allowed_only_under_an_agreement_in_force_covering_everything(
    case: tuple[Directory, AlertMetadata],
) -> None:
    network, metadata = case
    for recipient, decision in decisions(network, metadata):
        if not decision.allowed:
            continue
        chosen = network.agreements[decision.agreement_id or ""]
        assert chosen in covering(network, metadata, recipient)


@PROPERTY_SETTINGS
@given(cases())
def test_red_and_h2_never_go_beyond_addressees(case: tuple[Directory, AlertMetadata]) -> None:
    network, metadata = case
    for tlp, handling in ((Tlp.RED, metadata.handling), (metadata.tlp, HandlingCode.H2)):
        restricted = replace(metadata, tlp=tlp, handling=handling)
        for recipient, decision in decisions(network, restricted):
            if decision.allowed:
                assert recipient.id in restricted.addressees


@PROPERTY_SETTINGS
@given(cases())
def test_minors_only_reach_agencies_cleared_for_children(
    case: tuple[Directory, AlertMetadata],
) -> None:
    network, metadata = case
    minor = replace(metadata, involves_minor=True)
    for recipient, decision in decisions(network, minor):
        if decision.allowed:
            assert recipient.cleared_for_children
            assert network.agreements[decision.agreement_id or ""].child_safeguards


@PROPERTY_SETTINGS
@given(cases())
def test_service_providers_never_get_personal_data_without_consent(
    case: tuple[Directory, AlertMetadata],
) -> None:
    network, metadata = case
    for recipient, decision in decisions(network, metadata):
        personal = not metadata.data_categories.isdisjoint(PERSONAL_DATA_CATEGORIES)
        if decision.allowed and personal and recipient.kind is AgencyKind.SERVICE_PROVIDER:
            assert metadata.consent in {ConsentScope.ASSISTANCE, ConsentScope.FULL}


@PROPERTY_SETTINGS
@given(cases())
def test_policy_agrees_with_the_plain_reading_of_the_rules(
    case: tuple[Directory, AlertMetadata],
) -> None:
    network, metadata = case
    for recipient, decision in decisions(network, metadata):
        assert decision.allowed is reference_allows(network, metadata, recipient)
        assert (decision.reason is Reason.ALLOWED) is decision.allowed


@PROPERTY_SETTINGS
@given(cases())
def test_decisions_are_pure(case: tuple[Directory, AlertMetadata]) -> None:
    network, metadata = case
    fresh = PolicyIndex(network)
    for recipient, decision in decisions(network, metadata):
        assert fresh.decide(metadata, recipient, NOW) == decision
        assert decide(metadata, recipient, network, NOW) == decision


def test_recipient_rules_exhaustively_match_the_plain_reading() -> None:
    # Every combination of kind, clearance, consent, minor, return and assessment, under
    # one wide agreement: small enough to enumerate, so nothing is left to chance.
    for kind, cleared, consent, minor, returning, assessed, personal in itertools.product(
        AgencyKind, (True, False), ConsentScope, (True, False), (True, False), (True, False),
        (True, False),
    ):  # fmt: skip
        recipient = agency("AT-R", kind, cleared=cleared)
        network = directory([agency("RO-I"), recipient], [agreement("RO-AT", {"RO", "AT"})])
        metadata = alert(
            issuer="RO-I",
            alert_type=AlertType.RETURN_REQUEST if returning else AlertType.REFERRAL_REQUEST,
            categories={DataCategory.HEALTH if personal else DataCategory.SUSPECT_INFORMATION},
            involves_minor=minor,
            best_interests_assessed=assessed,
            consent=consent,
        )
        decision = decide(metadata, recipient, network, NOW)
        assert decision.allowed is reference_allows(network, metadata, recipient), decision


def _instants(network: Directory) -> list[datetime]:
    """Now, and each agreement boundary with the microseconds either side of it."""
    edges = [NOW]
    for agreement_ in network.agreements.values():
        for edge in (agreement_.valid_from, agreement_.valid_to):
            if edge is not None:
                edges += [edge - timedelta(microseconds=1), edge, edge + timedelta(microseconds=1)]
    return edges


@PROPERTY_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_remembered_decisions_equal_fresh_ones_at_every_boundary(
    case: tuple[Directory, AlertMetadata], rnd: Any
) -> None:
    """One index asked again and again, in any order of times and variants of the alert,
    answers exactly as each decision made from scratch."""
    network, metadata = case
    remembering = PolicyIndex(network)
    variants = [
        metadata,
        replace(metadata, tlp=Tlp.RED),
        replace(metadata, involves_minor=not metadata.involves_minor),
        replace(metadata, addressees=()),
    ]
    asks = [(v, at) for v in variants for at in _instants(network)] * 2
    rnd.shuffle(asks)
    for variant, at in asks:
        scratch = PolicyIndex(network)
        expected = [
            (a, scratch.decide(variant, a, at)) for a in scratch.candidate_recipients(variant)
        ]
        assert remembering.decide_all(variant, at) == expected
