"""Signed directory entries: what lets every reader trust the compacted directory topic.

Each agency and agreement is published as its own record (key ``agency:AT-BKA``), so
each is signed on its own and verifiable alone. A manifest entry, signed too, pins the
exact set of entries of one directory version: a reader that trusts the manifest can
tell a complete directory from one with entries withheld, dropped or replayed from an
older version.

Signed bytes (all lengths 4-byte big-endian, integers 8-byte big-endian)::

    "corridor/directory-entry/v1" 0x00
    len kind | len entry_id | version | len issued_at | len authority_key_id | len payload

``payload`` is the entry in canonical JSON: the normal form produced by
``agency_to_data``/``agreement_to_data`` (sets sorted, instants in UTC with ``Z``,
durations in ISO-8601), serialised with sorted keys, no whitespace, UTF-8, no NaN.
The same entry therefore always signs to the same payload. The authority key is an
Ed25519 key; it is stored as PKCS#8 PEM in a file only its owner can read.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from corridor.directory_authority import (
    DirectoryAuthorityKey,
    authority_key_id,
    load_authority_public_key,
)

__all__ = [
    "CONTEXT",
    "DirectoryAuthorityKey",
    "DirectorySignatureError",
    "EntryKind",
    "SignedDirectory",
    "SignedEntry",
    "assemble_directory",
    "authority_key_id",
    "canonical_json",
    "entry_payload",
    "load_authority_public_key",
    "rebuild_signed_entry",
    "sign_directory",
    "sign_entry",
    "sign_manifest",
    "verify_directory",
    "verify_entry",
]
from corridor.directory_fields import Checker, DirectoryError, format_timestamp
from corridor.directory_file import (
    agency_to_data,
    agreement_to_data,
    parse_agency,
    parse_agreement,
    parse_directory,
)
from corridor.domain import Agency, Agreement, Directory

CONTEXT = b"corridor/directory-entry/v1\x00"
MANIFEST_ID = "directory"
_AUTHORITY_KEY_BYTES = 32


class DirectorySignatureError(DirectoryError):
    """A directory entry is not signed by the trusted authority (any reason, deliberately)."""

    def __init__(self) -> None:
        super().__init__("directory entry signature is not valid for the trusted authority")


class EntryKind(StrEnum):
    AGENCY = "agency"
    AGREEMENT = "agreement"
    MANIFEST = "manifest"


@dataclass(frozen=True, slots=True)
class SignedEntry:
    """One directory record as published: the entry's canonical payload and its signature."""

    kind: EntryKind
    entry_id: str
    version: int
    issued_at: datetime
    payload: bytes
    authority_key_id: str
    signature: bytes

    @property
    def record_key(self) -> str:
        """The key of this entry's record on the compacted directory topic."""
        return f"{self.kind.value}:{self.entry_id}"

    def signed_bytes(self) -> bytes:
        return _message(
            self.kind,
            self.entry_id,
            version=self.version,
            issued_at=self.issued_at,
            key_id=self.authority_key_id,
            payload=self.payload,
        )

    def digest(self) -> str:
        """What the manifest pins: SHA-256 of the signed bytes, hex."""
        return hashlib.sha256(self.signed_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedDirectory:
    """A whole directory version: the manifest and every entry it lists."""

    manifest: SignedEntry
    entries: tuple[SignedEntry, ...]


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, finite numbers only."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _lp(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _message(
    kind: EntryKind,
    entry_id: str,
    *,
    version: int,
    issued_at: datetime,
    key_id: str,
    payload: bytes,
) -> bytes:
    return b"".join(
        (
            CONTEXT,
            _lp(kind.value.encode()),
            _lp(entry_id.encode()),
            struct.pack(">Q", version),
            _lp(format_timestamp(issued_at).encode()),
            _lp(key_id.encode()),
            _lp(payload),
        )
    )


def _normal_form(kind: EntryKind, entry_data: Mapping[str, object]) -> tuple[str, dict[str, Any]]:
    if kind is EntryKind.AGENCY:
        agency = parse_agency(entry_data)
        return agency.id, agency_to_data(agency)
    if kind is EntryKind.AGREEMENT:
        agreement = parse_agreement(entry_data)
        return agreement.id, agreement_to_data(agreement)
    raise DirectoryError(f"cannot sign a {kind.value} entry this way; use sign_directory")


def _sign(
    kind: EntryKind,
    entry_id: str,
    payload: bytes,
    *,
    authority_key: DirectoryAuthorityKey,
    version: int,
    issued_at: datetime,
) -> SignedEntry:
    checker = Checker()
    checker.integer(version, "version", minimum=1)
    checker.timestamp(issued_at, "issued_at")
    checker.raise_if_any(f"{kind.value} {entry_id}")
    key_id = authority_key.key_id
    message = _message(
        kind, entry_id, version=version, issued_at=issued_at, key_id=key_id, payload=payload
    )
    signature = authority_key._sign(message)
    return SignedEntry(kind, entry_id, version, issued_at, payload, key_id, signature)


def sign_entry(
    kind: EntryKind | str,
    entry_data: Mapping[str, object],
    authority_key: DirectoryAuthorityKey,
    version: int,
    issued_at: datetime,
) -> SignedEntry:
    """Validate one agency or agreement entry and sign its canonical form."""
    try:
        kind = EntryKind(kind)
    except ValueError as exc:
        raise DirectoryError(f"{kind!r} is not a directory entry kind") from exc
    entry_id, normal = _normal_form(kind, entry_data)
    return _sign(
        kind,
        entry_id,
        canonical_json(normal),
        authority_key=authority_key,
        version=version,
        issued_at=issued_at,
    )


def entry_payload(entry: Agency | Agreement) -> bytes:
    """The canonical payload of an entry: what its signature covers.

    It depends only on the entry's value, so a reader that received the entry in
    another encoding (an Avro ``DirectoryRecord``, say) can rebuild the exact signed
    bytes with :func:`rebuild_signed_entry` and verify them.
    """
    if isinstance(entry, Agency):
        return canonical_json(agency_to_data(entry))
    return canonical_json(agreement_to_data(entry))


def rebuild_signed_entry(
    entry: Agency | Agreement,
    *,
    version: int,
    issued_at: datetime,
    authority_key_id: str,
    signature: bytes,
) -> SignedEntry:
    """A :class:`SignedEntry` from an entry carried in another encoding, ready to verify."""
    kind = EntryKind.AGENCY if isinstance(entry, Agency) else EntryKind.AGREEMENT
    return SignedEntry(
        kind, entry.id, version, issued_at, entry_payload(entry), authority_key_id, signature
    )


def _check_signature(signed: SignedEntry, authority_public_key: bytes) -> None:
    if len(authority_public_key) != _AUTHORITY_KEY_BYTES:
        raise DirectoryError("the trusted authority public key must be 32 raw bytes")
    if signed.authority_key_id != authority_key_id(authority_public_key):
        raise DirectorySignatureError
    try:
        Ed25519PublicKey.from_public_bytes(authority_public_key).verify(
            signed.signature, signed.signed_bytes()
        )
    except (InvalidSignature, ValueError) as exc:
        raise DirectorySignatureError from exc


def _payload(signed: SignedEntry) -> Any:
    try:
        return json.loads(signed.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DirectoryError(f"{signed.record_key}: payload is not JSON") from exc


def verify_entry(signed: SignedEntry, authority_public_key: bytes) -> Agency | Agreement:
    """The agency or agreement in ``signed``, once its signature checks out."""
    _check_signature(signed, authority_public_key)
    data = _payload(signed)
    if not isinstance(data, Mapping):
        raise DirectoryError(f"{signed.record_key}: payload is not an object")
    entry: Agency | Agreement
    if signed.kind is EntryKind.AGENCY:
        entry = parse_agency(data, where=signed.record_key)
    elif signed.kind is EntryKind.AGREEMENT:
        entry = parse_agreement(data, where=signed.record_key)
    else:
        raise DirectoryError(f"{signed.record_key}: a manifest is checked with verify_directory")
    if entry.id != signed.entry_id:
        raise DirectoryError(f"{signed.record_key}: payload describes {entry.id!r}")
    return entry


def sign_directory(directory: Directory, authority_key: DirectoryAuthorityKey) -> SignedDirectory:
    """Sign every entry under the directory's version, and a manifest pinning them all."""
    version, issued_at = directory.version, directory.issued_at
    entries = tuple(
        [
            sign_entry(EntryKind.AGENCY, agency_to_data(a), authority_key, version, issued_at)
            for a in directory.agencies.values()
        ]
        + [
            sign_entry(EntryKind.AGREEMENT, agreement_to_data(a), authority_key, version, issued_at)
            for a in directory.agreements.values()
        ]
    )
    manifest = sign_manifest(entries, authority_key, version, issued_at)
    return SignedDirectory(manifest, entries)


def sign_manifest(
    entries: Iterable[SignedEntry],
    authority_key: DirectoryAuthorityKey,
    version: int,
    issued_at: datetime,
) -> SignedEntry:
    """The manifest of directory ``version``: the exact entries that make it up.

    Entries that did not change may keep the older version they were signed under, so
    a new version only needs its changed entries and a new manifest to be published.
    """
    listed = list(entries)
    problems = [
        f"{e.record_key}: version {e.version} is newer than {version}"
        for e in listed
        if e.version > version
    ]
    keys = [e.record_key for e in listed]
    problems += sorted({f"{k}: listed twice" for k in keys if keys.count(k) > 1})
    if any(e.kind is EntryKind.MANIFEST for e in listed):
        problems.append("a manifest cannot list another manifest")
    if problems:
        raise DirectoryError.from_problems(f"directory manifest {version}", problems)
    listing = {"entries": {e.record_key: e.digest() for e in listed}}
    return _sign(
        EntryKind.MANIFEST,
        MANIFEST_ID,
        canonical_json(listing),
        authority_key=authority_key,
        version=version,
        issued_at=issued_at,
    )


def _manifest_listing(manifest: SignedEntry, authority_public_key: bytes) -> dict[str, str]:
    _check_signature(manifest, authority_public_key)
    data = _payload(manifest)
    listing = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(listing, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in listing.items()
    ):
        raise DirectoryError("directory manifest: payload has no entries listing")
    return listing


def _newest_manifest(
    manifests: Iterable[SignedEntry], authority_public_key: bytes
) -> tuple[SignedEntry, dict[str, str]]:
    """The newest manifest that verifies; forged ones are skipped, not trusted."""
    for manifest in sorted(manifests, key=lambda e: e.version, reverse=True):
        try:
            return manifest, _manifest_listing(manifest, authority_public_key)
        except DirectorySignatureError:
            continue
    raise DirectorySignatureError


def assemble_directory(
    entries: Iterable[SignedEntry],
    authority_public_key: bytes,
    *,
    not_older_than: int = 1,
) -> Directory:
    """The directory that the newest valid manifest among ``entries`` describes.

    ``entries`` is what a reader collected from the directory topic: records the
    manifest does not list (stale or superseded) are ignored, and a listed record that
    is missing or differs from what the manifest pinned makes the whole directory
    invalid, so a reader keeps its last good directory until the set is complete.
    ``not_older_than`` is the version the reader already trusts: an older manifest is a
    rollback and is refused.
    """
    collected = list(entries)
    manifests = [e for e in collected if e.kind is EntryKind.MANIFEST]
    if not manifests:
        raise DirectoryError("no directory manifest among the entries")
    manifest, listing = _newest_manifest(manifests, authority_public_key)
    if manifest.version < not_older_than:
        raise DirectoryError(
            f"directory version {manifest.version} is older than version {not_older_than}"
        )
    by_digest = {e.digest(): e for e in collected if e.kind is not EntryKind.MANIFEST}
    agencies: list[dict[str, Any]] = []
    agreements: list[dict[str, Any]] = []
    problems: list[str] = []
    for record_key, digest in listing.items():
        signed = by_digest.get(digest)
        if signed is None or signed.record_key != record_key or signed.version > manifest.version:
            problems.append(f"{record_key}: missing or not the version the manifest lists")
            continue
        entry = verify_entry(signed, authority_public_key)
        if isinstance(entry, Agency):
            agencies.append(agency_to_data(entry))
        else:
            agreements.append(agreement_to_data(entry))
    if problems:
        raise DirectoryError.from_problems(f"directory version {manifest.version}", problems)
    return parse_directory(
        {
            "version": manifest.version,
            "issued_at": format_timestamp(manifest.issued_at),
            "agencies": agencies,
            "agreements": agreements,
        }
    )


def verify_directory(signed: SignedDirectory, authority_public_key: bytes) -> Directory:
    """The directory in ``signed``, once the manifest and every entry check out."""
    return assemble_directory((signed.manifest, *signed.entries), authority_public_key)
