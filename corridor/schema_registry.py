"""Corridor's event schemas in a Confluent-compatible schema registry, and a codec using its ids.

Subjects follow the record-name strategy: an event's subject is the full name of its
record (``corridor.alert.CaseAlert``). Subjects per topic (``<topic>-value``) do not fit
Corridor: one event travels on many topics (a case alert on the inbound topic and on the
delivery topic of every agency, created as agencies join) and one topic may carry
several events, so topic subjects would repeat each schema once per agency and need a
registration whenever an agency joins. Confluent's serializers pick the same subjects
with ``subject.name.strategy: record_subject_name_strategy``.

:meth:`SchemaRegistry.register` first sets each subject to ``BACKWARD`` compatibility,
the promise the codec itself relies on (the current schema reads data written with any
older one), then registers every version kept in ``schemas/history``, oldest first,
and the current schema last, so that old data written under any version still has an
id the registry can resolve. A schema already under its subject keeps its id, so
registering again changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError as _ClientError

import schemas
from corridor.codec import DEFAULT_MAX_MESSAGE_BYTES, Codec, fingerprint
from corridor.connection import Connection
from corridor.exceptions import CorridorError

__all__ = [
    "COMPATIBILITY",
    "Registration",
    "RegistryUnavailableError",
    "SchemaNotRegisteredError",
    "SchemaRegistry",
    "SchemaRegistryError",
    "SchemaRejectedError",
    "SubjectState",
    "codec_for",
    "schema_text",
    "subject_for",
]

COMPATIBILITY: Final = "BACKWARD"
# Registry error codes for "no such subject" and "no such schema"; 40400 is what
# Confluent's mock client answers for both.
_SUBJECT_NOT_FOUND: Final = frozenset({40400, 40401})
_NOT_FOUND: Final = frozenset({40400, 40401, 40403})


class SchemaRegistryError(CorridorError):
    """The schema registry refused a request or holds something unexpected.

    ``registry_code`` is the registry's own error code (40401: no such subject...).
    """

    def __init__(
        self, message: str, *, registry_code: int | None = None, retriable: bool | None = None
    ) -> None:
        super().__init__(message, retriable=retriable)
        self.registry_code = registry_code


class RegistryUnavailableError(SchemaRegistryError):
    """The schema registry did not answer; it may be starting or stopped."""

    retriable = True


class SchemaNotRegisteredError(SchemaRegistryError):
    """An event's current schema is not in the registry yet."""


class SchemaRejectedError(SchemaRegistryError):
    """The registry refused a schema, usually as incompatible with what it holds."""


@dataclass(frozen=True, slots=True)
class Registration:
    """Where an event's current schema sits in the registry."""

    event: str
    subject: str
    schema_id: int
    version: int


@dataclass(frozen=True, slots=True)
class SubjectState:
    """What the registry holds for an event: ``(version, id)`` pairs, and the current id."""

    event: str
    subject: str
    versions: tuple[tuple[int, int], ...]
    current_id: int | None


def subject_for(event: str) -> str:
    """The subject of an event: the full name of its record."""
    if event not in schemas.names():
        raise SchemaRegistryError(
            f"unknown event {event!r}; known events: {', '.join(schemas.names())}"
        )
    schema = schemas.expanded(event)
    name = str(schema["name"])
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def schema_text(event: str) -> str:
    """The exact text registered for the event's current schema."""
    subject_for(event)
    return json.dumps(schemas.expanded(event))


class SchemaRegistry:
    """Corridor's operations on one registry at ``url`` (its Confluent-compatible API).

    ``client`` replaces the HTTP client, e.g. by Confluent's in-memory mock in tests.
    """

    def __init__(
        self,
        url: str,
        *,
        client: SchemaRegistryClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._url = url.rstrip("/")
        self._client = client or SchemaRegistryClient(
            {"url": self._url, "timeout": timeout, "max.retries": 1}
        )

    @property
    def url(self) -> str:
        return self._url

    @property
    def client(self) -> SchemaRegistryClient:
        """The underlying client, for Confluent's own serializers."""
        return self._client

    def register(self, *, compatibility: str = COMPATIBILITY) -> list[Registration]:
        """Register every version of every event; idempotent."""
        done: list[Registration] = []
        for event in schemas.names():
            subject = subject_for(event)
            with self._translated(f"setting {subject} to {compatibility}"):
                self._client.set_compatibility(subject, compatibility)
            current = fingerprint(schemas.expanded(event))
            for version, old in schemas.history(event):
                if fingerprint(old) != current:
                    self._register(subject, json.dumps(old), f"{event} v{version}")
            self._register(subject, schema_text(event), f"the current {event}")
            found = self._lookup(subject, schema_text(event))
            if found is None:
                raise SchemaRegistryError(
                    f"{self._url} accepted the current {event} but cannot find it under {subject}"
                )
            done.append(Registration(event, subject, found[0], found[1]))
        return done

    def states(self) -> list[SubjectState]:
        """What the registry holds for each event, registered or not."""
        states: list[SubjectState] = []
        for event in schemas.names():
            subject = subject_for(event)
            versions = tuple(
                (version, schema_id) for version, schema_id, _ in self._versions(subject)
            )
            found = self._lookup(subject, schema_text(event)) if versions else None
            states.append(SubjectState(event, subject, versions, found[0] if found else None))
        return states

    def codec(self, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Codec:
        """A codec that writes the Confluent framing with this registry's ids.

        It reads every version up to the current one. Versions registered after it (by
        a newer deployment) are left out: this codec's schema may not read them, and
        their data is refused as of an unknown schema id rather than misread.
        """
        ids: dict[str, int] = {}
        writers: dict[int, str] = {}
        for event in schemas.names():
            subject = subject_for(event)
            found = self._lookup(subject, schema_text(event))
            if found is None:
                raise SchemaNotRegisteredError(
                    f"the current {event} schema is not registered under {subject} at "
                    f"{self._url}: run 'corridor schemas register'"
                )
            current_id, current_version = found
            ids[event] = current_id
            for version, schema_id, text in self._versions(subject):
                if version < current_version and schema_id != current_id:
                    writers[schema_id] = text
        return Codec(
            registry_ids=ids, registry_writers=writers, max_message_bytes=max_message_bytes
        )

    # -- calls to the registry -------------------------------------------------------

    def _register(self, subject: str, text: str, what: str) -> int:
        with self._translated(f"registering {what}"):
            return int(self._client.register_schema(subject, Schema(text, "AVRO")))

    def _lookup(self, subject: str, text: str) -> tuple[int, int] | None:
        """``(id, version)`` of ``text`` under ``subject``, or None if it is not there."""
        try:
            with self._translated(f"looking up {subject}"):
                found = self._client.lookup_schema(subject, Schema(text, "AVRO"))
        except SchemaRegistryError as exc:
            if exc.registry_code in _NOT_FOUND:
                return None
            raise
        if found.schema_id is None or found.version is None:
            raise SchemaRegistryError(f"{self._url} answered a lookup of {subject} without an id")
        return int(found.schema_id), int(found.version)

    def _versions(self, subject: str) -> list[tuple[int, int, str]]:
        """``(version, id, schema text)`` of each version under ``subject``, oldest first."""
        try:
            with self._translated(f"listing {subject}"):
                numbers = list(self._client.get_versions(subject))
        except SchemaRegistryError as exc:
            if exc.registry_code in _SUBJECT_NOT_FOUND:
                return []
            raise
        versions: list[tuple[int, int, str]] = []
        for number in sorted(int(n) for n in numbers):
            with self._translated(f"reading {subject} version {number}"):
                registered = self._client.get_version(subject, number)
            schema_id, text = registered.schema_id, registered.schema.schema_str
            if schema_id is None or text is None:
                raise SchemaRegistryError(
                    f"{self._url} answered {subject} version {number} without its id or schema"
                )
            versions.append((number, int(schema_id), text))
        return versions

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turns the client's errors, HTTP or network, into one sentence of ours."""
        try:
            yield
        except _ClientError as exc:
            status = exc.http_status_code
            message = f"{what} at {self._url} failed: {exc.error_message} (HTTP {status})"
            kind: type[SchemaRegistryError] = SchemaRegistryError
            if status == 409 or exc.error_code in (409, 42201):
                kind = SchemaRejectedError
            elif isinstance(status, int) and status >= 500:
                kind = RegistryUnavailableError
            raise kind(message, registry_code=exc.error_code) from exc
        except SchemaRegistryError:
            raise
        except Exception as exc:  # the HTTP stack raises its own connection errors
            raise RegistryUnavailableError(
                f"the schema registry at {self._url} did not answer while {what} "
                f"({type(exc).__name__}); is it running? ('corridor infra up --registry')"
            ) from exc


def codec_for(conn: Connection, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Codec:
    """The codec producers should use: registry ids when a registry is configured.

    Without ``schema_registry_url`` the codec writes Avro single-object encoding, which
    needs no registry; both codecs read both framings.
    """
    if conn.schema_registry_url is None:
        return Codec(max_message_bytes=max_message_bytes)
    return SchemaRegistry(conn.schema_registry_url).codec(max_message_bytes=max_message_bytes)
