"""Alert ids: a name-based UUID of the issuer and the caller's idempotency key.

An agency's system that re-sends an alert (after a timeout, a crash, a replayed batch)
passes the same idempotency key and so produces the same alert id; the processors
deduplicate by alert id, so the copy is dropped instead of reaching recipients twice.
The issuer is part of the name, so two agencies that happen to use the same key get
different ids. Agency ids never contain ``/``, so ``issuer/key`` is unambiguous.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from corridor.domain import AGENCY_ID

__all__ = ["ALERT_ID_NAMESPACE", "MAX_IDEMPOTENCY_KEY", "check_idempotency_key", "make_alert_id"]

#: The UUIDv5 namespace of Corridor alert ids; changing it would change every id.
ALERT_ID_NAMESPACE: Final = uuid.UUID("6d0f4f0e-6a1b-5c53-9a7e-2b9c8f3d1e42")
MAX_IDEMPOTENCY_KEY: Final = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_idempotency_key(key: object) -> str | None:
    """The problem with ``key`` as an idempotency key, or None when it is usable."""
    if not isinstance(key, str) or not key.strip():
        return "idempotency_key must be a non-empty string"
    if len(key) > MAX_IDEMPOTENCY_KEY:
        return f"idempotency_key is longer than {MAX_IDEMPOTENCY_KEY} characters"
    if _CONTROL.search(key):
        return "idempotency_key must not contain control characters"
    return None


def make_alert_id(issuer: str, idempotency_key: str) -> str:
    """The alert id of ``issuer``'s alert sent under ``idempotency_key`` (lower-case UUID)."""
    if not AGENCY_ID.fullmatch(issuer):
        raise ValueError(f"{issuer!r} is not an agency id")
    problem = check_idempotency_key(idempotency_key)
    if problem is not None:
        raise ValueError(problem)
    return str(uuid.uuid5(ALERT_ID_NAMESPACE, f"{issuer}/{idempotency_key}"))
