"""Directory entries as Kafka record values: canonical JSON, binary fields in base64.

The record key is ``SignedEntry.record_key``; decoding checks the shape and that the
bytes are the entry's canonical encoding, and ``verify_entry`` or
``assemble_directory`` then decides whether to trust it.
"""

from __future__ import annotations

import base64
import binascii
import json

from corridor.directory_fields import Checker, DirectoryError, format_timestamp
from corridor.directory_signing import EntryKind, SignedEntry, canonical_json

__all__ = ["decode_signed_entry", "encode_signed_entry"]


def encode_signed_entry(signed: SignedEntry) -> bytes:
    """The record value for the directory topic (canonical JSON, binary fields in base64)."""
    return canonical_json(
        {
            "kind": signed.kind.value,
            "entry_id": signed.entry_id,
            "version": signed.version,
            "issued_at": format_timestamp(signed.issued_at),
            "payload": base64.b64encode(signed.payload).decode("ascii"),
            "authority_key_id": signed.authority_key_id,
            "signature": base64.b64encode(signed.signature).decode("ascii"),
        }
    )


def decode_signed_entry(data: bytes) -> SignedEntry:
    """The inverse of :func:`encode_signed_entry`; the signature is not checked here."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DirectoryError("directory record is not JSON") from exc
    checker = Checker()
    record = checker.mapping(raw, "record")
    if record is None:
        raise DirectoryError.from_problems("directory record", checker.problems)
    names = ("kind", "entry_id", "version", "issued_at", "payload", "authority_key_id", "signature")
    checker.fields(record, "record", required=names)
    kind = checker.enum(record.get("kind"), EntryKind, "record.kind")
    entry_id = checker.string(record.get("entry_id"), "record.entry_id")
    version = checker.integer(record.get("version"), "record.version", minimum=1)
    issued_at = checker.timestamp(record.get("issued_at"), "record.issued_at")
    key_id = checker.string(record.get("authority_key_id"), "record.authority_key_id")
    payload = _b64(checker, record.get("payload"), "record.payload")
    signature = _b64(checker, record.get("signature"), "record.signature")
    checker.raise_if_any("directory record")
    if (
        kind is None
        or entry_id is None
        or version is None
        or issued_at is None
        or key_id is None
        or payload is None
        or signature is None
    ):  # pragma: no cover - every None was reported above
        raise DirectoryError("directory record is incomplete")
    entry = SignedEntry(kind, entry_id, version, issued_at, payload, key_id, signature)
    # One entry has one record: other spellings of the same values (another separator
    # in the timestamp, padding bits in base64, spacing, key order) are refused, so a
    # record's bytes cannot change while its signature still verifies.
    if encode_signed_entry(entry) != data:
        raise DirectoryError("directory record is not in its canonical encoding")
    return entry


def _b64(checker: Checker, value: object, where: str) -> bytes | None:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    checker.add(where, "is not standard base64")
    return None
