"""Fictional alerts in bulk, for load tests, benchmarks and demonstrations.

Every person here is invented from small lists of common first and family names; no
record describes a real case. The alerts are valid for the sample network of
``examples/directory.json`` when the caller picks corridors and addressees the
agreements there allow (see :data:`SAMPLE_ROUTES`). Naming the addressees fixes how
many agencies each alert is sealed for, which is what a benchmark needs to control.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["SAMPLE_ROUTES", "sample_alerts"]

#: For AT-BKA of the sample network: corridor -> agencies that may receive such alerts
#: (law enforcement under TRM-SEE-2024 or RO-AT-POLICE-2022), first the police.
SAMPLE_ROUTES: Mapping[str, tuple[str, ...]] = {
    "RO>AT": ("RO-IGPR", "RO-ANITP", "RO-DGASPC-B"),
    "BG>AT": ("BG-GDNP", "BG-NCCTHB"),
    "MD>AT": ("MD-CCTP", "MD-NRS"),
}

_GIVEN = {
    "RO": ("Ana", "Maria", "Elena", "Ioana", "Andreea", "Mihaela", "Cristina", "Daniela"),
    "BG": ("Desislava", "Ivana", "Mariya", "Petya", "Gergana", "Radostina", "Yana"),
    "MD": ("Natalia", "Olga", "Tatiana", "Victoria", "Irina", "Cristina", "Ludmila"),
}
_FAMILY = {
    "RO": ("Popescu", "Ionescu", "Dumitru", "Stan", "Gheorghe", "Munteanu", "Florea"),
    "BG": ("Ivanova", "Georgieva", "Dimitrova", "Petrova", "Nikolova", "Stoyanova"),
    "MD": ("Rusu", "Ceban", "Ciobanu", "Turcan", "Lungu", "Cojocaru", "Sirbu"),
}
_PLACES = ("Wien", "Graz", "Linz", "Salzburg", "Innsbruck", "Wels", "Villach")
_EXPLOITATION = ("SEXUAL", "LABOUR", "FORCED_BEGGING", "DOMESTIC_SERVITUDE")


def _alert(
    rng: random.Random, key: str, corridor: str, addressees: Sequence[str]
) -> dict[str, Any]:
    origin, destination = corridor.split(">")
    given, family = _GIVEN.get(origin, _GIVEN["RO"]), _FAMILY.get(origin, _FAMILY["RO"])
    year = rng.randint(1975, 2004)
    return {
        "idempotency_key": key,
        "case_ref": f"SYN-{key.rsplit('/', 1)[-1]}",
        "corridor": {"origin": origin, "destination": destination},
        "alert_type": "PRESUMED_VICTIM_IDENTIFIED",
        "phase": "IDENTIFICATION",
        "priority": rng.choice(("ROUTINE", "URGENT")),
        "handling": "H1",
        "tlp": "AMBER",
        "data_categories": ["EXPLOITATION_DETAILS", "IDENTITY", "LOCATION"],
        "consent": "ASSISTANCE",
        "addressees": list(addressees),
        "body": {
            "person": {
                "given_names": [rng.choice(given)],
                "family_names": [rng.choice(family)],
                "date_of_birth": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "gender": "FEMALE",
                "nationalities": [origin],
            },
            "exploitation_types": [rng.choice(_EXPLOITATION)],
            "locations": [
                {"role": "RECRUITMENT", "country": origin, "place": None},
                {"role": "EXPLOITATION", "country": destination, "place": rng.choice(_PLACES)},
            ],
            "narrative": "Synthetic record for load testing; describes no real person.",
        },
    }


def sample_alerts(
    count: int,
    *,
    key_prefix: str,
    recipients: int = 1,
    routes: Mapping[str, Sequence[str]] = SAMPLE_ROUTES,
    seed: int = 0,
) -> Iterator[dict[str, Any]]:
    """``count`` alerts cycling through ``routes``, each addressed to the first
    ``recipients`` agencies of its route; idempotency keys are ``<key_prefix>/<n>``."""
    usable = [(c, a[:recipients]) for c, a in routes.items() if len(a) >= recipients]
    if not usable:
        raise ValueError(f"no route has {recipients} possible recipients")
    rng = random.Random(seed)  # noqa: S311 - reproducible fiction, not a secret
    for n in range(count):
        corridor, addressees = usable[n % len(usable)]
        yield _alert(rng, f"{key_prefix}/{n}", corridor, addressees)
