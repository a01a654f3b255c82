"""The directory on Kafka: signed entries on the compacted ``corridor.directory`` topic.

Each agency and agreement is one record (key = entry key), followed by a manifest
that pins the exact set; readers trust a directory only once the newest valid
manifest and every entry it lists check out against the authority's public key, and
keep their last good directory otherwise. A removed entry becomes a tombstone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from corridor.connection import Connection
from corridor.directory import (
    DirectoryError,
    DirectorySignatureError,
    SignedDirectory,
    SignedEntry,
    assemble_directory,
    decode_signed_entry,
    encode_signed_entry,
)
from corridor.domain import Directory
from corridor.exceptions import CorridorError
from corridor.kafka_clients import consumer, producer
from corridor.logs import log_event
from corridor.topics import DIRECTORY

LOG = logging.getLogger("corridor.directory")


class DirectoryUnavailableError(CorridorError):
    """No trustworthy directory could be read from the topic (yet)."""

    retriable = True


def publish_directory(
    conn: Connection, signed: SignedDirectory, *, removed: Iterable[str] = (), timeout: float = 30.0
) -> int:
    """Write every entry, tombstones for ``removed`` keys, then the manifest; returns count."""
    prod = producer(conn, quiet=True)
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            errors.append(err)

    count = 0
    for entry in signed.entries:
        prod.produce(
            DIRECTORY,
            key=entry.record_key.encode(),
            value=encode_signed_entry(entry),
            on_delivery=on_delivery,
        )
        count += 1
    for key in removed:
        prod.produce(DIRECTORY, key=key.encode(), value=None, on_delivery=on_delivery)
        count += 1
    # The manifest goes last: a reader that sees it has already been sent every entry.
    prod.produce(
        DIRECTORY,
        key=signed.manifest.record_key.encode(),
        value=encode_signed_entry(signed.manifest),
        on_delivery=on_delivery,
    )
    remaining = prod.flush(timeout)
    if errors or remaining:
        detail = errors[0] if errors else f"{remaining} records not acknowledged"
        raise CorridorError(f"could not publish the directory: {detail}", retriable=True)
    return count + 1


@dataclass
class DirectoryState:
    """The latest record per key, and what was rejected on the way."""

    records: dict[str, SignedEntry] = field(default_factory=dict)
    rejected: int = 0

    def apply(self, key: bytes | None, value: bytes | None) -> bool:
        """Take one topic record; True if the set changed."""
        if key is None:
            self.rejected += 1
            return False
        name = key.decode("utf-8", errors="replace")
        if value is None:
            return self.records.pop(name, None) is not None
        try:
            entry = decode_signed_entry(value)
        except DirectoryError:
            self.rejected += 1
            log_event(
                LOG,
                "directory_record_rejected",
                level=logging.WARNING,
                key=name,
                reason="MALFORMED",
            )
            return False
        if entry.record_key != name:
            self.rejected += 1
            log_event(
                LOG,
                "directory_record_rejected",
                level=logging.WARNING,
                key=name,
                reason="KEY_MISMATCH",
            )
            return False
        self.records[name] = entry
        return True

    def assemble(self, authority_public_key: bytes, *, not_older_than: int = 1) -> Directory:
        return assemble_directory(
            self.records.values(), authority_public_key, not_older_than=not_older_than
        )


#: Errors a topic shows for a moment after it is created, while its leader is elected.
_TRANSIENT = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def _watermarks(cons: Consumer, tp: TopicPartition, timeout: float) -> tuple[int, int]:
    """The partition's offsets, retried while a just-created topic elects its leader."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = cons.get_watermark_offsets(
                tp, timeout=max(1.0, deadline - time.monotonic())
            )
            return int(low), int(high)
        except KafkaException as exc:
            error = exc.args[0]
            transient = isinstance(error, KafkaError) and (
                error.retriable() or error.code() in _TRANSIENT
            )
            if not transient or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def read_directory_state(conn: Connection, *, timeout: float = 30.0) -> DirectoryState:
    """Every live record of the directory topic, read once from the beginning to the end."""
    cons = consumer(conn, f"{conn.username}.directory-reader", quiet=True)
    state = DirectoryState()
    try:
        tp = TopicPartition(DIRECTORY, 0, OFFSET_BEGINNING)
        low, high = _watermarks(cons, tp, timeout)
        if high <= low:
            return state
        cons.assign([tp])
        deadline = time.monotonic() + timeout
        position = low
        while position < high:
            if time.monotonic() > deadline:
                raise DirectoryUnavailableError(f"reading the directory took over {timeout:.0f}s")
            for msg in cons.consume(500, 0.5):
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                state.apply(msg.key(), msg.value())
                position = (msg.offset() or 0) + 1
    except KafkaException as exc:
        raise DirectoryUnavailableError(f"cannot read the directory topic: {exc}") from exc
    finally:
        cons.close()
    return state


def read_directory(
    conn: Connection, authority_public_key: bytes, *, timeout: float = 30.0
) -> Directory:
    """Read the whole topic once and return the directory it holds."""
    state = read_directory_state(conn, timeout=timeout)
    if not state.records:
        raise DirectoryUnavailableError(
            "the directory topic is empty: run 'corridor directory apply'"
        )
    try:
        return state.assemble(authority_public_key)
    except DirectoryError as exc:
        raise DirectoryUnavailableError(f"the directory on the topic is not valid: {exc}") from exc


class DirectoryWatcher:
    """Follows the directory topic in a thread; ``current`` is always a trusted directory.

    A new version applies from the next call to ``current`` on, without a restart.
    Forged or incomplete versions are refused and counted, and the last good one stays.
    """

    def __init__(
        self,
        conn: Connection,
        authority_public_key: bytes,
        *,
        on_change: Callable[[Directory], None] | None = None,
        on_rejected: Callable[[int], None] | None = None,
    ) -> None:
        self._conn = conn
        self._authority = authority_public_key
        self._on_change = on_change
        self._on_rejected = on_rejected
        self._state = DirectoryState()
        self._current: Directory | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="directory-watcher", daemon=True)
        self.invalid_versions = 0

    def start(self, *, wait: float = 30.0) -> DirectoryWatcher:
        self._thread.start()
        if not self._ready.wait(wait):
            self.stop()
            raise DirectoryUnavailableError(f"no valid directory on {DIRECTORY} within {wait:.0f}s")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)

    def current(self) -> Directory:
        directory = self._current
        if directory is None:
            raise DirectoryUnavailableError("the directory has not been loaded yet")
        return directory

    def _run(self) -> None:
        cons = consumer(self._conn, f"{self._conn.username}.directory-watcher", quiet=True)
        cons.assign([TopicPartition(DIRECTORY, 0, OFFSET_BEGINNING)])
        try:
            while not self._stop.is_set():
                changed = False
                rejected_before = self._state.rejected
                for msg in cons.consume(500, 0.2):
                    if msg.error() is None:
                        changed |= self._state.apply(msg.key(), msg.value())
                if self._state.rejected > rejected_before and self._on_rejected:
                    self._on_rejected(self._state.rejected - rejected_before)
                if changed:
                    self._try_assemble()
        finally:
            cons.close()

    def _try_assemble(self) -> None:
        floor = self._current.version if self._current else 1
        try:
            directory = self._state.assemble(self._authority, not_older_than=floor)
        except DirectorySignatureError:
            self.invalid_versions += 1
            if self._on_rejected:
                self._on_rejected(1)
            log_event(LOG, "directory_rejected", level=logging.WARNING, reason="BAD_SIGNATURE")
            return
        except DirectoryError:
            # Mid-publication (entries before their manifest): keep the last good one.
            return
        if (
            self._current is not None
            and directory.version == self._current.version
            and directory == self._current
        ):
            return
        if self._current is not None and directory.version < self._current.version:
            return
        self._current = directory
        log_event(
            LOG,
            "directory_loaded",
            version=directory.version,
            agencies=len(directory.agencies),
            agreements=len(directory.agreements),
        )
        if self._on_change:
            self._on_change(directory)
        self._ready.set()
