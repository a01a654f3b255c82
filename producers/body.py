"""What the sealed body holds, read before it is sealed: categories, age, identity.

The processors route on the clear metadata alone and can never look inside the body,
so the publisher is the last place where the metadata can be checked against the
body: a body holding locations must declare ``LOCATION``, or the policy would let it
reach an agency the agreement does not entitle to locations. This module also decides
whether the person is shown to be an adult (otherwise the alert involves a minor: an
unknown age is presumed to be a child's) and gathers the identity attributes the
linkage tokens are made from. Problems name body fields by path, never their values.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from corridor.countries import COUNTRY_CODES
from corridor.domain import DataCategory
from corridor.linkage import Identity

__all__ = ["ADULT_AGE", "BodyFacts", "read_body"]

ADULT_AGE = 18
MAX_AGE = 130
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
#: Person attributes that make up the IDENTITY category (documents are TRAVEL_DOCUMENTS,
#: languages describe an assistance need rather than who the person is).
_IDENTITY_FIELDS = (
    "given_names",
    "family_names",
    "other_names",
    "date_of_birth",
    "age_estimate",
    "gender",
    "nationalities",
)
_SECTION_CATEGORIES = (
    ("locations", DataCategory.LOCATION),
    ("needs", DataCategory.ASSISTANCE_NEEDS),
    ("exploitation_types", DataCategory.EXPLOITATION_DETAILS),
    ("suspects", DataCategory.SUSPECT_INFORMATION),
)


@dataclass(frozen=True, slots=True)
class BodyFacts:
    """What the publisher needs to know about a body it is about to seal."""

    #: Categories the body's structure shows it holds (the narrative is not classified).
    categories: frozenset[DataCategory]
    #: Whether the body says anything about the person at all.
    describes_person: bool
    #: Whether every indication of age (date of birth, age estimate) shows 18 or more.
    shown_adult: bool
    has_narrative: bool
    identities: tuple[Identity, ...]


def _filled(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_filled(v) for v in value.values())
    return value not in (None, "", [], ())


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _birth_window(text: str) -> tuple[date, date] | None:
    """Earliest and latest possible birth dates of a full or partial ISO date."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        exact = date(year, month, day)
    except ValueError:
        return None
    return exact, exact


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _check_country(value: Any, where: str, problems: list[str]) -> None:
    if value is not None and value not in COUNTRY_CODES:
        problems.append(f"{where} is not an ISO 3166-1 alpha-2 country code")


class _Person:
    """Checks the person record and works out what it says about age and identity."""

    def __init__(self, person: Mapping[str, Any], at: datetime, problems: list[str]) -> None:
        self.person = person
        self.problems = problems
        self.indications: list[bool] = []  # one per age indication: shows an adult?
        self._check_birth(person.get("date_of_birth"), at.date())
        self._check_estimate(person.get("age_estimate"))
        for i, code in enumerate(_list(person.get("nationalities"))):
            _check_country(code, f"body.person.nationalities[{i}]", problems)
        for i, document in enumerate(_list(person.get("documents"))):
            where = f"body.person.documents[{i}]"
            _check_country(document.get("issuing_country"), f"{where}.issuing_country", problems)
            if not str(document.get("number", "")).strip():
                problems.append(f"{where}.number must not be empty")
        for i, language in enumerate(_list(person.get("languages"))):
            if not _LANGUAGE.fullmatch(str(language)):
                problems.append(f"body.person.languages[{i}] is not an ISO 639 code")

    def _check_birth(self, value: Any, today: date) -> None:
        if value is None:
            return
        window = _birth_window(str(value))
        if window is None or window[0].year < 1900:
            self.problems.append(
                "body.person.date_of_birth must be an ISO date: YYYY, YYYY-MM or YYYY-MM-DD"
            )
            return
        earliest, latest = window
        if earliest > today:
            self.problems.append("body.person.date_of_birth lies in the future")
            return
        # The youngest the person can be decides: a doubt about minority counts as minority.
        self.indications.append(_age_on(latest, today) >= ADULT_AGE)

    def _check_estimate(self, value: Any) -> None:
        if value is None:
            return
        low, high = value.get("min_years"), value.get("max_years")
        if not (0 <= low <= high <= MAX_AGE):
            self.problems.append(
                f"body.person.age_estimate needs 0 <= min_years <= max_years <= {MAX_AGE}"
            )
            return
        self.indications.append(low >= ADULT_AGE)

    def identities(self) -> tuple[Identity, ...]:
        """Name variants with birth date and each nationality, and each document."""
        person = self.person
        full = " ".join(
            str(n) for n in (*_list(person.get("given_names")), *_list(person.get("family_names")))
        )
        names = [n for n in (full, *map(str, _list(person.get("other_names")))) if n.strip()]
        birth = person.get("date_of_birth")
        nationalities: list[str | None] = [str(n) for n in _list(person.get("nationalities"))]
        found = [
            Identity(name=name, date_of_birth=birth, nationality=nationality)
            for name in names
            for nationality in nationalities or [None]
        ]
        for document in _list(person.get("documents")):
            if document.get("issuing_country"):
                found.append(
                    Identity(
                        document_number=str(document.get("number", "")),
                        document_country=str(document["issuing_country"]),
                    )
                )
        return tuple(found)


def read_body(body: Mapping[str, Any], *, at: datetime) -> tuple[BodyFacts, Sequence[str]]:
    """The facts of a body already checked against the AlertBody schema, and the
    problems of its values (country codes, dates, ages) as of ``at``."""
    problems: list[str] = []
    person_record = body.get("person") or {}
    person = _Person(person_record, at, problems)
    categories: set[DataCategory] = set()
    if any(_filled(person_record.get(name)) for name in _IDENTITY_FIELDS):
        categories.add(DataCategory.IDENTITY)
    if _list(person_record.get("documents")):
        categories.add(DataCategory.TRAVEL_DOCUMENTS)
    if _filled(body.get("contact")):
        categories.add(DataCategory.CONTACT)
    for section, category in _SECTION_CATEGORIES:
        if _list(body.get(section)):
            categories.add(category)
    for i, location in enumerate(_list(body.get("locations"))):
        _check_country(location.get("country"), f"body.locations[{i}].country", problems)
    for i, suspect in enumerate(_list(body.get("suspects"))):
        _check_country(suspect.get("nationality"), f"body.suspects[{i}].nationality", problems)
    facts = BodyFacts(
        categories=frozenset(categories),
        describes_person=_filled(person_record),
        shown_adult=bool(person.indications) and all(person.indications),
        has_narrative=bool(str(body.get("narrative", "")).strip()),
        identities=person.identities() if not problems else (),
    )
    return facts, problems
