"""The directory of agencies and agreements: one import for loading, checking and signing.

The work is split by job: ``directory_file`` (the file format and its validation),
``directory_signing`` (signed entries, the manifest, assembling a trusted directory),
``directory_records`` (entries as topic records) and ``directory_authority`` (the
authority's key). Callers import from here.
"""

from __future__ import annotations

from corridor.directory_authority import (
    DirectoryAuthorityKey,
    authority_key_id,
    load_authority_public_key,
)
from corridor.directory_fields import DirectoryError
from corridor.directory_file import (
    agency_to_data,
    agreement_to_data,
    directory_to_data,
    load_directory,
    parse_agency,
    parse_agreement,
    parse_directory,
)
from corridor.directory_records import decode_signed_entry, encode_signed_entry
from corridor.directory_signing import (
    DirectorySignatureError,
    EntryKind,
    SignedDirectory,
    SignedEntry,
    assemble_directory,
    entry_payload,
    rebuild_signed_entry,
    sign_directory,
    sign_entry,
    sign_manifest,
    verify_directory,
    verify_entry,
)

__all__ = [
    "DirectoryAuthorityKey",
    "DirectoryError",
    "DirectorySignatureError",
    "EntryKind",
    "SignedDirectory",
    "SignedEntry",
    "agency_to_data",
    "agreement_to_data",
    "assemble_directory",
    "authority_key_id",
    "decode_signed_entry",
    "directory_to_data",
    "encode_signed_entry",
    "entry_payload",
    "load_authority_public_key",
    "load_directory",
    "parse_agency",
    "parse_agreement",
    "parse_directory",
    "rebuild_signed_entry",
    "sign_directory",
    "sign_entry",
    "sign_manifest",
    "verify_directory",
    "verify_entry",
]
