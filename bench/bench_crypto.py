"""Micro-benchmark of the envelope: raw primitives, then Corridor's seal/verify/open.

Run from the project root: ``python bench/bench_crypto.py [--seconds 1.0] [--json]``.
Everything runs in one thread, pinned to one CPU where the platform allows, so the
figures are per core. Bodies and messages are 2 KiB, a typical sealed alert body.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corridor import canonical
from corridor.domain import (
    Agency,
    AgencyKind,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    LinkageToken,
    Priority,
    PublicKey,
    Tlp,
    TrmPhase,
)
from corridor.envelope import EncryptionKey, Sealer, SigningKey, open_alert, verify_alert

BODY_SIZE = 2048


def measure(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``operation``, timed over at least ``seconds``."""
    operation()  # warm caches
    batch, done, start = 1, 0, time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for _ in range(batch):
            operation()
        done += batch
        batch = min(batch * 2, 4096)
        elapsed = time.perf_counter() - start
    return done / elapsed


def _metadata(now: datetime) -> AlertMetadata:
    return AlertMetadata(
        alert_id="4f1c2a9e-0b7d-4e59-9a53-2f0c1d6b7e88",
        case_ref="RO-2025-0042",
        issuer="RO-ANITP",
        corridor=Corridor("RO", "AT", ("HU",)),
        alert_type=AlertType.REFERRAL_REQUEST,
        phase=TrmPhase.FIRST_ASSISTANCE_AND_PROTECTION,
        priority=Priority.URGENT,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset({DataCategory.IDENTITY, DataCategory.ASSISTANCE_NEEDS}),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.ASSISTANCE,
        created_at=now,
        addressees=("AT-BKA",),
        linkage_tokens=(LinkageToken(1, os.urandom(32)), LinkageToken(1, os.urandom(32))),
    )


def benchmarks() -> list[tuple[str, Callable[[], object]]]:
    message = os.urandom(BODY_SIZE)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_public = ed_key.public_key()
    signature = ed_key.sign(message)

    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    x_key = x25519.X25519PrivateKey.generate()
    x_public = x_key.public_key()
    data_key = os.urandom(32)
    wrapped = suite.encrypt(data_key, x_public, info=b"info")

    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = os.urandom(12)
    aes_ciphertext = aes.encrypt(nonce, message, b"aad")

    now = datetime.now(UTC)
    signer = SigningKey.generate("RO-ANITP-sig-1")
    issuer = Agency(
        id="RO-ANITP",
        name="issuer",
        country="RO",
        kind=AgencyKind.NRM_COORDINATOR,
        cleared_for_children=True,
        signing_keys=(PublicKey(signer.key_id, signer.public_bytes(), now - timedelta(days=1)),),
        encryption_keys=(),
    )
    recipients = {
        agency: EncryptionKey.generate(f"{agency}-enc-1")
        for agency in ("AT-BKA", "DE-BKA", "IT-DCSA")
    }
    one = [recipients["AT-BKA"].recipient("AT-BKA")]
    three = [key.recipient(agency) for agency, key in recipients.items()]
    metadata = _metadata(now)
    sealer = Sealer()
    alert = sealer.seal(metadata, message, three, signer)

    return [
        ("Ed25519 sign (2 KiB)", lambda: ed_key.sign(message)),
        ("Ed25519 verify (2 KiB)", lambda: ed_public.verify(signature, message)),
        ("HPKE seal (wrap 32 B)", lambda: suite.encrypt(data_key, x_public, info=b"info")),
        ("HPKE open (unwrap 32 B)", lambda: suite.decrypt(wrapped, x_key, info=b"info")),
        ("AES-256-GCM encrypt 2 KiB", lambda: aes.encrypt(nonce, message, b"aad")),
        ("AES-256-GCM decrypt 2 KiB", lambda: aes.decrypt(nonce, aes_ciphertext, b"aad")),
        ("canonical metadata", lambda: canonical.encode_metadata(metadata)),
        ("seal, 1 recipient", lambda: sealer.seal(metadata, message, one, signer)),
        ("seal, 3 recipients", lambda: sealer.seal(metadata, message, three, signer)),
        ("verify (3 recipients)", lambda: verify_alert(alert, issuer, at_time=now)),
        ("open", lambda: open_alert(alert, "AT-BKA", recipients["AT-BKA"])),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    results = [(name, measure(op, args.seconds)) for name, op in benchmarks()]
    if args.json:
        json.dump({name: round(rate, 1) for name, rate in results}, sys.stdout, indent=2)
        print()
        return 0
    width = max(len(name) for name, _ in results)
    print(f"{'operation':<{width}}  {'ops/s':>10}  {'us/op':>8}")
    for name, rate in results:
        print(f"{name:<{width}}  {rate:>10,.0f}  {1e6 / rate:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
