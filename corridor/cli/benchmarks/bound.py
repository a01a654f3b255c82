"""The bound: what the cryptography and the Avro encoding cost per alert, per core.

Every operation runs alone in one thread on the same alert the pipeline carries (a
sample alert of the benchmark's issuer, sealed as the publisher seals it). Rates are
per CPU second of the measuring thread (``time.thread_time``), so they are per core
and a busy machine slows them much less than it slows wall-clock figures.

A stage's bound is the sum of the operations it cannot avoid per alert; no
implementation of the stage can do better on one core:

* producer: encode the body, seal as the publisher seals (AES-GCM, one Ed25519
  signature, and the HPKE wraps per recipient: under a reused wrapping key, one per
  ``producer.key_reuse_alerts`` alerts), encode the CaseAlert, and the produce call
  (measured by the baseline);
* processor: decode the CaseAlert and verify its signature, plus faust's own cost per
  event (measured by an empty agent, see :mod:`.faust_probe`);
* consumer: decode, verify, open as the consumer opens (a reused wrap is unwrapped
  once), decode the body.

Sealing with one wrap per alert (``seal_*_each``) and opening without the unwrap cache
(``open_alert_unwrap``) are measured too, so the table shows what the reuse saves.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corridor.codec import Codec
from corridor.config import Settings
from corridor.directory_topic import read_directory
from corridor.domain import Directory
from corridor.envelope import (
    DEFAULT_SUITE,
    EncryptionKey,
    Sealer,
    SigningKey,
    UnwrappedKeys,
    alert_signed_bytes,
    open_alert,
    verify_alert,
)
from corridor.envelope.suites import SUITES
from corridor.records import alert_from_record, alert_to_record
from corridor.workspace import Workspace
from producers import CheckedAlert, Preparer, alert_sealer

from .workload import CONSUMER_AGENCY, ISSUER, alerts

__all__ = ["Sample", "bound_table", "measure", "prepare_sample"]

#: One line of the bound table: (key, label).
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("ed25519_sign", "Ed25519 sign"),
    ("ed25519_verify", "Ed25519 verify"),
    ("hpke_seal", "HPKE seal (wrap the data key)"),
    ("hpke_open", "HPKE open (unwrap the data key)"),
    ("aes_gcm_encrypt", "AES-256-GCM encrypt body"),
    ("aes_gcm_decrypt", "AES-256-GCM decrypt body"),
    ("avro_encode_alert", "Avro encode CaseAlert (codec)"),
    ("avro_decode_alert", "Avro decode CaseAlert (codec)"),
    ("avro_encode_body", "Avro encode AlertBody (codec)"),
    ("avro_decode_body", "Avro decode AlertBody (codec)"),
    ("seal_1_each", "seal for 1 recipient, a wrap per alert"),
    ("seal_3_each", "seal for 3 recipients, a wrap per alert"),
    ("seal_1", "seal for 1 recipient, as published"),
    ("seal_3", "seal for 3 recipients, as published"),
    ("decode_alert", "decode + rebuild the alert"),
    ("verify_alert", "verify_alert"),
    ("open_alert_unwrap", "open_alert, unwrapping"),
    ("open_alert", "open_alert, as consumed"),
)


def measure(operation: Callable[[], object], seconds: float) -> float:
    """Operations per CPU second of this thread, over at least ``seconds`` of it."""
    operation()  # warm caches
    batch, done = 1, 0
    start = time.thread_time()
    elapsed = 0.0
    while elapsed < seconds:
        for _ in range(batch):
            operation()
        done += batch
        batch = min(batch * 2, 1024)
        elapsed = time.thread_time() - start
    return done / elapsed


@dataclass(frozen=True, slots=True)
class Sample:
    """One alert of the benchmark, at each step of its life, with the keys involved."""

    directory: Directory
    signer: SigningKey
    recipient_key: EncryptionKey
    checked: dict[int, CheckedAlert]
    body_record: dict[str, Any]
    value: bytes
    sealer: Sealer


def prepare_sample(settings: Settings, partitions: int) -> Sample:
    """A sample alert checked for 1 and 3 recipients, exactly as the publisher does."""
    workspace = Workspace(settings.home)
    directory = read_directory(workspace.admin_connection(), workspace.authority_public_key())
    keys = workspace.agency_keys(ISSUER)
    codec, sealer = Codec(), alert_sealer(settings)
    preparer = Preparer(
        issuer=ISSUER,
        signing_key=keys.signing,
        linkage_keys=workspace.linkage_keys(),
        codec=codec,
        max_body_bytes=settings.producer.max_body_bytes,
        sealer=sealer,
    )
    now = datetime.now(UTC)
    checked = {}
    for count in (1, 3):
        draft = next(alerts(1, tag=f"bench-bound-{count}", partitions=partitions, recipients=count))
        checked[count] = preparer.check(draft, directory, now)
        found = len(checked[count].recipients.keys)
        if found != count:
            raise RuntimeError(f"the sample alert has {found} recipients, not {count}")
    value = preparer.seal(checked[1]).value
    return Sample(
        directory=directory,
        signer=keys.signing,
        recipient_key=workspace.agency_keys(CONSUMER_AGENCY).encryption,
        checked=checked,
        body_record=codec.decode_as("AlertBody", checked[1].body),
        value=value,
        sealer=sealer,
    )


def _operations(sample: Sample) -> dict[str, Callable[[], object]]:
    codec, each, sealer = Codec(), Sealer(), sample.sealer
    one, three = sample.checked[1], sample.checked[3]
    sealed = sealer.seal(one.metadata, one.body, one.recipients.keys, sample.signer)
    unwrapped = UnwrappedKeys()
    record = alert_to_record(sealed)
    issuer = sample.directory.agencies[ISSUER]
    message = alert_signed_bytes(sealed)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_public, signature = ed_key.public_key(), ed_key.sign(message)
    suite = SUITES[DEFAULT_SUITE].hpke
    x_key = x25519.X25519PrivateKey.generate()
    data_key = os.urandom(32)
    wrapped = suite.encrypt(data_key, x_key.public_key(), info=b"corridor")
    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = os.urandom(12)
    ciphertext = aes.encrypt(nonce, one.body, b"aad")
    value = sample.value
    at = datetime.now(UTC)
    return {
        "ed25519_sign": lambda: ed_key.sign(message),
        "ed25519_verify": lambda: ed_public.verify(signature, message),
        "hpke_seal": lambda: suite.encrypt(data_key, x_key.public_key(), info=b"corridor"),
        "hpke_open": lambda: suite.decrypt(wrapped, x_key, info=b"corridor"),
        "aes_gcm_encrypt": lambda: aes.encrypt(nonce, one.body, b"aad"),
        "aes_gcm_decrypt": lambda: aes.decrypt(nonce, ciphertext, b"aad"),
        "avro_encode_alert": lambda: codec.encode("CaseAlert", record),
        "avro_decode_alert": lambda: codec.decode_as("CaseAlert", value),
        "avro_encode_body": lambda: codec.encode("AlertBody", sample.body_record),
        "avro_decode_body": lambda: codec.decode_as("AlertBody", one.body),
        "seal_1_each": lambda: each.seal(
            one.metadata, one.body, one.recipients.keys, sample.signer
        ),
        "seal_3_each": lambda: each.seal(
            three.metadata, three.body, three.recipients.keys, sample.signer
        ),
        "seal_1": lambda: sealer.seal(one.metadata, one.body, one.recipients.keys, sample.signer),
        "seal_3": lambda: sealer.seal(
            three.metadata, three.body, three.recipients.keys, sample.signer
        ),
        "decode_alert": lambda: alert_from_record(codec.decode_as("CaseAlert", value)),
        "verify_alert": lambda: verify_alert(sealed, issuer, at_time=at),
        "open_alert_unwrap": lambda: open_alert(sealed, CONSUMER_AGENCY, sample.recipient_key),
        "open_alert": lambda: open_alert(
            sealed, CONSUMER_AGENCY, sample.recipient_key, unwrapped=unwrapped
        ),
    }


def bound_table(sample: Sample, seconds: float) -> dict[str, dict[str, float]]:
    """Each operation's rate per core and its cost in microseconds."""
    table = {}
    for name, operation in _operations(sample).items():
        rate = measure(operation, seconds)
        table[name] = {"per_s": round(rate, 1), "us": round(1e6 / rate, 2)}
    return table


def stage_bounds(
    table: dict[str, dict[str, float]], produce_call_us: float, faust_event_us: float
) -> dict[str, float]:
    """Each stage's bound in microseconds per alert (see the module docstring)."""

    def us(*names: str) -> float:
        return sum(table[name]["us"] for name in names)

    encode = us("avro_encode_body", "avro_encode_alert")
    return {
        "producer_1": round(encode + us("seal_1") + produce_call_us, 2),
        "producer_3": round(encode + us("seal_3") + produce_call_us, 2),
        "processor": round(us("decode_alert", "verify_alert") + faust_event_us, 2),
        "consumer": round(us("decode_alert", "verify_alert", "open_alert", "avro_decode_body"), 2),
    }
