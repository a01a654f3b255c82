"""The sample network with real keys, and valid alerts, for the publishing SDK's tests."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from corridor.codec import Codec
from corridor.directory_file import load_directory
from corridor.domain import Directory, PublicKey
from corridor.envelope import EncryptionKey, SigningKey
from corridor.linkage import LinkageKey
from producers.prepare import Preparer

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIRECTORY = REPO / "examples" / "directory.json"
EXAMPLES = REPO / "examples" / "alerts"
KEYS_FROM = datetime(2024, 1, 1, tzinfo=UTC)
LINKAGE_KEY = LinkageKey(bytes(range(32)), 1)


@dataclasses.dataclass(frozen=True)
class Network:
    directory: Directory
    signing: dict[str, SigningKey]
    encryption: dict[str, EncryptionKey]


@lru_cache(maxsize=1)
def network() -> Network:
    """examples/directory.json with a generated key pair for every agency."""
    base = load_directory(SAMPLE_DIRECTORY)
    signing: dict[str, SigningKey] = {}
    encryption: dict[str, EncryptionKey] = {}
    agencies = {}
    for agency_id, agency in base.agencies.items():
        sig = SigningKey.generate(f"{agency_id}-sig-test")
        enc = EncryptionKey.generate(f"{agency_id}-enc-test")
        signing[agency_id], encryption[agency_id] = sig, enc
        agencies[agency_id] = dataclasses.replace(
            agency,
            signing_keys=(PublicKey(sig.key_id, sig.public_bytes(), KEYS_FROM),),
            encryption_keys=(PublicKey(enc.key_id, enc.public_bytes(), KEYS_FROM),),
        )
    directory = dataclasses.replace(base, agencies=agencies)
    return Network(directory, signing, encryption)


def preparer(issuer: str = "AT-BKA", *, linkage: bool = True, **options: Any) -> Preparer:
    return Preparer(
        issuer=issuer,
        signing_key=network().signing[issuer],
        linkage_keys=[LINKAGE_KEY] if linkage else [],
        codec=Codec(),
        max_body_bytes=options.pop("max_body_bytes", 256 * 1024),
        **options,
    )


_ALERT: dict[str, Any] = {
    "idempotency_key": "AT-BKA/2025/000731",
    "case_ref": "BKA-MH-2025-0731",
    "corridor": {"origin": "RO", "destination": "AT", "transit": ["HU"]},
    "alert_type": "PRESUMED_VICTIM_IDENTIFIED",
    "phase": "IDENTIFICATION",
    "priority": "URGENT",
    "handling": "H1",
    "tlp": "AMBER",
    "data_categories": ["IDENTITY", "LOCATION", "EXPLOITATION_DETAILS", "ASSISTANCE_NEEDS"],
    "consent": "ASSISTANCE",
    "body": {
        "person": {
            "given_names": ["Ioana"],
            "family_names": ["Marinescu"],
            "date_of_birth": "1998-11-03",
            "gender": "FEMALE",
            "nationalities": ["RO"],
        },
        "exploitation_types": ["SEXUAL"],
        "locations": [{"role": "EXPLOITATION", "country": "AT", "place": "Wien"}],
        "needs": ["SAFE_ACCOMMODATION"],
        "narrative": "Identified during a residence check.",
    },
}


def alert(**changes: Any) -> dict[str, Any]:
    """A valid alert of AT-BKA (RO>AT, adult, three recipients), with ``changes``.

    A change to ``body`` or ``person`` is merged into the sample's; a value of None
    removes the field.
    """
    data = copy.deepcopy(_ALERT)
    person = changes.pop("person", None)
    body = changes.pop("body", None)
    for target, update in ((data["body"]["person"], person), (data["body"], body)):
        if update is not None and not isinstance(update, dict):
            data["body"] = update
            break
        for key, value in (update or {}).items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def now() -> datetime:
    return datetime.now(UTC)
