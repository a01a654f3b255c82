"""From an accepted alert to the bytes on the inbound topic: ids, tokens, recipients, seal."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from corridor.codec import Codec
from corridor.envelope import OpenError, open_alert, verify_alert
from corridor.policy import decide_all
from corridor.records import alert_from_record
from producers import ALERT_ID_NAMESPACE, make_alert_id
from producers.prepare import ALERT_ID_HEADER, EVENT_HEADER
from producers.tokens import MAX_TOKENS
from tests.unit.publish_support import LINKAGE_KEY, alert, network, now, preparer


def test_alert_ids_are_uuid5_of_issuer_and_key() -> None:
    alert_id = make_alert_id("AT-BKA", "AT-BKA/2025/000731")
    assert alert_id == str(uuid.uuid5(ALERT_ID_NAMESPACE, "AT-BKA/AT-BKA/2025/000731"))
    assert uuid.UUID(alert_id).version == 5
    assert make_alert_id("AT-BKA", "AT-BKA/2025/000731") == alert_id
    assert make_alert_id("RO-IGPR", "AT-BKA/2025/000731") != alert_id
    assert make_alert_id("AT-BKA", "AT-BKA/2025/000732") != alert_id


@pytest.mark.parametrize(("issuer", "key"), [("not an agency", "k"), ("AT-BKA", "")])
def test_alert_ids_need_an_agency_and_a_key(issuer: str, key: str) -> None:
    with pytest.raises(ValueError, match=r"agency id|non-empty"):
        make_alert_id(issuer, key)


def test_a_resent_alert_keeps_its_id_whatever_else_changes() -> None:
    first = preparer().prepare(alert(), network().directory, now())
    later = (now() - timedelta(minutes=1)).isoformat()
    second = preparer().prepare(
        alert(created_at=later, priority="IMMEDIATE"), network().directory, now()
    )
    assert first.alert_id == second.alert_id == make_alert_id("AT-BKA", "AT-BKA/2025/000731")
    assert first.value != second.value


def test_a_prepared_alert_verifies_and_opens_for_exactly_the_allowed_agencies() -> None:
    net = network()
    at = now()
    prepared = preparer().prepare(alert(), net.directory, at)
    assert prepared.key == b"RO>AT"
    assert dict(prepared.headers) == {
        EVENT_HEADER: b"CaseAlert",
        ALERT_ID_HEADER: prepared.alert_id.encode(),
    }
    sealed = alert_from_record(Codec().decode_as("CaseAlert", prepared.value))
    assert sealed.metadata == prepared.metadata
    verify_alert(sealed, net.directory.agencies["AT-BKA"], at_time=at)

    allowed = {a.id for a, d in decide_all(prepared.metadata, net.directory, at) if d.allowed}
    assert allowed == {"RO-ANITP", "RO-DGASPC-B", "RO-IGPR"}
    assert set(prepared.recipients) == allowed
    body = Codec().decode_as("AlertBody", open_alert(sealed, "RO-IGPR", net.encryption["RO-IGPR"]))
    assert body["person"]["family_names"] == ["Marinescu"]
    assert body["narrative"] == alert()["body"]["narrative"]
    for refused in ("RO-DIICOT", "AT-IBF", "RO-MAE-CONS"):
        with pytest.raises(OpenError):
            open_alert(sealed, refused, net.encryption[refused])


def test_addressees_limit_the_recipients() -> None:
    prepared = preparer().prepare(alert(addressees=["RO-IGPR"]), network().directory, now())
    assert prepared.recipients == ("RO-IGPR",)


def test_the_same_person_spelled_differently_by_two_agencies_shares_a_token() -> None:
    ours = preparer("AT-BKA").check(alert(), network().directory, now())
    theirs_data = alert(
        idempotency_key="ro-1",
        corridor={"origin": "RO", "destination": "AT"},
        person={"given_names": ["IOANA"], "family_names": ["MARINESCU"]},
    )
    theirs = preparer("RO-IGPR").check(theirs_data, network().directory, now())
    stranger = preparer("AT-BKA").check(
        alert(person={"given_names": ["Elena"], "family_names": ["Dobre"]}),
        network().directory,
        now(),
    )
    mine, other = set(ours.metadata.linkage_tokens), set(theirs.metadata.linkage_tokens)
    assert mine & other
    assert not mine & set(stranger.metadata.linkage_tokens)
    assert all(t.epoch == LINKAGE_KEY.epoch for t in mine)


def test_no_linkage_key_means_no_tokens() -> None:
    checked = preparer(linkage=False).check(alert(), network().directory, now())
    assert checked.metadata.linkage_tokens == ()


def test_aliases_add_tokens_up_to_a_cap() -> None:
    few = preparer().check(alert(), network().directory, now())
    aliases = [f"Alias{chr(65 + i)}{chr(70 + i)} Marinescu" for i in range(20)]
    many = preparer().check(alert(person={"other_names": aliases}), network().directory, now())
    assert len(few.metadata.linkage_tokens) == 3  # name with birth date, birth year, nationality
    assert len(many.metadata.linkage_tokens) == MAX_TOKENS
    assert len(set(many.metadata.linkage_tokens)) == MAX_TOKENS
