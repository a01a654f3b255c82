"""A consumer opens what was sealed to any key it holds, and reads its key files again
when a record names one of its agency's keys it does not hold yet."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from consumers.documents import Delivery
from consumers.handling import DeliveryHandler, Rejection
from consumers.keyring import Keyring
from corridor.acks import encode_ack, make_ack
from corridor.domain import AckStatus, Directory, PublicKey, WrappedKey
from corridor.envelope import EncryptionKey, Sealer, SigningKey
from corridor.keys import AgencyKeys, KeyStoreError, RetiredKey
from corridor.records import alert_to_record
from tests.consumer_factories import body_record, metadata
from tests.unit.test_consumer_handling import CODEC, DIRECTORY, KEYS, SINCE, SOURCE

OLD = KEYS["AT-BKA"]
NEW_KEY = EncryptionKey.generate("AT-BKA-enc-new")
#: AT-BKA after a rotation: a new encryption key, the old one retired.
ROTATED = replace(OLD, encryption=NEW_KEY, retired=(RetiredKey(OLD.encryption, SINCE),))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Stands for the key files: what a reload reads, and how often it was asked."""

    def __init__(self, *results: AgencyKeys | KeyStoreError) -> None:
        self.results = list(results)
        self.calls = 0

    def __call__(self) -> AgencyKeys:
        self.calls += 1
        result = self.results[min(self.calls, len(self.results)) - 1]
        if isinstance(result, KeyStoreError):
            raise result
        return result


def _wrapped(*key_ids: str, agency: str = "AT-BKA") -> list[WrappedKey]:
    return [WrappedKey(agency, k, b"enc", b"wrapped") for k in key_ids]


BODY = CODEC.encode("AlertBody", body_record(3))


def _sealed_to(key: EncryptionKey) -> bytes:
    alert = Sealer().seal(
        metadata("RO-ANITP", "RO", "AT"),
        BODY,
        [key.recipient("AT-BKA")],
        KEYS["RO-ANITP"].signing,
    )
    return CODEC.encode("CaseAlert", alert_to_record(alert))


def _handler(keys: Keyring | AgencyKeys, agency_id: str = "AT-BKA") -> DeliveryHandler:
    return DeliveryHandler(agency_id=agency_id, keys=keys, codec=CODEC, directory=lambda: DIRECTORY)


def test_current_and_retired_keys_are_found_by_id_without_reading_files() -> None:
    loader = Loader(ROTATED)
    ring = Keyring(ROTATED, reload=loader)
    assert ring.key_for(_wrapped(NEW_KEY.key_id)) is NEW_KEY
    assert ring.key_for(_wrapped(OLD.encryption.key_id)) is OLD.encryption
    assert ring.key_for(_wrapped("unknown", OLD.encryption.key_id)) is OLD.encryption
    assert ring.key_for(_wrapped(NEW_KEY.key_id, agency="DE-BKA")) is None
    assert loader.calls == 0


def test_a_key_rotated_to_while_running_is_read_from_the_files(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loader = Loader(ROTATED)
    ring = Keyring(OLD, reload=loader)
    with caplog.at_level(logging.INFO, logger="corridor.consumer.keys"):
        assert ring.key_for(_wrapped(NEW_KEY.key_id)) is NEW_KEY
    assert loader.calls == 1
    assert ring.keys is ROTATED
    assert [r.message for r in caplog.records] == ["keys_reloaded"]
    assert ring.key_for(_wrapped(OLD.encryption.key_id)) is OLD.encryption
    assert loader.calls == 1


def test_unknown_keys_make_the_files_read_at_most_once_per_interval() -> None:
    loader, clock = Loader(OLD), Clock()
    ring = Keyring(OLD, reload=loader, min_interval=5.0, clock=clock)
    for _ in range(10):
        assert ring.key_for(_wrapped("AT-BKA-enc-never")) is None
    assert loader.calls == 1
    clock.now += 5.0
    assert ring.key_for(_wrapped("AT-BKA-enc-never")) is None
    assert loader.calls == 2


def test_key_files_that_cannot_be_read_keep_the_keys_held(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ring = Keyring(OLD, reload=Loader(KeyStoreError("AT-BKA.keys.json does not exist")))
    with caplog.at_level(logging.WARNING, logger="corridor.consumer.keys"):
        assert ring.key_for(_wrapped(NEW_KEY.key_id)) is None
    assert ring.keys is OLD
    assert ring.key_for(_wrapped(OLD.encryption.key_id)) is OLD.encryption
    assert [r.message for r in caplog.records] == ["keys_reload_failed"]


def test_keys_of_another_agency_are_never_taken() -> None:
    ring = Keyring(OLD, reload=Loader(KEYS["DE-BKA"]))
    assert ring.key_for(_wrapped(KEYS["DE-BKA"].encryption.key_id)) is None
    assert ring.keys is OLD


def test_an_alert_sealed_to_the_retired_key_is_still_opened() -> None:
    result = _handler(ROTATED).handle(_sealed_to(OLD.encryption), SOURCE)
    assert isinstance(result, Delivery), result
    assert result.body == BODY


def test_an_alert_sealed_to_a_key_not_held_says_which_key() -> None:
    stranger = EncryptionKey.generate("AT-BKA-enc-elsewhere")
    result = _handler(OLD).handle(_sealed_to(stranger), SOURCE)
    assert isinstance(result, Rejection), result
    assert result.reason == "OPEN_FAILED"
    assert "sealed to AT-BKA-enc-elsewhere, which this consumer does not hold" in result.detail


def test_an_alert_sealed_to_a_new_key_opens_once_the_files_have_it() -> None:
    loader = Loader(ROTATED)
    result = _handler(Keyring(OLD, reload=loader)).handle(_sealed_to(NEW_KEY), SOURCE)
    assert isinstance(result, Delivery), result
    assert result.body == BODY
    assert loader.calls == 1


def test_a_note_sealed_to_the_issuer_retired_key_is_opened() -> None:
    issuer = KEYS["RO-ANITP"]
    ack = make_ack(
        alert_id=str(uuid.uuid4()),
        corridor=metadata("RO-ANITP", "RO", "AT").corridor,
        signer=OLD.signing,
        from_agency="AT-BKA",
        issuer=DIRECTORY.agencies["RO-ANITP"],  # still lists the issuer's old key
        status=AckStatus.NEED_INFO,
        note="passport?",
    )
    rotated_issuer = replace(
        issuer,
        encryption=EncryptionKey.generate("RO-ANITP-enc-new"),
        retired=(RetiredKey(issuer.encryption, SINCE),),
    )
    opened = _handler(rotated_issuer, "RO-ANITP").handle(encode_ack(ack, CODEC), SOURCE)
    assert isinstance(opened, Delivery), opened
    assert opened.document["note"] == "passport?"
    assert opened.document["note_readable"] is True

    forgotten = replace(rotated_issuer, retired=())
    kept = _handler(forgotten, "RO-ANITP").handle(encode_ack(ack, CODEC), SOURCE)
    assert isinstance(kept, Delivery), kept
    assert kept.document["note"] is None
    assert kept.document["note_readable"] is False
    assert kept.document["status"] == "NEED_INFO"


NEW_SIGNING = SigningKey.generate("AT-BKA-sig-new")
ROTATED_BOTH = replace(ROTATED, signing=NEW_SIGNING)


def _publishing(*keys: SigningKey, valid_to: datetime | None = None) -> Directory:
    """The directory with AT-BKA's signing keys replaced by ``keys``."""
    agency = replace(
        DIRECTORY.agencies["AT-BKA"],
        signing_keys=tuple(PublicKey(k.key_id, k.public_bytes(), SINCE, valid_to) for k in keys),
    )
    return replace(DIRECTORY, agencies={**DIRECTORY.agencies, "AT-BKA": agency})


def test_acknowledgements_switch_to_the_new_signing_key_once_the_directory_has_it() -> None:
    ring = Keyring(OLD, reload=Loader(ROTATED_BOTH))
    assert ring.signing_key(_publishing(OLD.signing)) is OLD.signing
    assert ring.key_for(_wrapped(NEW_KEY.key_id)) is NEW_KEY  # the files were read again

    # The directory has not been applied yet: keep signing with the key it publishes.
    assert ring.signing_key(_publishing(OLD.signing)) is OLD.signing
    # Applied with both keys, or with the new one alone: the new key.
    assert ring.signing_key(_publishing(OLD.signing, NEW_SIGNING)) is NEW_SIGNING
    assert ring.signing_key(_publishing(NEW_SIGNING)) is NEW_SIGNING
    # Neither published (or no longer valid): the newest held, which the directory
    # must then be given.
    assert ring.signing_key(_publishing()) is NEW_SIGNING
    ended = _publishing(OLD.signing, valid_to=SINCE + timedelta(seconds=1))
    assert ring.signing_key(ended, SINCE + timedelta(seconds=2)) is NEW_SIGNING


def test_a_signing_key_published_with_other_bytes_is_not_used() -> None:
    impostor = SigningKey.generate(OLD.signing.key_id)
    ring = Keyring(ROTATED_BOTH)
    assert ring.signing_key(_publishing(impostor, NEW_SIGNING)) is NEW_SIGNING
