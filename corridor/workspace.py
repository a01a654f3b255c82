"""Where each principal's credentials and keys live under the Corridor home.

In production each agency holds only its own folder (its SCRAM password, its private
keys, the network linkage key) and the directory authority's public key; on a local
cluster one home holds them all so a demo or a test can act as every party:

    <home>/connection.json                  admin client settings (infra up)
    <home>/authority/authority.pem          directory authority private key (0600)
    <home>/authority/authority.pub.pem      its public key, given to every party
    <home>/agencies/<ID>/connection.json    the agency's SCRAM principal (0600)
    <home>/agencies/<ID>/keys/              the agency's signing and encryption keys
    <home>/linkage/epoch-<N>.key            network linkage keys (agencies only, 0600)
    <home>/principals/<name>.json           processor and operator principals (0600)
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from corridor.connection import Connection, load_connection, write_secret_file
from corridor.directory import DirectoryAuthorityKey, load_authority_public_key
from corridor.exceptions import ConfigError
from corridor.keys import AgencyKeys, load_private_keys
from corridor.linkage import LinkageKey

PROCESSOR_PRINCIPAL = "corridor-processor"
OPERATOR_PRINCIPAL = "corridor-operator"


def agency_principal(agency_id: str) -> str:
    """The SCRAM user name of an agency: its id, so ACLs read plainly."""
    return agency_id


@dataclass(frozen=True, slots=True)
class Workspace:
    home: Path

    # admin and principals -------------------------------------------------
    def admin_connection(self) -> Connection:
        return load_connection(self.home)

    def principal_path(self, name: str) -> Path:
        return self.home / "principals" / f"{name}.json"

    def agency_dir(self, agency_id: str) -> Path:
        return self.home / "agencies" / agency_id

    def agency_connection_path(self, agency_id: str) -> Path:
        return self.agency_dir(agency_id) / "connection.json"

    def keys_dir(self, agency_id: str) -> Path:
        return self.agency_dir(agency_id) / "keys"

    def password_for(self, path: Path) -> str:
        """The stored password of a principal, or a new random one (stored by the caller)."""
        if path.exists():
            return str(json.loads(path.read_text(encoding="utf-8"))["password"])
        return secrets.token_urlsafe(24)

    def save_principal(self, path: Path, user: str, password: str) -> Connection:
        conn = self.admin_connection().as_principal(user, password)
        write_secret_file(path, json.dumps(conn.to_json(), indent=2) + "\n")
        return conn

    def connection_for(self, path: Path, what: str) -> Connection:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"no credentials for {what} at {path}: run 'corridor directory apply' first"
            ) from exc
        # Cluster settings (bootstrap, CA, registry) always come from the admin's file,
        # so a restarted cluster on new ports needs no change to every principal's file.
        return self.admin_connection().as_principal(str(data["username"]), str(data["password"]))

    def agency_connection(self, agency_id: str) -> Connection:
        return self.connection_for(self.agency_connection_path(agency_id), f"agency {agency_id}")

    def processor_connection(self) -> Connection:
        return self.connection_for(self.principal_path(PROCESSOR_PRINCIPAL), "the processors")

    def operator_connection(self) -> Connection:
        return self.connection_for(self.principal_path(OPERATOR_PRINCIPAL), "the operators")

    def agency_keys(self, agency_id: str, passphrase: bytes | None = None) -> AgencyKeys:
        return load_private_keys(self.keys_dir(agency_id), agency_id, passphrase)

    # directory authority ----------------------------------------------------
    @property
    def authority_key_path(self) -> Path:
        return self.home / "authority" / "authority.pem"

    @property
    def authority_public_path(self) -> Path:
        return self.home / "authority" / "authority.pub.pem"

    def authority_key(self, *, create: bool = False) -> DirectoryAuthorityKey:
        path = self.authority_key_path
        if not path.exists():
            if not create:
                raise ConfigError(f"no directory authority key at {path}")
            key = DirectoryAuthorityKey.generate()
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            key.save(path)
            self.authority_public_path.write_bytes(key.public_pem())
            return key
        return DirectoryAuthorityKey.load(path)

    def authority_public_key(self) -> bytes:
        try:
            return load_authority_public_key(self.authority_public_path.read_bytes())
        except FileNotFoundError as exc:
            raise ConfigError(
                f"no directory authority public key at {self.authority_public_path}: "
                "run 'corridor directory apply' first"
            ) from exc

    # linkage ------------------------------------------------------------------
    def linkage_keys(self, *, create: bool = False) -> list[LinkageKey]:
        """The network linkage keys, newest epoch first (agencies only, never processors)."""
        folder = self.home / "linkage"
        files = sorted(folder.glob("epoch-*.key"), key=lambda p: int(p.stem.split("-")[1]))
        if not files:
            if not create:
                return []
            key = LinkageKey.generate(1)
            write_secret_file(folder / "epoch-1.key", key.secret_bytes().hex())
            return [key]
        keys = [
            LinkageKey(bytes.fromhex(p.read_text().strip()), int(p.stem.split("-")[1]))
            for p in files
        ]
        return sorted(keys, key=lambda k: k.epoch, reverse=True)
