"""How clients reach the Kafka cluster: bootstrap servers, CA, and a SASL identity.

``corridor infra up`` writes one of these for the admin principal; every other command
reads it, so no one types a password. Secrets live in files with 0600 permissions and
are never part of ``repr`` or log lines. The schema registry's URL rides along when one
was started, so producers know to write registry ids; files without it still load.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corridor.exceptions import ConfigError

CONNECTION_FILE = "connection.json"


@dataclass(frozen=True, slots=True)
class Connection:
    """One principal's way into the cluster, renderable as librdkafka settings."""

    bootstrap_servers: str
    ca_location: Path
    username: str
    password: str = field(repr=False)
    mechanism: str = "SCRAM-SHA-512"
    schema_registry_url: str | None = None

    def as_principal(self, username: str, password: str) -> Connection:
        return replace(self, username=username, password=password)

    def librdkafka(self) -> dict[str, Any]:
        """Settings for confluent-kafka clients (librdkafka property names)."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
            "ssl.ca.location": str(self.ca_location),
            # Hostname verification stays on: broker certificates carry localhost SANs.
            "ssl.endpoint.identification.algorithm": "https",
        }

    def to_json(self) -> dict[str, str]:
        data = {
            "bootstrap_servers": self.bootstrap_servers,
            "ca_location": str(self.ca_location),
            "username": self.username,
            "password": self.password,
            "mechanism": self.mechanism,
        }
        if self.schema_registry_url is not None:
            data["schema_registry_url"] = self.schema_registry_url
        return data


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read, created with 0600 (no window)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def save_connection(conn: Connection, state_dir: Path) -> Path:
    path = state_dir / CONNECTION_FILE
    write_secret_file(path, json.dumps(conn.to_json(), indent=2) + "\n")
    return path


def load_connection(state_dir: Path) -> Connection:
    path = state_dir / CONNECTION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no cluster connection at {path}: run 'corridor infra up' first "
            "(or set CORRIDOR_HOME to the directory it used)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the cluster connection {path}: {exc}") from exc
    try:
        return Connection(
            bootstrap_servers=str(data["bootstrap_servers"]),
            ca_location=Path(data["ca_location"]),
            username=str(data["username"]),
            password=str(data["password"]),
            mechanism=str(data.get("mechanism", "SCRAM-SHA-512")),
            schema_registry_url=(
                str(data["schema_registry_url"]) if data.get("schema_registry_url") else None
            ),
        )
    except KeyError as exc:
        raise ConfigError(f"{path} lacks the field {exc.args[0]!r}") from exc
