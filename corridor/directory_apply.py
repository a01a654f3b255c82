"""``corridor directory apply``: validate, sign, publish, and provision the cluster.

The version published is one above the version on the topic (or the file's, if
higher), so every apply is a new, monotonically newer directory that readers accept
and a replayed older one is refused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corridor.config import Settings
from corridor.directory import load_directory, sign_directory
from corridor.directory_topic import publish_directory, read_directory_state
from corridor.domain import Agency, Directory, PublicKey
from corridor.kafka_clients import admin_client
from corridor.keys import generate_agency_keys, key_files, write_private_keys
from corridor.provisioning import ProvisionReport, provision
from corridor.workspace import Workspace


@dataclass(frozen=True, slots=True)
class ApplyResult:
    directory: Directory
    records: int
    keys_generated: list[str]
    provisioned: ProvisionReport


def _with_workspace_keys(
    agency: Agency, workspace: Workspace, generate: bool
) -> tuple[Agency, bool]:
    """The agency with the public keys of its key files (generated first if asked)."""
    folder = workspace.keys_dir(agency.id)
    created = False
    if not key_files(folder, agency.id).manifest.exists():
        if not generate:
            return agency, False
        write_private_keys(folder, generate_agency_keys(agency.id))
        created = True
    keys = workspace.agency_keys(agency.id)
    return (
        dataclasses.replace(
            agency,
            signing_keys=(
                PublicKey(keys.signing.key_id, keys.signing.public_bytes(), keys.valid_from),
            ),
            encryption_keys=(
                PublicKey(keys.encryption.key_id, keys.encryption.public_bytes(), keys.valid_from),
            ),
        ),
        created,
    )


def apply_directory(
    workspace: Workspace,
    settings: Settings,
    path: Path,
    *,
    use_local_keys: bool = False,
    now: datetime | None = None,
) -> ApplyResult:
    directory = load_directory(path)
    generated: list[str] = []
    if use_local_keys:
        agencies = {}
        for agency_id, agency in directory.agencies.items():
            agencies[agency_id], created = _with_workspace_keys(agency, workspace, True)
            if created:
                generated.append(agency_id)
        directory = dataclasses.replace(directory, agencies=agencies)

    admin_conn = workspace.admin_connection()
    authority = workspace.authority_key(create=True)
    workspace.linkage_keys(create=True)
    state = read_directory_state(admin_conn)
    published = max((e.version for e in state.records.values()), default=0)
    directory = dataclasses.replace(
        directory,
        version=max(directory.version, published + 1),
        issued_at=(now or datetime.now(UTC)).replace(microsecond=0),
    )
    admin = admin_client(admin_conn, quiet=True)
    report = provision(admin, workspace, directory, settings)
    signed = sign_directory(directory, authority)
    wanted = {e.record_key for e in signed.entries} | {signed.manifest.record_key}
    removed = sorted(set(state.records) - wanted)
    records = publish_directory(admin_conn, signed, removed=removed)
    return ApplyResult(directory, records, generated, report)
