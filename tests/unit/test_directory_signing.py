"""Signed directory entries, the manifest, and the authority key."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.directory import (
    DirectoryAuthorityKey,
    DirectoryError,
    DirectorySignatureError,
    EntryKind,
    SignedEntry,
    agency_to_data,
    agreement_to_data,
    assemble_directory,
    authority_key_id,
    decode_signed_entry,
    encode_signed_entry,
    entry_payload,
    load_authority_public_key,
    load_directory,
    rebuild_signed_entry,
    sign_directory,
    sign_entry,
    sign_manifest,
    verify_directory,
    verify_entry,
)
from corridor.directory_signing import CONTEXT, _sign, canonical_json
from corridor.domain import Agency, AgencyStatus, Agreement, AgreementStatus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "directory.json"
AUTHORITY = DirectoryAuthorityKey.generate()
DIRECTORY = load_directory(EXAMPLE)
ISSUED = datetime(2025, 2, 1, 8, 30, tzinfo=UTC)
AGENCY = next(iter(DIRECTORY.agencies.values()))
AGREEMENT = next(iter(DIRECTORY.agreements.values()))


def signed_agency() -> SignedEntry:
    return sign_entry(EntryKind.AGENCY, agency_to_data(AGENCY), AUTHORITY, 4, ISSUED)


def test_entry_round_trip() -> None:
    signed = signed_agency()
    assert signed.record_key == f"agency:{AGENCY.id}"
    assert verify_entry(signed, AUTHORITY.public_key) == AGENCY
    agreement = sign_entry("agreement", agreement_to_data(AGREEMENT), AUTHORITY, 4, ISSUED)
    assert verify_entry(agreement, AUTHORITY.public_key) == AGREEMENT


def test_payload_is_canonical_whatever_the_input_form() -> None:
    data = agency_to_data(AGENCY)
    shuffled = dict(reversed(list(data.items())))
    shuffled["signing_keys"] = [
        {**k, "valid_from": k["valid_from"].replace("Z", "+00:00")} for k in data["signing_keys"]
    ]
    first = sign_entry(EntryKind.AGENCY, data, AUTHORITY, 4, ISSUED)
    second = sign_entry(EntryKind.AGENCY, shuffled, AUTHORITY, 4, ISSUED)
    assert first.payload == second.payload
    assert first.signature == second.signature  # Ed25519 is deterministic
    assert first.payload == canonical_json(json.loads(first.payload))
    assert b" " not in first.payload.replace(AGENCY.name.encode(), b"")


def test_signed_bytes_carry_the_context_and_every_field() -> None:
    message = signed_agency().signed_bytes()
    assert message.startswith(CONTEXT)
    assert AUTHORITY.key_id.encode() in message
    assert b"2025-02-01T08:30:00Z" in message


@pytest.mark.parametrize(
    "tamper",
    [
        {"entry_id": "AT-BKA"},
        {"version": 5},
        {"issued_at": ISSUED + timedelta(seconds=1)},
        {"kind": EntryKind.AGREEMENT},
        {"payload": b"{}"},
        {"signature": bytes(64)},
        {"authority_key_id": "da-0000000000000000"},
    ],
)
def test_any_change_breaks_the_signature(tamper: dict[str, object]) -> None:
    forged = replace(signed_agency(), **tamper)  # type: ignore[arg-type]
    with pytest.raises(DirectorySignatureError) as caught:
        verify_entry(forged, AUTHORITY.public_key)
    assert str(caught.value) == "directory entry signature is not valid for the trusted authority"


def test_another_authority_is_not_trusted() -> None:
    with pytest.raises(DirectorySignatureError):
        verify_entry(signed_agency(), DirectoryAuthorityKey.generate().public_key)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_flipping_any_bit_of_the_record_is_detected(data: st.DataObject) -> None:
    record = bytearray(encode_signed_entry(signed_agency()))
    index = data.draw(st.integers(0, len(record) - 1))
    record[index] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(DirectoryError):
        verify_entry(decode_signed_entry(bytes(record)), AUTHORITY.public_key)


def test_signing_refuses_invalid_entries() -> None:
    with pytest.raises(DirectoryError, match="country"):
        sign_entry(
            EntryKind.AGENCY, {**agency_to_data(AGENCY), "country": "XX"}, AUTHORITY, 1, ISSUED
        )
    with pytest.raises(DirectoryError, match="version"):
        sign_entry(EntryKind.AGENCY, agency_to_data(AGENCY), AUTHORITY, 0, ISSUED)
    with pytest.raises(DirectoryError, match="issued_at"):
        sign_entry(EntryKind.AGENCY, agency_to_data(AGENCY), AUTHORITY, 1, datetime(2025, 1, 1))
    with pytest.raises(DirectoryError, match="manifest"):
        sign_entry(EntryKind.MANIFEST, {}, AUTHORITY, 1, ISSUED)
    with pytest.raises(DirectoryError, match="entry kind"):
        sign_entry("person", {}, AUTHORITY, 1, ISSUED)


def test_record_encoding_round_trip() -> None:
    signed = signed_agency()
    assert decode_signed_entry(encode_signed_entry(signed)) == signed
    with pytest.raises(DirectoryError):
        decode_signed_entry(b"not json")
    with pytest.raises(DirectoryError, match=r"record\.version"):
        decode_signed_entry(encode_signed_entry(signed).replace(b'"version":4', b'"version":-4'))


def test_whole_directory_round_trip() -> None:
    signed = sign_directory(DIRECTORY, AUTHORITY)
    assert len(signed.entries) == len(DIRECTORY.agencies) + len(DIRECTORY.agreements)
    assert len({e.record_key for e in signed.entries}) == len(signed.entries)
    assert signed.manifest.record_key == "manifest:directory"
    assert verify_directory(signed, AUTHORITY.public_key) == DIRECTORY


def test_a_withheld_entry_is_detected() -> None:
    signed = sign_directory(DIRECTORY, AUTHORITY)
    with pytest.raises(DirectoryError, match=f"agency:{AGENCY.id}: missing"):
        assemble_directory([signed.manifest, *signed.entries[1:]], AUTHORITY.public_key)


def test_an_entry_replayed_from_an_older_version_is_detected() -> None:
    old = sign_directory(DIRECTORY, AUTHORITY)
    revoked = replace(AGENCY, status=AgencyStatus.REVOKED)
    new_dir = replace(
        DIRECTORY,
        version=DIRECTORY.version + 1,
        agencies={**DIRECTORY.agencies, AGENCY.id: revoked},
    )
    new = sign_directory(new_dir, AUTHORITY)
    # The attacker serves the new manifest but the old (still ACTIVE) agency record.
    entries = [new.manifest, old.entries[0], *new.entries[1:]]
    with pytest.raises(DirectoryError, match=f"agency:{AGENCY.id}"):
        assemble_directory(entries, AUTHORITY.public_key)
    assembled = assemble_directory([*old.entries, old.manifest, *new.entries, new.manifest],
                                   AUTHORITY.public_key)  # fmt: skip
    assert assembled.agencies[AGENCY.id].status is AgencyStatus.REVOKED
    with pytest.raises(DirectoryError, match="older than"):
        assemble_directory([*old.entries, old.manifest], AUTHORITY.public_key, not_older_than=2)


def test_unchanged_entries_may_keep_their_older_version() -> None:
    old = sign_directory(DIRECTORY, AUTHORITY)
    suspended: Agreement = replace(AGREEMENT, status=AgreementStatus.SUSPENDED)
    changed = sign_entry(EntryKind.AGREEMENT, agreement_to_data(suspended), AUTHORITY, 2, ISSUED)
    entries = [e for e in old.entries if e.record_key != changed.record_key] + [changed]
    manifest = sign_manifest(entries, AUTHORITY, 2, ISSUED)
    assembled = assemble_directory([*entries, manifest], AUTHORITY.public_key)
    assert assembled.version == 2
    assert assembled.agreements[AGREEMENT.id].status is AgreementStatus.SUSPENDED


def test_manifest_refuses_inconsistent_listings() -> None:
    old = sign_directory(DIRECTORY, AUTHORITY)
    with pytest.raises(DirectoryError, match="newer than"):
        sign_manifest([replace(old.entries[0], version=5)], AUTHORITY, 4, ISSUED)
    with pytest.raises(DirectoryError, match="listed twice"):
        sign_manifest([old.entries[0], old.entries[0]], AUTHORITY, 9, ISSUED)
    with pytest.raises(DirectoryError, match="another manifest"):
        sign_manifest([old.manifest], AUTHORITY, 9, ISSUED)


def test_a_forged_manifest_is_skipped_and_the_genuine_one_used() -> None:
    signed = sign_directory(DIRECTORY, AUTHORITY)
    forged = replace(signed.manifest, version=99, signature=bytes(64))
    assembled = assemble_directory([*signed.entries, signed.manifest, forged], AUTHORITY.public_key)
    assert assembled.version == DIRECTORY.version
    with pytest.raises(DirectorySignatureError):
        assemble_directory([*signed.entries, forged], AUTHORITY.public_key)
    with pytest.raises(DirectoryError, match="no directory manifest"):
        assemble_directory(signed.entries, AUTHORITY.public_key)


def test_entry_verification_refuses_a_manifest_and_a_mismatched_id() -> None:
    signed = sign_directory(DIRECTORY, AUTHORITY)
    with pytest.raises(DirectoryError, match="verify_directory"):
        verify_entry(signed.manifest, AUTHORITY.public_key)
    other: Agency = list(DIRECTORY.agencies.values())[1]
    lying = _sign(EntryKind.AGENCY, AGENCY.id, canonical_json(agency_to_data(other)),
                  authority_key=AUTHORITY, version=1, issued_at=ISSUED)  # fmt: skip
    with pytest.raises(DirectoryError, match="payload describes"):
        verify_entry(lying, AUTHORITY.public_key)


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "authority.pem"
    AUTHORITY.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DirectoryAuthorityKey.load(path).public_key == AUTHORITY.public_key
    with pytest.raises(DirectoryError, match="already exists"):
        DirectoryAuthorityKey.generate().save(path)
    assert DirectoryAuthorityKey.load(path).public_key == AUTHORITY.public_key
    os.chmod(path, 0o644)
    with pytest.raises(DirectoryError, match="chmod 600"):
        DirectoryAuthorityKey.load(path)


def test_key_file_with_password(tmp_path: Path) -> None:
    path = tmp_path / "authority.pem"
    AUTHORITY.save(path, password=b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    loaded = DirectoryAuthorityKey.load(path, password=b"correct horse")
    assert loaded.key_id == AUTHORITY.key_id
    with pytest.raises(DirectoryError, match="not a readable PEM"):
        DirectoryAuthorityKey.load(path, password=b"wrong")
    with pytest.raises(DirectoryError, match="cannot be read"):
        DirectoryAuthorityKey.load(tmp_path / "missing.pem")


def test_public_key_distribution() -> None:
    assert load_authority_public_key(AUTHORITY.public_pem()) == AUTHORITY.public_key
    assert AUTHORITY.key_id == authority_key_id(AUTHORITY.public_key)
    assert len(AUTHORITY.public_key) == 32
    with pytest.raises(DirectoryError):
        load_authority_public_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(DirectoryError, match="32 raw bytes"):
        verify_entry(signed_agency(), AUTHORITY.public_pem())


def test_private_key_stays_out_of_repr() -> None:
    assert repr(AUTHORITY) == f"DirectoryAuthorityKey(key_id={AUTHORITY.key_id!r})"
    with pytest.raises(DirectoryError, match="not a readable PEM"):
        DirectoryAuthorityKey.from_pem(b"garbage")


def test_entry_rebuilt_from_another_encoding_verifies() -> None:
    signed = signed_agency()
    rebuilt = rebuild_signed_entry(
        AGENCY,
        version=signed.version,
        issued_at=signed.issued_at,
        authority_key_id=signed.authority_key_id,
        signature=signed.signature,
    )
    assert rebuilt == signed
    assert entry_payload(AGENCY) == signed.payload
    assert verify_entry(rebuilt, AUTHORITY.public_key) == AGENCY
    changed = replace(AGENCY, cleared_for_children=not AGENCY.cleared_for_children)
    forged = replace(rebuilt, payload=entry_payload(changed))
    with pytest.raises(DirectorySignatureError):
        verify_entry(forged, AUTHORITY.public_key)


@pytest.mark.parametrize(
    "respell",
    [
        lambda text: text.replace("T08:30:00", "U08:30:00", 1),  # another date-time separator
        lambda text: text.replace('","', '", "', 1),  # spacing
        lambda text: text.replace("Z", "+00:00", 1),  # the same instant spelled otherwise
    ],
)
def test_another_spelling_of_the_same_entry_is_refused(respell: Any) -> None:
    """Same values, other bytes: the record must be the entry's one canonical encoding."""
    record = encode_signed_entry(signed_agency()).decode()
    changed = respell(record)
    assert changed != record
    with pytest.raises(DirectoryError, match="canonical"):
        decode_signed_entry(changed.encode())
