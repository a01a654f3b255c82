"""Changing the live directory under a running processor: rotations, revocations, forgeries.

Legitimate changes go through ``apply_directory`` (signed by the authority, a new
version); forgeries are written straight to ``corridor.directory`` as the admin, as a
compromised operator account could. ``restore`` applies the sample directory again,
which overwrites every entry, forged or not, with a newer signed version.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corridor.directory import decode_signed_entry, encode_signed_entry
from corridor.directory_apply import apply_directory
from corridor.directory_signing import canonical_json
from corridor.directory_topic import read_directory_state
from corridor.domain import Directory
from corridor.envelope import SigningKey
from corridor.keys import AgencyKeys, generate_agency_keys, write_private_keys
from corridor.topics import DIRECTORY
from tests.conftest import SAMPLE_DIRECTORY, Network
from tests.kafka_helpers import produce_all

Mutation = Callable[[dict[str, Any]], None]


class DirectoryTricks:
    def __init__(self, network: Network, scratch: Path) -> None:
        self.network = network
        self.scratch = scratch

    def apply(self, mutate: Mutation = lambda _data: None) -> Directory:
        """Apply the sample directory, changed by ``mutate``, with the local key files."""
        data = json.loads(SAMPLE_DIRECTORY.read_text(encoding="utf-8"))
        mutate(data)
        path = self.scratch / f"directory-{len(list(self.scratch.iterdir()))}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        workspace, settings = self.network.workspace, self.network.settings
        return apply_directory(workspace, settings, path, use_local_keys=True).directory

    def rotate(self, agency_id: str) -> tuple[AgencyKeys, Directory]:
        """New key files for the agency, published; returns the old keys (now unknown)."""
        workspace = self.network.workspace
        old = workspace.agency_keys(agency_id)
        new = generate_agency_keys(agency_id)
        assert new.signing.key_id != old.signing.key_id
        write_private_keys(workspace.keys_dir(agency_id), new, force=True)
        return old, self.apply()

    def revoke(self, agency_id: str) -> Directory:
        def revoked(data: dict[str, Any]) -> None:
            for agency in data["agencies"]:
                if agency["id"] == agency_id:
                    agency["status"] = "REVOKED"

        return self.apply(revoked)

    def restore(self) -> Directory:
        return self.apply()

    def forge(self, agency_id: str, *, attacker: SigningKey | None = None) -> None:
        """Write the agency's entry back with a broken signature, as the admin.

        Without ``attacker`` the entry keeps its content and only its signature is
        corrupted; with one, the attacker's signing key is added to the entry and the
        authority's old signature is kept (what an attacker without the authority's key
        can do).
        """
        admin = self.network.workspace.admin_connection()
        state = read_directory_state(admin)
        entry = state.records[f"agency:{agency_id}"]
        if attacker is None:
            signature = bytes([entry.signature[0] ^ 0xFF]) + entry.signature[1:]
            forged = dataclasses.replace(entry, signature=signature)
        else:
            payload = json.loads(entry.payload)
            payload["signing_keys"].append(
                {
                    "key_id": attacker.key_id,
                    "public_key": base64.b64encode(attacker.public_bytes()).decode(),
                    "valid_from": "2024-01-01T00:00:00Z",
                }
            )
            forged = dataclasses.replace(entry, payload=canonical_json(payload))
        value = encode_signed_entry(forged)
        assert decode_signed_entry(value).record_key == entry.record_key
        produce_all(admin, DIRECTORY, [(entry.record_key.encode(), value)])
