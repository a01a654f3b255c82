"""Properties of sealed alerts: every recipient opens, every change is caught."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from corridor.domain import (
    AGENCY_ID,
    COUNTRY_CODE,
    Agency,
    AgencyKind,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    LinkageToken,
    Priority,
    PublicKey,
    SealedAlert,
    Tlp,
    TrmPhase,
    WrappedKey,
)
from corridor.envelope import (
    REUSED_WRAP_SUITE,
    EncryptionKey,
    InvalidAlert,
    KeyReuse,
    OpenError,
    Sealer,
    SigningKey,
    UnwrappedKeys,
    open_alert,
    verify_alert,
)


def _seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


ISSUER = "RO-ANITP"
SIGNER = SigningKey.from_private_bytes("RO-ANITP-sig-1", _seed("issuer signing"))
AGENCY = Agency(
    id=ISSUER,
    name="National Agency against Trafficking in Persons",
    country="RO",
    kind=AgencyKind.NRM_COORDINATOR,
    cleared_for_children=True,
    signing_keys=(
        PublicKey(SIGNER.key_id, SIGNER.public_bytes(), datetime(2020, 1, 1, tzinfo=UTC)),
    ),
    encryption_keys=(),
)
RECIPIENTS = {
    agency: EncryptionKey.from_private_bytes(f"{agency}-enc-1", _seed(agency))
    for agency in ("AT-BKA", "DE-BKA", "IT-DCSA")
}
OUTSIDER_ID = "HU-NBI"
OUTSIDER = EncryptionKey.from_private_bytes("HU-NBI-enc-1", _seed(OUTSIDER_ID))
# Both suites: one wrap per alert, and a wrapping key reused for a few alerts at a time.
SEALERS = (Sealer(), Sealer(suite=REUSED_WRAP_SUITE, key_reuse=KeyReuse(max_alerts=4)))
# Recipients that open through the cache of reused wraps, as a consumer does: a mutated
# wrap must not be answered from it.
UNWRAPPED = UnwrappedKeys()

countries = st.from_regex(COUNTRY_CODE, fullmatch=True)
agency_ids = st.from_regex(AGENCY_ID, fullmatch=True)
metadata_strategy = st.builds(
    AlertMetadata,
    alert_id=st.uuids().map(str),
    case_ref=st.text(min_size=1, max_size=24),
    issuer=st.just(ISSUER),
    corridor=st.builds(Corridor, countries, countries, st.lists(countries, max_size=3).map(tuple)),
    alert_type=st.sampled_from(AlertType),
    phase=st.sampled_from(TrmPhase),
    priority=st.sampled_from(Priority),
    handling=st.sampled_from(HandlingCode),
    tlp=st.sampled_from(Tlp),
    data_categories=st.frozensets(st.sampled_from(DataCategory)),
    involves_minor=st.booleans(),
    best_interests_assessed=st.booleans(),
    consent=st.sampled_from(ConsentScope),
    created_at=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    addressees=st.lists(agency_ids, max_size=3).map(tuple),
    linkage_tokens=st.lists(
        st.builds(LinkageToken, st.integers(0, 2**31 - 1), st.binary(min_size=32, max_size=32)),
        max_size=3,
    ).map(tuple),
)
recipient_sets = st.lists(st.sampled_from(sorted(RECIPIENTS)), min_size=1, unique=True)
bodies = st.binary(max_size=2048)


def _seal(metadata: AlertMetadata, body: bytes, recipients: list[str]) -> SealedAlert:
    keys = [RECIPIENTS[agency].recipient(agency) for agency in recipients]
    sealer = SEALERS[int(metadata.alert_id[-1], 16) % len(SEALERS)]
    return sealer.seal(metadata, body, keys, SIGNER)


def _verifies(alert: SealedAlert) -> bool:
    try:
        verify_alert(alert, AGENCY, at_time=alert.metadata.created_at)
    except InvalidAlert:
        return False
    return True


def _opens(alert: SealedAlert, agency: str, key: EncryptionKey) -> bytes | None:
    try:
        return open_alert(alert, agency, key, unwrapped=UNWRAPPED)
    except OpenError:
        return None


@settings(max_examples=40, deadline=None)
@given(metadata_strategy, bodies, recipient_sets)
def test_every_recipient_opens_what_was_sealed(
    metadata: AlertMetadata, body: bytes, recipients: list[str]
) -> None:
    alert = _seal(metadata, body, recipients)
    assert _verifies(alert)
    assert [w.agency_id for w in alert.recipients] == recipients
    for agency in recipients:
        assert open_alert(alert, agency, RECIPIENTS[agency]) == body


# --- mutations: one bit (or one symbol) of one field, chosen by hypothesis

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]


def _flip_bytes(draw: Draw, value: bytes) -> bytes:
    if not value:
        return b"\x00"
    bit = draw(st.integers(0, len(value) * 8 - 1))
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _flip_str(draw: Draw, value: str) -> str:
    if not value:
        return "A"
    index = draw(st.integers(0, len(value) - 1))
    bit = draw(st.integers(0, 6))  # low bits never turn a code point into a surrogate
    return value[:index] + chr(ord(value[index]) ^ (1 << bit)) + value[index + 1 :]


def _other(draw: Draw, value: T, choices: list[T]) -> T:
    other: T = draw(st.sampled_from([c for c in choices if c != value]))
    return other


def _flip_tuple(
    draw: Draw, items: tuple[T, ...], flip: Callable[[T], T], fresh: T
) -> tuple[T, ...]:
    if not items:
        return (fresh,)
    index = draw(st.integers(0, len(items) - 1))
    return (*items[:index], flip(items[index]), *items[index + 1 :])


def _mutate_metadata(draw: Draw, m: AlertMetadata) -> AlertMetadata:
    field = draw(st.sampled_from(sorted(AlertMetadata.__dataclass_fields__)))
    c = m.corridor
    changes: dict[str, Callable[[], Any]] = {
        "alert_id": lambda: _flip_str(draw, m.alert_id),
        "case_ref": lambda: _flip_str(draw, m.case_ref),
        "issuer": lambda: _flip_str(draw, m.issuer),
        "corridor": lambda: draw(
            st.sampled_from(
                [
                    replace(c, origin=_flip_str(draw, c.origin)),
                    replace(c, destination=_flip_str(draw, c.destination)),
                    replace(
                        c, transit=_flip_tuple(draw, c.transit, lambda s: _flip_str(draw, s), "HU")
                    ),
                ]
            )
        ),
        "alert_type": lambda: _other(draw, m.alert_type, list(AlertType)),
        "phase": lambda: _other(draw, m.phase, list(TrmPhase)),
        "priority": lambda: _other(draw, m.priority, list(Priority)),
        "handling": lambda: _other(draw, m.handling, list(HandlingCode)),
        "tlp": lambda: _other(draw, m.tlp, list(Tlp)),
        "data_categories": lambda: m.data_categories ^ {draw(st.sampled_from(DataCategory))},
        "involves_minor": lambda: not m.involves_minor,
        "best_interests_assessed": lambda: not m.best_interests_assessed,
        "consent": lambda: _other(draw, m.consent, list(ConsentScope)),
        "created_at": lambda: (
            m.created_at
            + draw(st.sampled_from([1, -1])) * timedelta(microseconds=2 ** draw(st.integers(0, 40)))
        ),
        "addressees": lambda: _flip_tuple(
            draw, m.addressees, lambda s: _flip_str(draw, s), "AT-BKA"
        ),
        "linkage_tokens": lambda: _flip_tuple(
            draw,
            m.linkage_tokens,
            lambda t: draw(
                st.sampled_from(
                    [
                        LinkageToken(t.epoch ^ (1 << draw(st.integers(0, 30))), t.value),
                        LinkageToken(t.epoch, _flip_bytes(draw, t.value)),
                    ]
                )
            ),
            LinkageToken(0, b"\x00" * 32),
        ),
    }
    assert set(changes) == set(AlertMetadata.__dataclass_fields__), "a field is never mutated"
    mutated = replace(m, **{field: changes[field]()})
    assert mutated != m
    return mutated


def _mutate_wrapped(draw: Draw, w: WrappedKey) -> WrappedKey:
    field = draw(st.sampled_from(["agency_id", "key_id", "enc", "wrapped_key"]))
    change: dict[str, Any] = (
        {field: _flip_str(draw, getattr(w, field))}
        if field in ("agency_id", "key_id")
        else {field: _flip_bytes(draw, getattr(w, field))}
    )
    return replace(w, **change)


def _mutate(draw: Draw, alert: SealedAlert) -> tuple[SealedAlert, set[str]]:
    """A changed alert, and the recipients whose opening the change must break."""
    everyone = {w.agency_id for w in alert.recipients}
    field = draw(
        st.sampled_from(
            [
                "suite",
                "metadata",
                "body_nonce",
                "body_ciphertext",
                "recipients",
                "signer_key_id",
                "signature",
            ]
        )
    )
    if field == "suite":
        return replace(alert, suite=_flip_str(draw, alert.suite)), everyone
    if field == "metadata":
        return replace(alert, metadata=_mutate_metadata(draw, alert.metadata)), everyone
    if field in ("body_nonce", "body_ciphertext", "signature"):
        change: dict[str, Any] = {field: _flip_bytes(draw, getattr(alert, field))}
        return replace(alert, **change), (set() if field == "signature" else everyone)
    if field == "signer_key_id":
        return replace(alert, signer_key_id=_flip_str(draw, alert.signer_key_id)), set()
    index = draw(st.integers(0, len(alert.recipients) - 1))
    entries = list(alert.recipients)
    entries[index] = _mutate_wrapped(draw, entries[index])
    return replace(alert, recipients=tuple(entries)), {alert.recipients[index].agency_id}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(metadata_strategy, st.binary(max_size=64), recipient_sets, st.data())
def test_any_single_change_is_caught(
    metadata: AlertMetadata, body: bytes, recipients: list[str], data: st.DataObject
) -> None:
    alert = _seal(metadata, body, recipients)
    mutated, broken = _mutate(data.draw, alert)
    assert mutated != alert

    assert not _verifies(mutated)
    for agency in recipients:
        opened = _opens(mutated, agency, RECIPIENTS[agency])
        if agency in broken:
            assert opened is None, f"{agency} opened an altered alert"
        else:  # parts the body's AEAD does not cover: the signature still catches them
            assert opened == body


@settings(max_examples=30, deadline=None)
@given(metadata_strategy, bodies, recipient_sets)
def test_a_non_recipient_cannot_open(
    metadata: AlertMetadata, body: bytes, recipients: list[str]
) -> None:
    alert = _seal(metadata, body, recipients)
    assert _opens(alert, OUTSIDER_ID, OUTSIDER) is None
    for agency in recipients:  # right agency id, wrong key
        assert _opens(alert, agency, OUTSIDER) is None
    for agency in set(RECIPIENTS) - set(recipients):
        assert _opens(alert, agency, RECIPIENTS[agency]) is None


@settings(max_examples=30, deadline=None)
@given(metadata_strategy, metadata_strategy, bodies, bodies, st.sampled_from(sorted(RECIPIENTS)))
def test_a_recipient_key_opens_no_other_alert(
    first: AlertMetadata, second: AlertMetadata, body1: bytes, body2: bytes, agency: str
) -> None:
    assume(first != second)
    a = _seal(first, body1, [agency])
    b = _seal(second, body2, [agency])
    key = RECIPIENTS[agency]
    # b's wrapped key grafted onto a, and a's metadata grafted onto b's body. Under a
    # reused wrapping key the two alerts may carry the very same wrap: grafting it
    # changes nothing, and a still opens as itself.
    if b.recipients != a.recipients:
        assert _opens(replace(a, recipients=b.recipients), agency, key) is None
    else:
        assert a.suite == b.suite == REUSED_WRAP_SUITE
    assert _opens(replace(b, metadata=first), agency, key) is None
    assert (
        _opens(replace(a, body_nonce=b.body_nonce, body_ciphertext=b.body_ciphertext), agency, key)
        is None
    )


@pytest.mark.parametrize("agency", sorted(RECIPIENTS))
def test_sealing_twice_gives_unrelated_ciphertexts(agency: str) -> None:
    metadata = AlertMetadata(
        alert_id="00000000-0000-4000-8000-000000000000",
        case_ref="RO-1",
        issuer=ISSUER,
        corridor=Corridor("RO", "AT"),
        alert_type=AlertType.REFERRAL_REQUEST,
        phase=TrmPhase.IDENTIFICATION,
        priority=Priority.ROUTINE,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset(),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.NONE,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    a = _seal(metadata, b"same body", [agency])
    b = _seal(metadata, b"same body", [agency])
    assert a.body_nonce != b.body_nonce
    assert a.body_ciphertext != b.body_ciphertext
    assert a.recipients[0].enc != b.recipients[0].enc
