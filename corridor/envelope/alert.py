"""Sealing, verifying and opening case alerts.

What each part covers (all encodings are :mod:`corridor.canonical`):

* body AAD = ``("corridor/v1/alert-body", suite, metadata)``: the clear metadata is
  authenticated with the body, so changing any metadata field makes opening fail;
* each data key is HPKE-wrapped with ``info`` binding the suite, ``("alert", alert_id)``
  and the recipient's agency and key id (see :mod:`corridor.envelope.body`); under
  ``CORRIDOR-2`` the wrapped key is the issuer's reusable wrapping key, the label is
  ``("issuer", issuer)``, and the body key is derived from it, the alert id and the
  nonce (see :mod:`corridor.envelope.reuse`);
* the signature covers, under context ``"alert"``, the body AAD, nonce, ciphertext,
  every wrapped key with its ids, and the signer's key id.

A processor calls :func:`verify_alert` only; a recipient calls :func:`verify_and_open`
(or :func:`verify_alert` then :func:`open_alert`). Opening alone proves the body was
sealed together with this metadata, not who sealed it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from corridor import canonical
from corridor.canonical import Canonical
from corridor.domain import Agency, AlertMetadata, SealedAlert, WrappedKey
from corridor.envelope.body import RandomSource, open_body, seal_body, seal_body_derived
from corridor.envelope.errors import InvalidAlert, OpenError, RejectReason, SealError
from corridor.envelope.keys import EncryptionKey, RecipientKey, SigningKey
from corridor.envelope.payload import SealedPayload, seal_payload
from corridor.envelope.reuse import KeyReuse, WrappingKeys
from corridor.envelope.signing import signature_valid, signed_bytes
from corridor.envelope.suites import (
    COMMITMENT_LENGTH,
    DEFAULT_SUITE,
    GCM_TAG_LENGTH,
    NONCE_LENGTH,
    SIGNATURE_LENGTH,
    SUITES,
    CipherSuite,
)
from corridor.envelope.unwrapped import UnwrappedKeys

__all__ = [
    "ALERT_SIGNATURE_CONTEXT",
    "DEFAULT_CLOCK_SKEW",
    "Sealer",
    "alert_body_aad",
    "alert_signed_bytes",
    "open_alert",
    "verify_alert",
    "verify_and_open",
]

ALERT_SIGNATURE_CONTEXT = "alert"
BODY_AAD_CONTEXT = "corridor/v1/alert-body"
#: How far in the future an alert's ``created_at`` may be before it is refused.
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)


class _LastAad:
    """The body AAD of the last metadata encoded: a recipient verifies then opens the
    same alert, and both need it. Keyed by identity (metadata is frozen, and the entry
    holds it, so the identity cannot be reused while cached); one entry per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, suite_id: str, metadata: AlertMetadata) -> bytes:
        last = getattr(self._local, "last", None)
        if last is not None and last[0] is metadata and last[1] == suite_id:
            return last[2]  # type: ignore[no-any-return]
        aad = canonical.encode_with_metadata((BODY_AAD_CONTEXT, suite_id), metadata)
        self._local.last = (metadata, suite_id, aad)
        return aad


_LAST_AAD = _LastAad()


def _body_aad(suite_id: str, metadata: AlertMetadata) -> bytes:
    return _LAST_AAD.get(suite_id, metadata)


def _wrap_label(suite: CipherSuite, metadata: AlertMetadata) -> Canonical:
    if suite.derives_body_key:
        return ("issuer", metadata.issuer)
    return ("alert", metadata.alert_id)


def _signed_value(
    aad: bytes,
    nonce: bytes,
    ciphertext: bytes,
    recipients: Sequence[WrappedKey],
    signer_key_id: str,
) -> Canonical:
    return (
        aad,
        nonce,
        ciphertext,
        tuple((w.agency_id, w.key_id, w.enc, w.wrapped_key) for w in recipients),
        signer_key_id,
    )


def alert_body_aad(suite_id: str, metadata: AlertMetadata) -> bytes:
    """The associated data the body is encrypted under: suite and canonical metadata."""
    return _body_aad(suite_id, metadata)


def alert_signed_bytes(alert: SealedAlert) -> bytes:
    """The exact bytes the alert's signature covers (for vectors and other implementations)."""
    return signed_bytes(
        ALERT_SIGNATURE_CONTEXT,
        _signed_value(
            _body_aad(alert.suite, alert.metadata),
            alert.body_nonce,
            alert.body_ciphertext,
            alert.recipients,
            alert.signer_key_id,
        ),
    )


class Sealer:
    """Seals alerts (and small payloads) under one suite.

    ``randomness`` supplies data keys and nonces. It exists only so known-answer tests can
    fix them; leave it at its default (``os.urandom``) everywhere else. HPKE's ephemeral
    keys are drawn inside the library whatever is passed here.

    ``key_reuse`` is for a suite that reuses wrapping keys (``CORRIDOR-2``), and
    required by one: how many alerts and how long one wrapping key serves one set of
    recipient keys; ``on_new_wrap`` is called each time a new one is made (a metric).
    """

    __slots__ = ("_randomness", "_suite", "_wrapping")

    def __init__(
        self,
        *,
        suite: str = DEFAULT_SUITE,
        randomness: RandomSource = os.urandom,
        key_reuse: KeyReuse | None = None,
        on_new_wrap: Callable[[], object] | None = None,
    ) -> None:
        found = SUITES.get(suite)
        if found is None:
            raise SealError(f"unsupported suite {suite!r}")
        self._suite: CipherSuite = found
        self._randomness = randomness
        self._wrapping: WrappingKeys | None = None
        if found.derives_body_key:
            if key_reuse is None:
                raise SealError(f"suite {suite} needs key_reuse (how far to reuse a wrap)")
            self._wrapping = WrappingKeys(
                found, key_reuse, randomness=randomness, on_new=on_new_wrap
            )
        elif key_reuse is not None:
            raise SealError(f"suite {suite} does not reuse wrapping keys")

    @property
    def suite(self) -> str:
        return self._suite.id

    def seal(
        self,
        metadata: AlertMetadata,
        body: bytes,
        recipients: Sequence[RecipientKey],
        signer: SigningKey,
    ) -> SealedAlert:
        """Encrypt ``body`` (already Avro-encoded) for ``recipients`` and sign the envelope.

        One AES-GCM encryption, one HPKE wrap per recipient (or none, while a wrapping
        key for exactly these recipients may be reused), one signature.
        """
        if not isinstance(signer, SigningKey):
            raise SealError("signer must be a SigningKey")
        try:
            aad = _body_aad(self._suite.id, metadata)
        except canonical.CanonicalError as exc:
            raise SealError(f"alert {metadata.alert_id}: metadata cannot be signed: {exc}") from exc
        label = _wrap_label(self._suite, metadata)
        if self._wrapping is None:
            sealed = seal_body(
                self._suite,
                body,
                aad=aad,
                label=label,
                recipients=recipients,
                randomness=self._randomness,
            )
        else:
            wrapping = self._wrapping.get(label, recipients)
            sealed = seal_body_derived(
                self._suite,
                body,
                aad=aad,
                wrapping_key=wrapping.key,
                wrapped=wrapping.recipients,
                context=metadata.alert_id,
                randomness=self._randomness,
            )
        signature = signer.sign(
            ALERT_SIGNATURE_CONTEXT,
            _signed_value(aad, sealed.nonce, sealed.ciphertext, sealed.recipients, signer.key_id),
        )
        return SealedAlert(
            suite=self._suite.id,
            metadata=metadata,
            body_nonce=sealed.nonce,
            body_ciphertext=sealed.ciphertext,
            recipients=sealed.recipients,
            signer_key_id=signer.key_id,
            signature=signature,
        )

    def seal_payload(
        self,
        payload: bytes,
        recipients: Sequence[RecipientKey],
        *,
        purpose: str,
        associated: Canonical,
    ) -> SealedPayload:
        """Seal a small payload (an acknowledgement's note) with the same primitives.

        See :func:`corridor.envelope.payload.seal_payload`.
        """
        return seal_payload(
            self._suite,
            payload,
            recipients,
            purpose=purpose,
            associated=associated,
            randomness=self._randomness,
        )


def _well_formed(alert: SealedAlert, suite: CipherSuite) -> bool:
    if (
        len(alert.body_nonce) != NONCE_LENGTH
        or len(alert.body_ciphertext) < COMMITMENT_LENGTH + GCM_TAG_LENGTH
        or len(alert.signature) != SIGNATURE_LENGTH
        or not alert.recipients
    ):
        return False
    idents = {(w.agency_id, w.key_id) for w in alert.recipients}
    return len(idents) == len(alert.recipients) and all(
        len(w.enc) == suite.enc_length and len(w.wrapped_key) == suite.wrapped_key_length
        for w in alert.recipients
    )


def verify_alert(
    alert: SealedAlert,
    issuer: Agency,
    *,
    at_time: datetime | None = None,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> None:
    """Check that ``issuer`` signed ``alert`` exactly as it is, with a key valid then.

    The signing key must be valid at ``metadata.created_at``, and ``created_at`` may lie
    at most ``max_clock_skew`` after ``at_time`` (default: now). The issuer's status
    (active, suspended, revoked) is the policy's concern, not this function's.

    Raises :class:`InvalidAlert` with a generic message and a ``reason`` for the
    dead-letter topic.
    """
    if at_time is not None and at_time.utcoffset() is None:
        raise ValueError("at_time must be timezone-aware")
    suite = SUITES.get(alert.suite)
    if suite is None:
        raise InvalidAlert(RejectReason.UNSUPPORTED_SUITE)
    if not _well_formed(alert, suite):
        raise InvalidAlert(RejectReason.MALFORMED)
    metadata = alert.metadata
    if metadata.issuer != issuer.id:
        raise InvalidAlert(RejectReason.ISSUER_MISMATCH)
    key = issuer.signing_key(alert.signer_key_id)
    if key is None:
        raise InvalidAlert(RejectReason.UNKNOWN_KEY)
    try:
        message = alert_signed_bytes(alert)
    except canonical.CanonicalError:
        raise InvalidAlert(RejectReason.MALFORMED) from None
    if not signature_valid(key.public_key, alert.signature, message):
        raise InvalidAlert(RejectReason.BAD_SIGNATURE)
    now = at_time if at_time is not None else datetime.now(UTC)
    try:
        key_valid = key.valid_at(metadata.created_at)
        from_future = metadata.created_at > now + max_clock_skew
    except TypeError:  # a naive validity time in the directory
        raise InvalidAlert(RejectReason.KEY_NOT_VALID) from None
    if not key_valid:
        raise InvalidAlert(RejectReason.KEY_NOT_VALID)
    if from_future:
        raise InvalidAlert(RejectReason.CREATED_IN_FUTURE)


def open_alert(
    alert: SealedAlert,
    recipient_id: str,
    key: EncryptionKey,
    *,
    unwrapped: UnwrappedKeys | None = None,
) -> bytes:
    """Decrypt the body with the recipient's key; does NOT check who signed it.

    ``unwrapped`` lets a recipient that opens many alerts unwrap a reused wrapping key
    once. Raises :class:`OpenError` for every failure: not a recipient, wrong key, an
    unsupported suite, or anything tampered with.
    """
    suite = SUITES.get(alert.suite)
    if suite is None:
        raise OpenError
    try:
        aad = _body_aad(suite.id, alert.metadata)
    except canonical.CanonicalError:
        raise OpenError from None
    return open_body(
        suite,
        nonce=alert.body_nonce,
        ciphertext=alert.body_ciphertext,
        recipients=alert.recipients,
        aad=aad,
        label=_wrap_label(suite, alert.metadata),
        recipient_id=recipient_id,
        key=key,
        context=alert.metadata.alert_id,
        unwrapped=unwrapped,
    )


def verify_and_open(
    alert: SealedAlert,
    issuer: Agency,
    recipient_id: str,
    key: EncryptionKey,
    *,
    at_time: datetime | None = None,
    unwrapped: UnwrappedKeys | None = None,
) -> bytes:
    """What a recipient should call: :func:`verify_alert`, then :func:`open_alert`."""
    verify_alert(alert, issuer, at_time=at_time)
    return open_alert(alert, recipient_id, key, unwrapped=unwrapped)
