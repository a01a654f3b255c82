"""Checks an alert must pass before the publisher seals it: format and business rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from corridor.domain import DataCategory
from producers import (
    AlertValidationError,
    FailureCode,
    NoRecipientsError,
    parse_draft,
)
from tests.unit.publish_support import alert, network, now, preparer

SECRET_NAME = "Zzyzxwq"


def problems_of(data: dict[str, Any], issuer: str = "AT-BKA", **options: Any) -> list[str]:
    with pytest.raises(AlertValidationError) as caught:
        preparer(issuer, **options).check(data, network().directory, now())
    return list(caught.value.problems)


def one_problem(data: dict[str, Any], **options: Any) -> str:
    found = problems_of(data, **options)
    assert len(found) == 1, found
    return found[0]


# -- format --------------------------------------------------------------------------


def test_the_sample_alert_passes_and_keeps_its_declared_metadata() -> None:
    checked = preparer().check(alert(), network().directory, now())
    assert checked.metadata.issuer == "AT-BKA"
    assert checked.metadata.corridor.key == "RO>AT"
    assert checked.metadata.data_categories == frozenset(
        {
            DataCategory.IDENTITY,
            DataCategory.LOCATION,
            DataCategory.EXPLOITATION_DETAILS,
            DataCategory.ASSISTANCE_NEEDS,
        }
    )
    assert checked.metadata.involves_minor is False


def test_every_missing_field_is_reported_at_once() -> None:
    with pytest.raises(AlertValidationError) as caught:
        parse_draft({"body": {"person": {}}})
    text = str(caught.value)
    for name in (
        "idempotency_key",
        "case_ref",
        "corridor",
        "alert_type",
        "phase",
        "priority",
        "handling",
        "tlp",
        "consent",
        "data_categories",
    ):
        assert f"{name} is required" in text
    assert len(caught.value.problems) == 10


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"prority": "URGENT"}, "unknown field(s): prority"),
        ({"alert_type": "VICTIM"}, "alert_type: 'VICTIM' is not one of PRESUMED_VICTIM_IDENTIFIED"),
        ({"tlp": "AMBER+STRICT"}, "tlp: 'AMBER+STRICT' is not one of CLEAR"),
        ({"data_categories": ["IDENTITY", "IDENTITY"]}, "data_categories lists a value twice"),
        ({"data_categories": "IDENTITY"}, "data_categories must be a list of strings"),
        ({"involves_minor": "no"}, "involves_minor must be true or false"),
        ({"created_at": "2025-03-01T12:00:00"}, "created_at must carry a time zone"),
        ({"created_at": "yesterday"}, "created_at: 'yesterday' is not an ISO 8601 timestamp"),
        ({"corridor": "RO>AT"}, "corridor must be an object"),
        ({"corridor": {"origin": "RO"}}, "corridor.destination is required"),
        ({"body": ["not", "an", "object"]}, "body must be an object"),
        ({"idempotency_key": ""}, "idempotency_key must be a non-empty string"),
        ({"idempotency_key": "k" * 201}, "idempotency_key is longer than 200 characters"),
        ({"idempotency_key": "a\nb"}, "idempotency_key must not contain control characters"),
        ({"addressees": "RO-IGPR"}, "addressees must be a list of strings"),
    ],
)
def test_format_problems_name_the_field(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(AlertValidationError) as caught:
        parse_draft(alert(**changes))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_a_non_object_is_refused() -> None:
    with pytest.raises(AlertValidationError, match="must be a JSON object"):
        parse_draft(["an", "array"])


def test_body_fields_are_checked_against_the_schema_by_path() -> None:
    problem = one_problem(alert(person={"gender": "F"}))
    assert problem.startswith("body.person.gender must be one of")
    problem = one_problem(alert(body={"colour": "red"}))
    assert "body" in problem
    assert "colour" in problem


# -- business rules ------------------------------------------------------------------


def test_a_corridor_without_the_issuers_country_is_refused() -> None:
    problem = one_problem(alert(corridor={"origin": "RO", "destination": "IT"}))
    assert problem.startswith("corridor RO>IT does not include the issuer's country AT")


def test_the_issuers_country_may_be_a_transit_country() -> None:
    data = alert(corridor={"origin": "RO", "destination": "DE", "transit": ["AT"]})
    data["body"]["locations"] = [{"role": "TRANSIT", "country": "AT", "place": None}]
    checked = preparer().check(data, network().directory, now())
    assert checked.metadata.corridor.transit == ("AT",)


@pytest.mark.parametrize(
    ("corridor", "expected"),
    [
        ({"origin": "UK", "destination": "AT"}, "corridor.origin 'UK' is not an ISO 3166-1"),
        ({"origin": "RO", "destination": "at"}, "corridor.destination 'at' is not an ISO"),
        ({"origin": "RO", "destination": "AT", "transit": ["HU", "HU"]}, "lists a country twice"),
        ({"origin": "RO", "destination": "AT", "transit": ["AT"]}, "must not repeat the origin"),
    ],
)
def test_corridor_country_codes_are_checked(corridor: dict[str, Any], expected: str) -> None:
    assert any(expected in p for p in problems_of(alert(corridor=corridor)))


def test_unknown_and_duplicate_addressees_are_refused() -> None:
    found = problems_of(alert(addressees=["RO-NOBODY", "AT-BKA", "RO-IGPR", "RO-IGPR", "x"]))
    assert "addressees[0]: agency RO-NOBODY is not in the directory" in found
    assert "addressees[1] is the issuer itself" in found
    assert "addressees lists an agency twice" in found
    assert "addressees[4] is not an agency id (e.g. AT-BKA)" in found


@pytest.mark.parametrize(("tlp", "handling"), [("RED", "H1"), ("AMBER", "H2")])
def test_restricted_alerts_must_name_addressees(tlp: str, handling: str) -> None:
    problem = one_problem(alert(tlp=tlp, handling=handling))
    assert "must name its addressees" in problem


def test_declared_categories_must_cover_the_body() -> None:
    data = alert(data_categories=["IDENTITY"])
    data["body"]["contact"] = {"via": "caseworker of the shelter"}
    data["body"]["suspects"] = [{"names": ["N.N."], "role": "RECRUITER"}]
    data["body"]["person"]["documents"] = [{"kind": "PASSPORT", "number": "051234567"}]
    problem = one_problem(data)
    assert problem == (
        "data_categories must include ASSISTANCE_NEEDS, CONTACT, EXPLOITATION_DETAILS, "
        "LOCATION, SUSPECT_INFORMATION, TRAVEL_DOCUMENTS: the body holds such data"
    )


def test_a_narrative_needs_some_declared_category() -> None:
    data = alert(
        alert_type="CASE_CLOSED",
        data_categories=[],
        body={"person": {}, "exploitation_types": [], "locations": [], "needs": []},
    )
    assert "declare what the narrative holds" in one_problem(data)


def test_over_declaring_categories_is_allowed() -> None:
    data = alert(data_categories=[*alert()["data_categories"], "HEALTH"])
    checked = preparer().check(data, network().directory, now())
    assert DataCategory.HEALTH in checked.metadata.data_categories


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ({"date_of_birth": None}, True),  # nothing known about the age
        ({"date_of_birth": "1990"}, False),
        ({"date_of_birth": "2010-05"}, True),
        ({"date_of_birth": None, "age_estimate": {"min_years": 16, "max_years": 19}}, True),
        ({"date_of_birth": None, "age_estimate": {"min_years": 25, "max_years": 30}}, False),
        # two indications that disagree: the doubt counts as minority
        ({"date_of_birth": "1990", "age_estimate": {"min_years": 15, "max_years": 17}}, True),
    ],
)
def test_an_unknown_or_doubtful_age_is_presumed_a_minors(
    person: dict[str, Any], expected: bool
) -> None:
    checked = preparer().check(alert(person=person), network().directory, now())
    assert checked.metadata.involves_minor is expected


def test_a_birth_year_that_may_still_be_under_eighteen_counts_as_minor() -> None:
    year = now().year - 18  # 18 this year only after the birthday
    checked = preparer().check(
        alert(person={"date_of_birth": str(year)}), network().directory, now()
    )
    assert checked.metadata.involves_minor is True


def test_denying_minority_without_a_proven_age_is_refused() -> None:
    problem = one_problem(alert(involves_minor=False, person={"date_of_birth": None}))
    assert "presumed to be a minor's" in problem


def test_an_explicit_minor_flag_is_kept_for_an_adult_victim() -> None:
    checked = preparer().check(alert(involves_minor=True), network().directory, now())
    assert checked.metadata.involves_minor is True


def test_an_alert_about_no_person_is_not_presumed_to_involve_a_minor() -> None:
    data = alert(
        alert_type="ROUTE_INTELLIGENCE",
        data_categories=["LOCATION", "SUSPECT_INFORMATION"],
        addressees=["RO-IGPR"],
        body={
            "person": {},
            "exploitation_types": [],
            "needs": [],
            "suspects": [{"names": ["driver"], "role": "TRANSPORTER", "nationality": "RO"}],
        },
    )
    checked = preparer().check(data, network().directory, now())
    assert checked.metadata.involves_minor is False
    assert checked.recipients.agency_ids == ("RO-IGPR",)


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ({"date_of_birth": "03.11.1998"}, "body.person.date_of_birth must be an ISO date"),
        ({"date_of_birth": "2999-01-01"}, "body.person.date_of_birth lies in the future"),
        ({"nationalities": ["XX"]}, "body.person.nationalities[0] is not an ISO 3166-1"),
        ({"languages": ["Romanian"]}, "body.person.languages[0] is not an ISO 639 code"),
        (
            {"age_estimate": {"min_years": 30, "max_years": 20}},
            "body.person.age_estimate needs 0 <= min_years <= max_years",
        ),
        (
            {"documents": [{"kind": "PASSPORT", "number": "1", "issuing_country": "ZZ"}]},
            "body.person.documents[0].issuing_country is not an ISO 3166-1",
        ),
    ],
)
def test_body_values_are_checked(person: dict[str, Any], expected: str) -> None:
    data = alert(person=person)
    data["data_categories"].append("TRAVEL_DOCUMENTS")
    assert any(p.startswith(expected) for p in problems_of(data)), problems_of(data)


def test_problems_never_quote_body_values() -> None:
    data = alert(
        person={
            "given_names": [SECRET_NAME],
            "date_of_birth": f"{SECRET_NAME}-01",
            "nationalities": [SECRET_NAME[:2].upper()],
            "documents": [{"kind": "PASSPORT", "number": SECRET_NAME, "issuing_country": "QQ"}],
        },
        body={"locations": [{"role": "CURRENT", "country": "Zz", "place": SECRET_NAME}]},
        data_categories=["IDENTITY"],
    )
    found = problems_of(data)
    assert len(found) >= 4
    assert all(SECRET_NAME not in p and "Zz" not in p for p in found), found


@pytest.mark.parametrize(
    ("case_ref", "ok"),
    [("BKA-MH-2025-0731", True), ("case:42/a.b", True), ("Ioana Marinescu", False), ("", False)],
)
def test_case_ref_must_be_pseudonymous(case_ref: str, ok: bool) -> None:
    data = alert(case_ref=case_ref)
    if ok:
        preparer().check(data, network().directory, now())
    else:
        assert any("case_ref" in p for p in problems_of(data))


def test_created_at_must_be_plausible() -> None:
    future = (now() + timedelta(hours=1)).isoformat()
    assert "created_at lies in the future" in one_problem(alert(created_at=future))
    stale = (now() - timedelta(days=8)).isoformat()
    assert "older than 7 days" in one_problem(alert(created_at=stale))
    recent = now() - timedelta(minutes=3)
    checked = preparer().check(alert(created_at=recent.isoformat()), network().directory, now())
    assert checked.metadata.created_at == recent


def test_the_issuer_field_must_match_the_publishing_agency() -> None:
    assert one_problem(alert(issuer="RO-IGPR")).startswith("issuer 'RO-IGPR' is not the publishing")
    preparer().check(alert(issuer="AT-BKA"), network().directory, now())


def test_an_issuer_missing_from_or_suspended_in_the_directory_cannot_publish() -> None:
    found = problems_of(alert(corridor={"origin": "BG", "destination": "AT"}), "BG-VARNA-SHELTER")
    assert "agency BG-VARNA-SHELTER is SUSPENDED in the directory" in found


def test_a_body_over_the_limit_is_refused_as_too_large() -> None:
    data = alert(body={"narrative": "x" * 5000})
    with pytest.raises(AlertValidationError) as caught:
        preparer(max_body_bytes=4096).check(data, network().directory, now())
    assert caught.value.code is FailureCode.TOO_LARGE
    assert "over the 4096-byte limit" in str(caught.value)


def test_an_alert_nobody_may_receive_is_refused_with_the_reasons() -> None:
    data = alert(
        alert_type="SUSPECT_INFORMATION",
        tlp="RED",
        addressees=["IT-SCO"],
        data_categories=["SUSPECT_INFORMATION"],
        body={
            "person": {},
            "exploitation_types": [],
            "locations": [],
            "needs": [],
            "suspects": [{"names": ["N.N."]}],
        },
    )
    with pytest.raises(NoRecipientsError) as caught:
        preparer().check(data, network().directory, now())
    assert caught.value.code is FailureCode.NO_RECIPIENTS
    assert caught.value.denials["IT-SCO"] == "ALERT_TYPE_OUT_OF_SCOPE"
    assert caught.value.denials["RO-IGPR"] == "NOT_ADDRESSEE"
    assert "no agency may receive this alert" in str(caught.value)
