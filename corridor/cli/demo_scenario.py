"""The demo's stream: fictional alerts across the sample network, with the hard cases.

Every person is invented. The stream mixes ordinary referrals on several corridors
with what operators must see handled: re-sent duplicates, a forged alert, a child's
case, a RED alert for one named addressee, an alert on a corridor whose bilateral
agreement is suspended, and the same person reported by two agencies (a link).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

#: (issuer, origin, destination): corridors the sample network's agreements cover.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("AT-BKA", "RO", "AT"),
    ("AT-BKA", "BG", "AT"),
    ("DE-BKA", "BG", "DE"),
    ("DE-BKA", "UA", "DE"),
    ("RO-IGPR", "MD", "RO"),
    ("IT-SCO", "RO", "IT"),
    ("RO-ANITP", "RO", "AT"),
    ("BG-NCCTHB", "BG", "DE"),
)
_GIVEN = ("Ana", "Elena", "Ioana", "Desislava", "Natalia", "Olga", "Iryna", "Mariya", "Victoria")
_FAMILY = ("Rusu", "Ceban", "Petrova", "Stan", "Florea", "Kovalenko", "Dimitrova", "Lungu")
_PLACES = {"AT": "Wien", "DE": "Leipzig", "IT": "Latina", "RO": "Iasi", "BG": "Plovdiv"}


@dataclass(frozen=True)
class Scenario:
    """Alerts to publish per issuer, plus which of them are re-sent as duplicates."""

    alerts: list[tuple[str, dict[str, Any]]]
    duplicates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: (issuer, alert) to be sent with a signature from a key that is not the issuer's.
    forged: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _person(rng: random.Random, nationality: str, *, adult: bool = True) -> dict[str, Any]:
    year = rng.randint(1978, 2003) if adult else 2011
    return {
        "given_names": [rng.choice(_GIVEN)],
        "family_names": [rng.choice(_FAMILY)],
        "date_of_birth": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "gender": "FEMALE",
        "nationalities": [nationality],
    }


def _referral(rng: random.Random, key: str, issuer: str, origin: str, dest: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "case_ref": key.replace("/", "-"),
        "corridor": {"origin": origin, "destination": dest},
        "alert_type": "PRESUMED_VICTIM_IDENTIFIED",
        "phase": "IDENTIFICATION",
        "priority": rng.choice(("ROUTINE", "URGENT", "URGENT", "IMMEDIATE")),
        "handling": "H1",
        "tlp": "AMBER",
        "consent": rng.choice(("ASSISTANCE", "FULL", "LAW_ENFORCEMENT_ONLY")),
        "data_categories": ["IDENTITY", "LOCATION", "EXPLOITATION_DETAILS"],
        "body": {
            "person": _person(rng, origin),
            "exploitation_types": [rng.choice(("SEXUAL", "LABOUR", "FORCED_BEGGING"))],
            "locations": [
                {"role": "RECRUITMENT", "country": origin, "place": _PLACES.get(origin)},
                {"role": "EXPLOITATION", "country": dest, "place": _PLACES.get(dest)},
            ],
            "narrative": "Fictional demonstration case; describes no real person.",
        },
    }


def build_scenario(count: int = 40, *, seed: int = 7) -> Scenario:
    rng = random.Random(seed)  # noqa: S311 - reproducible fiction, not a secret
    alerts: list[tuple[str, dict[str, Any]]] = []
    for n in range(count):
        issuer, origin, dest = ROUTES[n % len(ROUTES)]
        alerts.append((issuer, _referral(rng, f"DEMO/{issuer}/{n:04d}", issuer, origin, dest)))

    # A child's case: only agencies cleared for children may receive it.
    child = _referral(rng, "DEMO/AT-BKA/child-1", "AT-BKA", "RO", "AT")
    child["body"]["person"] = _person(rng, "RO", adult=False)
    child["alert_type"], child["phase"] = "REFERRAL_REQUEST", "FIRST_ASSISTANCE_AND_PROTECTION"
    child["consent"], child["priority"] = "ASSISTANCE", "IMMEDIATE"
    alerts.append(("AT-BKA", child))

    # RED: suspect information for one named police counterpart only.
    red = _referral(rng, "DEMO/AT-BKA/red-1", "AT-BKA", "RO", "AT")
    red.update(
        alert_type="SUSPECT_INFORMATION",
        phase="CRIMINAL_AND_CIVIL_PROCEEDINGS",
        handling="H2",
        tlp="RED",
        consent="NONE",
        addressees=["RO-IGPR"],
        data_categories=["SUSPECT_INFORMATION", "CRIMINAL_INTELLIGENCE"],
        body={
            "person": {},
            "suspects": [
                {"names": ["unknown recruiter"], "role": "RECRUITER", "nationality": "RO"}
            ],
            "narrative": "Fictional route intelligence for the demonstration.",
        },
    )
    alerts.append(("AT-BKA", red))

    # The same (fictional) person reported by two agencies: a link notice for both.
    same_person = {
        "given_names": ["Lavinia"],
        "family_names": ["Munteanu"],
        "date_of_birth": "1996-04-11",
        "gender": "FEMALE",
        "nationalities": ["RO"],
    }
    for issuer, key in (("AT-BKA", "DEMO/AT-BKA/link-1"), ("RO-ANITP", "DEMO/RO-ANITP/link-1")):
        linked = _referral(rng, key, issuer, "RO", "AT")
        linked["body"]["person"] = dict(same_person)
        linked["consent"] = "FULL"
        alerts.append((issuer, linked))

    duplicates = [alerts[0], alerts[5]]
    forged = [("AT-BKA", _referral(rng, "DEMO/AT-BKA/forged-1", "AT-BKA", "RO", "AT"))]
    return Scenario(alerts, duplicates, forged)
