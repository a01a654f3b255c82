"""Business rules an alert must meet before it is sealed, beyond its format.

They need the directory (is the issuer active, do the addressees exist), the clock
(is ``created_at`` plausible) and what :mod:`producers.body` found in the body. The
policy decides later who may receive the alert; these rules make sure the metadata it
decides on is true to the body and complete: categories cover the body, a person of
unknown age counts as a child, restricted markings name their addressees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from corridor.countries import COUNTRY_CODES
from corridor.domain import (
    AGENCY_ID,
    AgencyStatus,
    AlertType,
    Corridor,
    Directory,
    HandlingCode,
    Tlp,
)
from producers.body import BodyFacts
from producers.draft import AlertDraft

__all__ = ["CASE_REF", "VICTIM_ALERT_TYPES", "Limits", "RuleOutcome", "check_rules"]

#: A pseudonymous reference: letters, digits and ``._:/-``, no spaces, so a name
#: typed into it by mistake stands out and is refused.
CASE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")

#: Alert types that are always about a presumed victim, even with an empty person.
VICTIM_ALERT_TYPES = frozenset(
    {
        AlertType.PRESUMED_VICTIM_IDENTIFIED,
        AlertType.REFERRAL_REQUEST,
        AlertType.RISK_ASSESSMENT,
        AlertType.RETURN_REQUEST,
        AlertType.ASSISTANCE_UPDATE,
    }
)


@dataclass(frozen=True, slots=True)
class Limits:
    """How far ``created_at`` may stray from now (the processors refuse beyond this)."""

    max_clock_skew: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    involves_minor: bool
    created_at: datetime
    problems: tuple[str, ...]


def _corridor_problems(corridor: Corridor, issuer_country: str | None) -> list[str]:
    problems = [
        f"corridor.{name} {code!r} is not an ISO 3166-1 alpha-2 country code"
        for name, code in (("origin", corridor.origin), ("destination", corridor.destination))
        if code not in COUNTRY_CODES
    ]
    for i, code in enumerate(corridor.transit):
        if code not in COUNTRY_CODES:
            problems.append(f"corridor.transit[{i}] {code!r} is not an ISO 3166-1 alpha-2 code")
    if len(set(corridor.transit)) != len(corridor.transit):
        problems.append("corridor.transit lists a country twice")
    if {corridor.origin, corridor.destination} & set(corridor.transit):
        problems.append("corridor.transit must not repeat the origin or the destination")
    if issuer_country is not None and not problems and issuer_country not in corridor.countries:
        problems.append(
            f"corridor {corridor.key} does not include the issuer's country {issuer_country}: "
            "an agency publishes only for corridors its country is part of"
        )
    return problems


def _addressee_problems(draft: AlertDraft, issuer: str, directory: Directory) -> list[str]:
    problems: list[str] = []
    if len(set(draft.addressees)) != len(draft.addressees):
        problems.append("addressees lists an agency twice")
    for i, agency_id in enumerate(draft.addressees):
        if not AGENCY_ID.fullmatch(agency_id):
            problems.append(f"addressees[{i}] is not an agency id (e.g. AT-BKA)")
        elif agency_id == issuer:
            problems.append(f"addressees[{i}] is the issuer itself")
        elif agency_id not in directory.agencies:
            problems.append(f"addressees[{i}]: agency {agency_id} is not in the directory")
    restricted = draft.tlp is Tlp.RED or draft.handling is HandlingCode.H2
    if restricted and not draft.addressees:
        problems.append(
            f"a {draft.tlp.value}/{draft.handling.value} alert must name its addressees "
            "(TLP RED and handling code H2 go to named agencies only)"
        )
    return problems


def _category_problems(draft: AlertDraft, facts: BodyFacts) -> list[str]:
    problems: list[str] = []
    missing = facts.categories - draft.data_categories
    if missing:
        names = ", ".join(sorted(c.value for c in missing))
        problems.append(f"data_categories must include {names}: the body holds such data")
    if facts.has_narrative and not draft.data_categories:
        problems.append(
            "data_categories is empty but body.narrative is not: declare what the narrative holds"
        )
    return problems


def _minor(draft: AlertDraft, facts: BodyFacts) -> tuple[bool, list[str]]:
    about_person = facts.describes_person or draft.alert_type in VICTIM_ALERT_TYPES
    presumed = about_person and not facts.shown_adult
    if draft.involves_minor is False and presumed:
        return True, [
            "involves_minor is false but the person is not shown to be an adult "
            "(no date of birth or age estimate proving 18 or more): an unknown age is "
            "presumed to be a minor's; give the age or leave involves_minor out"
        ]
    return bool(draft.involves_minor) or presumed, []


def _created_at(draft: AlertDraft, now: datetime, limits: Limits) -> tuple[datetime, list[str]]:
    created = draft.created_at.astimezone(UTC) if draft.created_at else now
    if created > now + limits.max_clock_skew:
        return created, ["created_at lies in the future (beyond the allowed clock skew)"]
    if created < now - limits.max_age:
        return created, [
            f"created_at is older than {limits.max_age.days} days: the processors would "
            "refuse the alert as stale"
        ]
    return created, []


def check_rules(
    draft: AlertDraft,
    facts: BodyFacts,
    *,
    issuer: str,
    directory: Directory,
    now: datetime,
    limits: Limits,
) -> RuleOutcome:
    """Every rule ``draft`` breaks, and the values the publisher derives on the way."""
    problems: list[str] = []
    if draft.issuer is not None and draft.issuer != issuer:
        problems.append(f"issuer {draft.issuer!r} is not the publishing agency {issuer}")
    agency = directory.agencies.get(issuer)
    if agency is None:
        problems.append(f"agency {issuer} is not in the directory")
    elif agency.status is not AgencyStatus.ACTIVE:
        problems.append(f"agency {issuer} is {agency.status.value} in the directory")
    if not CASE_REF.fullmatch(draft.case_ref):
        problems.append(
            "case_ref must be a pseudonymous reference of up to 64 letters, digits and ._:/- "
            "(no spaces, never a name)"
        )
    problems += _corridor_problems(draft.corridor, agency.country if agency else None)
    problems += _addressee_problems(draft, issuer, directory)
    problems += _category_problems(draft, facts)
    involves_minor, minor_problems = _minor(draft, facts)
    created_at, time_problems = _created_at(draft, now, limits)
    # Declaring more categories than the body shows is allowed: the narrative is free
    # text and may hold any of them; the policy then errs on the side of fewer recipients.
    return RuleOutcome(
        involves_minor=involves_minor,
        created_at=created_at,
        problems=tuple(problems + minor_problems + time_problems),
    )
