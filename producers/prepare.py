"""From the caller's alert to the exact bytes for the inbound topic, without Kafka.

Checking and sealing are split so that ``--strict`` and ``--dry-run`` can check a
whole file cheaply, and so the benchmark can time sealing alone. Everything here is a
pure function of the alert, the directory, the keys and the clock: the publisher adds
only the Kafka side. Nothing is sent unless every step succeeded, so a rejected alert
is never half-sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from corridor.codec import Codec
from corridor.codec_errors import EncodeError
from corridor.domain import AlertMetadata, Directory
from corridor.envelope import Sealer, SealError, SigningKey
from corridor.linkage import LinkageError, LinkageKey
from corridor.records import alert_to_record
from producers.alert_id import make_alert_id
from producers.body import read_body
from producers.draft import AlertDraft, parse_draft
from producers.exceptions import AlertValidationError, FailureCode
from producers.recipients import Recipients, choose_recipients
from producers.rules import Limits, check_rules
from producers.tokens import linkage_tokens

__all__ = ["CheckedAlert", "PreparedAlert", "Preparer"]

EVENT_HEADER: Final = "corridor-event"
ALERT_ID_HEADER: Final = "corridor-alert-id"


@dataclass(frozen=True, slots=True)
class CheckedAlert:
    """An alert that passed every check: its metadata, encoded body and recipients."""

    idempotency_key: str
    metadata: AlertMetadata
    body: bytes
    recipients: Recipients


@dataclass(frozen=True, slots=True)
class PreparedAlert:
    """A sealed, signed, encoded alert, ready to produce as ``key``/``value``/``headers``."""

    idempotency_key: str
    metadata: AlertMetadata
    recipients: tuple[str, ...]
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def alert_id(self) -> str:
        return self.metadata.alert_id

    @property
    def corridor(self) -> str:
        return self.metadata.corridor.key


def _encode_problem(exc: EncodeError, what: str) -> str:
    """The codec's message, re-pathed to the input format (it never quotes values)."""
    if exc.path:
        problem = str(exc).split(f"field '{exc.path}' ", 1)[-1]
        return f"{what}.{exc.path} {problem}"
    return f"{what}: {exc}"


class Preparer:
    """Checks, seals and encodes one agency's alerts.

    ``codec`` writes the CaseAlert envelope (registry framing when a registry is
    configured); the sealed body is always written with the single-object framing,
    which every recipient can read without a registry, now and years later.
    """

    def __init__(
        self,
        *,
        issuer: str,
        signing_key: SigningKey,
        linkage_keys: Sequence[LinkageKey],
        codec: Codec,
        max_body_bytes: int,
        limits: Limits | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self.issuer = issuer
        self._signing_key = signing_key
        self._linkage_keys = tuple(linkage_keys)
        self._codec = codec
        self._body_codec = Codec()
        self._max_body = max_body_bytes
        self._limits = limits or Limits()
        self._sealer = sealer or Sealer()

    def check(
        self, alert: AlertDraft | Mapping[str, Any], directory: Directory, now: datetime
    ) -> CheckedAlert:
        """Everything but sealing; raises :class:`AlertRejectedError` with every problem."""
        draft = alert if isinstance(alert, AlertDraft) else parse_draft(alert)
        try:
            body = self._body_codec.encode("AlertBody", draft.body)
        except EncodeError as exc:
            code = FailureCode.INVALID if exc.path else FailureCode.TOO_LARGE
            raise AlertValidationError([_encode_problem(exc, "body")], code=code) from None
        if len(body) > self._max_body:
            raise AlertValidationError(
                [f"the body encodes to {len(body)} bytes, over the {self._max_body}-byte limit"],
                code=FailureCode.TOO_LARGE,
            )
        facts, body_problems = read_body(draft.body, at=draft.created_at or now)
        outcome = check_rules(
            draft, facts, issuer=self.issuer, directory=directory, now=now, limits=self._limits
        )
        problems = [*outcome.problems, *body_problems]
        if problems:
            raise AlertValidationError(problems)
        try:
            tokens = linkage_tokens(facts.identities, self._linkage_keys)
        except LinkageError as exc:
            raise AlertValidationError([f"body.person: {exc}"]) from None
        metadata = AlertMetadata(
            alert_id=make_alert_id(self.issuer, draft.idempotency_key),
            case_ref=draft.case_ref,
            issuer=self.issuer,
            corridor=draft.corridor,
            alert_type=draft.alert_type,
            phase=draft.phase,
            priority=draft.priority,
            handling=draft.handling,
            tlp=draft.tlp,
            data_categories=draft.data_categories,
            involves_minor=outcome.involves_minor,
            best_interests_assessed=draft.best_interests_assessed,
            consent=draft.consent,
            created_at=outcome.created_at,
            addressees=draft.addressees,
            linkage_tokens=tokens,
        )
        recipients = choose_recipients(metadata, directory, now)
        return CheckedAlert(draft.idempotency_key, metadata, body, recipients)

    def seal(self, checked: CheckedAlert) -> PreparedAlert:
        """Seal for the checked recipients, sign, and encode the CaseAlert."""
        try:
            sealed = self._sealer.seal(
                checked.metadata, checked.body, checked.recipients.keys, self._signing_key
            )
        except SealError as exc:  # names agencies and key ids only
            raise AlertValidationError([f"cannot seal the alert: {exc}"]) from exc
        try:
            value = self._codec.encode("CaseAlert", alert_to_record(sealed))
        except EncodeError as exc:
            code = FailureCode.INVALID if exc.path else FailureCode.TOO_LARGE
            raise AlertValidationError([_encode_problem(exc, "alert")], code=code) from None
        metadata = checked.metadata
        return PreparedAlert(
            idempotency_key=checked.idempotency_key,
            metadata=metadata,
            recipients=checked.recipients.agency_ids,
            key=metadata.corridor.key.encode("utf-8"),
            value=value,
            headers=(
                (EVENT_HEADER, b"CaseAlert"),
                (ALERT_ID_HEADER, metadata.alert_id.encode("ascii")),
            ),
        )

    def prepare(
        self, alert: AlertDraft | Mapping[str, Any], directory: Directory, now: datetime
    ) -> PreparedAlert:
        return self.seal(self.check(alert, directory, now))
