"""Example-based tests of the access policy: one or more per reason code, and the order."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from corridor.directory import load_directory
from corridor.domain import (
    Agency,
    AgencyKind,
    AgencyStatus,
    AgreementStatus,
    AlertType,
    ConsentScope,
    DataCategory,
    Directory,
    HandlingCode,
    Tlp,
    TrmPhase,
)
from corridor.policy import (
    POLICY_VERSION,
    Decision,
    PolicyError,
    PolicyIndex,
    Reason,
    candidate_recipients,
    decide,
    decide_all,
    policy_index,
)
from tests.unit.policy_builders import NOW, agency, agreement, alert, directory

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "directory.json"

RO_POL = agency("RO-POL")
RO_NRM = agency("RO-NRM", AgencyKind.NRM_COORDINATOR)
AT_POL = agency("AT-POL")
AT_SP = agency("AT-SP", AgencyKind.SERVICE_PROVIDER)
AT_SP_UNCLEARED = agency("AT-SP2", AgencyKind.SERVICE_PROVIDER, cleared=False)
AT_CP = agency("AT-CP", AgencyKind.CHILD_PROTECTION)
AT_MIG = agency("AT-MIG", AgencyKind.MIGRATION_AUTHORITY)
AT_PROS = agency("AT-PROS", AgencyKind.PROSECUTION)
AT_NRM = agency("AT-NRM", AgencyKind.NRM_COORDINATOR)
AT_CONS = agency("AT-CONS", AgencyKind.CONSULAR)
IT_POL = agency("IT-POL")
AGENCIES: tuple[Agency, ...] = (
    RO_POL,
    RO_NRM,
    AT_POL,
    AT_SP,
    AT_SP_UNCLEARED,
    AT_CP,
    AT_MIG,
    AT_PROS,
    AT_NRM,
    AT_CONS,
    IT_POL,
)
RO_AT = agreement("RO-AT", {"RO", "AT"})
NETWORK = directory(AGENCIES, [RO_AT])


def check(decision: Decision, reason: Reason, agreement_id: str | None = None) -> None:
    assert decision.reason is reason
    assert decision.allowed is (reason is Reason.ALLOWED)
    assert decision.agreement_id == agreement_id
    assert decision.policy_version == POLICY_VERSION


def test_allowed_names_the_agreement() -> None:
    check(decide(alert(), AT_POL, NETWORK, NOW), Reason.ALLOWED, "RO-AT")


def test_issuer_unknown_or_not_active() -> None:
    check(decide(alert(issuer="RO-NOPE"), AT_POL, NETWORK, NOW), Reason.ISSUER_NOT_ACTIVE)
    suspended = directory([*AGENCIES[1:], replace(RO_POL, status=AgencyStatus.SUSPENDED)], [RO_AT])
    check(decide(alert(), AT_POL, suspended, NOW), Reason.ISSUER_NOT_ACTIVE)


def test_recipient_unknown_or_not_active() -> None:
    check(decide(alert(), agency("AT-GHOST"), NETWORK, NOW), Reason.RECIPIENT_NOT_ACTIVE)
    revoked = replace(AT_POL, status=AgencyStatus.REVOKED)
    net = directory([a for a in AGENCIES if a.id != "AT-POL"] + [revoked], [RO_AT])
    check(decide(alert(), revoked, net, NOW), Reason.RECIPIENT_NOT_ACTIVE)


def test_directory_record_wins_over_a_stale_recipient_object() -> None:
    revoked = replace(AT_POL, status=AgencyStatus.REVOKED)
    net = directory([a for a in AGENCIES if a.id != "AT-POL"] + [revoked], [RO_AT])
    check(decide(alert(), AT_POL, net, NOW), Reason.RECIPIENT_NOT_ACTIVE)
    uncleared = replace(AT_SP, cleared_for_children=False)
    net = directory([a for a in AGENCIES if a.id != "AT-SP"] + [uncleared], [RO_AT])
    minor = alert(involves_minor=True, categories=())
    check(decide(minor, AT_SP, net, NOW), Reason.NOT_CLEARED_FOR_CHILDREN, "RO-AT")


def test_self_is_denied() -> None:
    check(decide(alert(), RO_POL, NETWORK, NOW), Reason.SELF)


@pytest.mark.parametrize(
    ("tlp", "handling"), [(Tlp.RED, HandlingCode.H1), (Tlp.AMBER, HandlingCode.H2)]
)
def test_red_and_h2_go_only_to_addressees(tlp: Tlp, handling: HandlingCode) -> None:
    named = alert(tlp=tlp, handling=handling, addressees=("AT-POL",))
    check(decide(named, AT_POL, NETWORK, NOW), Reason.ALLOWED, "RO-AT")
    check(decide(named, AT_PROS, NETWORK, NOW), Reason.NOT_ADDRESSEE)
    nobody = alert(tlp=tlp, handling=handling)
    check(decide(nobody, AT_POL, NETWORK, NOW), Reason.NOT_ADDRESSEE)


def test_addressees_restrict_any_tlp() -> None:
    named = alert(tlp=Tlp.CLEAR, handling=HandlingCode.H0, addressees=("AT-PROS",))
    check(decide(named, AT_POL, NETWORK, NOW), Reason.NOT_ADDRESSEE)
    check(decide(named, AT_PROS, NETWORK, NOW), Reason.ALLOWED, "RO-AT")


def test_recipient_outside_the_corridor_needs_to_be_named() -> None:
    net = directory(AGENCIES, [RO_AT, agreement("RO-IT", {"RO", "IT"})])
    check(decide(alert(), IT_POL, net, NOW), Reason.NOT_IN_CORRIDOR)
    check(decide(alert(transit=("IT",)), IT_POL, net, NOW), Reason.ALLOWED, "RO-IT")
    named = alert(addressees=("IT-POL", "AT-POL"))
    check(decide(named, IT_POL, net, NOW), Reason.ALLOWED, "RO-IT")


def test_no_agreement_between_the_countries() -> None:
    net = directory(AGENCIES, [agreement("RO-IT", {"RO", "IT"})])
    check(decide(alert(), AT_POL, net, NOW), Reason.NO_AGREEMENT)


@pytest.mark.parametrize(
    "changes",
    [
        {"status": AgreementStatus.SUSPENDED},
        {"status": AgreementStatus.EXPIRED},
        {"valid_to": NOW},
        {"valid_from": NOW + timedelta(seconds=1)},
    ],
)
def test_agreement_not_in_force(changes: dict[str, object]) -> None:
    net = directory(AGENCIES, [replace(RO_AT, **changes)])  # type: ignore[arg-type]
    check(decide(alert(), AT_POL, net, NOW), Reason.AGREEMENT_NOT_IN_FORCE, "RO-AT")


def test_alert_type_out_of_scope() -> None:
    net = directory(AGENCIES, [replace(RO_AT, alert_types=frozenset({AlertType.CASE_CLOSED}))])
    check(decide(alert(), AT_POL, net, NOW), Reason.ALERT_TYPE_OUT_OF_SCOPE, "RO-AT")


def test_recipient_kind_out_of_scope() -> None:
    scope = {AgencyKind.LAW_ENFORCEMENT: frozenset(DataCategory)}
    net = directory(AGENCIES, [agreement("RO-AT", {"RO", "AT"}, scope=scope)])
    check(decide(alert(), AT_PROS, net, NOW), Reason.RECIPIENT_KIND_OUT_OF_SCOPE, "RO-AT")


def test_every_category_must_be_in_scope() -> None:
    scope = {AgencyKind.LAW_ENFORCEMENT: frozenset({DataCategory.IDENTITY})}
    net = directory(AGENCIES, [agreement("RO-AT", {"RO", "AT"}, scope=scope)])
    two = alert(categories=(DataCategory.IDENTITY, DataCategory.HEALTH))
    check(decide(two, AT_POL, net, NOW), Reason.CATEGORY_OUT_OF_SCOPE, "RO-AT")
    check(decide(alert(), AT_POL, net, NOW), Reason.ALLOWED, "RO-AT")


def test_minor_needs_an_agreement_with_child_safeguards() -> None:
    net = directory(AGENCIES, [replace(RO_AT, child_safeguards=False)])
    minor = alert(involves_minor=True)
    check(decide(minor, AT_POL, net, NOW), Reason.NO_CHILD_SAFEGUARDS, "RO-AT")
    check(decide(alert(), AT_POL, net, NOW), Reason.ALLOWED, "RO-AT")


def test_minor_needs_a_cleared_recipient() -> None:
    minor = alert(involves_minor=True)
    check(decide(minor, AT_SP_UNCLEARED, NETWORK, NOW), Reason.NOT_CLEARED_FOR_CHILDREN, "RO-AT")
    check(decide(minor, AT_SP, NETWORK, NOW), Reason.ALLOWED, "RO-AT")


@pytest.mark.parametrize(
    ("alert_type", "phase"),
    [
        (AlertType.RETURN_REQUEST, TrmPhase.IDENTIFICATION),
        (AlertType.ASSISTANCE_UPDATE, TrmPhase.RETURN_AND_SOCIAL_INCLUSION),
    ],
)
def test_return_of_a_minor_needs_best_interests_assessment(
    alert_type: AlertType, phase: TrmPhase
) -> None:
    minor = alert(involves_minor=True, alert_type=alert_type, phase=phase)
    check(decide(minor, AT_CP, NETWORK, NOW), Reason.NO_BEST_INTERESTS_ASSESSMENT, "RO-AT")
    assessed = replace(minor, best_interests_assessed=True)
    check(decide(assessed, AT_CP, NETWORK, NOW), Reason.ALLOWED, "RO-AT")
    adult = replace(minor, involves_minor=False)
    check(decide(adult, AT_CP, NETWORK, NOW), Reason.ALLOWED, "RO-AT")


@pytest.mark.parametrize(
    ("consent", "allowed_kinds"),
    [
        (ConsentScope.NONE, {"AT-POL", "AT-PROS"}),
        (ConsentScope.LAW_ENFORCEMENT_ONLY, {"AT-POL", "AT-PROS"}),
        (
            ConsentScope.ASSISTANCE,
            {"AT-POL", "AT-PROS", "AT-SP", "AT-SP2", "AT-NRM", "AT-CP", "AT-CONS"},
        ),
        (
            ConsentScope.FULL,
            {"AT-POL", "AT-PROS", "AT-SP", "AT-SP2", "AT-NRM", "AT-CP", "AT-CONS", "AT-MIG"},
        ),
    ],
)
def test_personal_data_follows_consent(consent: ConsentScope, allowed_kinds: set[str]) -> None:
    personal = alert(consent=consent, categories=(DataCategory.CONTACT,))
    for recipient in AGENCIES:
        if recipient.country != "AT":
            continue
        decision = decide(personal, recipient, NETWORK, NOW)
        expected = Reason.ALLOWED if recipient.id in allowed_kinds else Reason.NO_CONSENT
        check(decision, expected, "RO-AT")


def test_non_personal_data_needs_no_consent() -> None:
    route = alert(consent=ConsentScope.NONE, categories=(DataCategory.CRIMINAL_INTELLIGENCE,))
    check(decide(route, AT_SP, NETWORK, NOW), Reason.ALLOWED, "RO-AT")
    check(decide(alert(consent=ConsentScope.NONE, categories=()), AT_SP, NETWORK, NOW),
          Reason.ALLOWED, "RO-AT")  # fmt: skip


def test_child_protection_gets_a_minors_data_without_consent() -> None:
    minor = alert(involves_minor=True, consent=ConsentScope.NONE)
    check(decide(minor, AT_CP, NETWORK, NOW), Reason.ALLOWED, "RO-AT")
    adult = alert(consent=ConsentScope.NONE)
    check(decide(adult, AT_CP, NETWORK, NOW), Reason.NO_CONSENT, "RO-AT")


def test_domestic_exchange_needs_an_agreement_naming_the_country() -> None:
    domestic = alert(destination="RO")
    check(decide(domestic, RO_NRM, directory(AGENCIES, [RO_AT]), NOW), Reason.ALLOWED, "RO-AT")
    only_at_it = directory(AGENCIES, [agreement("AT-IT", {"AT", "IT"})])
    check(decide(domestic, RO_NRM, only_at_it, NOW), Reason.NO_AGREEMENT)


def test_first_allowing_agreement_by_id_wins() -> None:
    narrow = agreement("A-NARROW", {"RO", "AT"}, alert_types={AlertType.CASE_CLOSED})
    wide_b = agreement("B-WIDE", {"RO", "AT", "IT"})
    wide_c = agreement("C-WIDE", {"RO", "AT"})
    net = directory(AGENCIES, [wide_c, narrow, wide_b])
    check(decide(alert(), AT_POL, net, NOW), Reason.ALLOWED, "B-WIDE")


def test_most_specific_denial_is_reported() -> None:
    wrong_type = agreement("A", {"RO", "AT"}, alert_types={AlertType.CASE_CLOSED})
    wrong_category = agreement(
        "B", {"RO", "AT"}, scope={AgencyKind.LAW_ENFORCEMENT: frozenset({DataCategory.HEALTH})}
    )
    wrong_kind = agreement("C", {"RO", "AT"}, scope={AgencyKind.CONSULAR: frozenset()})
    net = directory(AGENCIES, [wrong_type, wrong_category, wrong_kind])
    check(decide(alert(), AT_POL, net, NOW), Reason.CATEGORY_OUT_OF_SCOPE, "B")


def test_suspended_agreement_is_skipped_for_one_in_force() -> None:
    suspended = agreement("A-OLD", {"RO", "AT"}, status=AgreementStatus.SUSPENDED)
    net = directory(AGENCIES, [suspended, agreement("B-NEW", {"RO", "AT"})])
    check(decide(alert(), AT_POL, net, NOW), Reason.ALLOWED, "B-NEW")


def test_order_earlier_rules_win() -> None:
    # Everything is wrong at once: the first rule in the documented order is reported.
    bad = alert(issuer="RO-NOPE", tlp=Tlp.RED, involves_minor=True, consent=ConsentScope.NONE)
    check(decide(bad, AT_SP_UNCLEARED, directory(AGENCIES, []), NOW), Reason.ISSUER_NOT_ACTIVE)
    bad = replace(bad, issuer="RO-POL")
    check(decide(bad, AT_SP_UNCLEARED, directory(AGENCIES, []), NOW), Reason.NOT_ADDRESSEE)
    bad = replace(bad, addressees=("AT-SP2",))
    check(decide(bad, AT_SP_UNCLEARED, directory(AGENCIES, []), NOW), Reason.NO_AGREEMENT)
    check(decide(bad, AT_SP_UNCLEARED, NETWORK, NOW), Reason.NOT_CLEARED_FOR_CHILDREN, "RO-AT")
    cleared = replace(bad, addressees=("AT-SP",))
    check(decide(cleared, AT_SP, NETWORK, NOW), Reason.NO_CONSENT, "RO-AT")


def test_every_reason_code_is_exercised_here() -> None:
    # A guard: adding a reason code without a test here should fail loudly.
    source = Path(__file__).read_text(encoding="utf-8")
    assert [r.name for r in Reason if not re.search(rf"Reason\.{r.name}\b", source)] == []


def test_naive_time_is_refused() -> None:
    with pytest.raises(PolicyError):
        decide(alert(), AT_POL, NETWORK, datetime(2025, 3, 1))


def test_candidates_are_the_corridor_and_the_addressees_without_the_issuer() -> None:
    net = directory(AGENCIES, [RO_AT])
    ids = [a.id for a in candidate_recipients(alert(), net)]
    assert ids == sorted(a.id for a in AGENCIES if a.country in {"RO", "AT"} and a.id != "RO-POL")
    named = alert(addressees=("IT-POL", "XX-UNKNOWN"))
    assert "IT-POL" in [a.id for a in candidate_recipients(named, net)]
    assert "IT-POL" not in ids


def test_decide_all_covers_every_candidate() -> None:
    results = decide_all(alert(consent=ConsentScope.NONE), NETWORK, NOW)
    assert [a.id for a, _ in results] == [a.id for a in candidate_recipients(alert(), NETWORK)]
    allowed = {a.id for a, d in results if d.allowed}
    assert allowed == {"AT-POL", "AT-PROS"}


def test_index_is_cached_per_directory_and_rebuilt_for_a_new_one() -> None:
    assert policy_index(NETWORK) is policy_index(NETWORK)
    other = directory(AGENCIES, [RO_AT])
    assert policy_index(other) is not policy_index(NETWORK)
    assert isinstance(policy_index(other), PolicyIndex)


def test_suspension_in_a_new_directory_takes_effect_on_the_next_decision() -> None:
    check(decide(alert(), AT_POL, NETWORK, NOW), Reason.ALLOWED, "RO-AT")
    suspended = directory(AGENCIES, [replace(RO_AT, status=AgreementStatus.SUSPENDED)])
    check(decide(alert(), AT_POL, suspended, NOW), Reason.AGREEMENT_NOT_IN_FORCE, "RO-AT")


def test_sample_network_decisions() -> None:
    sample = load_directory(EXAMPLE)
    at = sample.issued_at + timedelta(days=30)
    victim = alert(
        issuer="RO-ANITP",
        destination="AT",
        categories=(DataCategory.IDENTITY, DataCategory.ASSISTANCE_NEEDS),
        consent=ConsentScope.ASSISTANCE,
    )
    verdicts = {a.id: d for a, d in decide_all(victim, sample, at)}
    assert verdicts["AT-IBF"].allowed
    assert verdicts["AT-BKA"].allowed
    # Only the bilateral agreement covers the migration office, and not for needs.
    assert verdicts["AT-BFA"].reason is Reason.CATEGORY_OUT_OF_SCOPE
    identity_only = replace(victim, data_categories=frozenset({DataCategory.IDENTITY}))
    assert decide(identity_only, verdicts_agency(sample, "AT-BFA"), sample, at).reason is (
        Reason.NO_CONSENT
    )
    bg_police = verdicts_agency(sample, "BG-GDNP")
    assert decide(victim, bg_police, sample, at).reason is Reason.NOT_IN_CORRIDOR
    # IT-RO-2019 is suspended and no other agreement links Italy and Romania on this.
    to_italy = replace(victim, corridor=replace(victim.corridor, destination="IT"))
    it = {a.id: d for a, d in decide_all(to_italy, sample, at)}
    assert it["IT-DPO"].allowed  # the regional TRM covers Italy's NRM coordinator
    assert it["IT-DNAA"].reason is Reason.RECIPIENT_KIND_OUT_OF_SCOPE


def verdicts_agency(sample: Directory, agency_id: str) -> Agency:
    return sample.agencies[agency_id]


def test_remembered_decisions_follow_the_agreements_validity() -> None:
    """The same alert decided before, inside and after an agreement's validity, on one
    index: the remembered outcome never outlives the period it was made in."""
    ends = NOW + timedelta(days=1)
    bounded = replace(RO_AT, valid_from=NOW - timedelta(days=1), valid_to=ends)
    net = directory(AGENCIES, [bounded])
    index = PolicyIndex(net)

    def reasons(at: datetime) -> dict[str, Reason]:
        return {a.id: d.reason for a, d in index.decide_all(alert(), at)}

    assert reasons(NOW)["AT-POL"] is Reason.ALLOWED
    assert reasons(ends - timedelta(microseconds=1))["AT-POL"] is Reason.ALLOWED
    assert reasons(ends)["AT-POL"] is Reason.AGREEMENT_NOT_IN_FORCE
    assert reasons(NOW)["AT-POL"] is Reason.ALLOWED
    assert reasons(ends + timedelta(days=3))["AT-POL"] is Reason.AGREEMENT_NOT_IN_FORCE


def test_decide_all_returns_a_new_list_each_time() -> None:
    index = PolicyIndex(NETWORK)
    first = index.decide_all(alert(), NOW)
    first.clear()
    assert index.decide_all(alert(), NOW)


def test_decide_all_refuses_a_naive_time_even_when_remembered() -> None:
    index = PolicyIndex(NETWORK)
    index.decide_all(alert(), NOW)
    with pytest.raises(PolicyError):
        index.decide_all(alert(), NOW.replace(tzinfo=None))
