"""Hypothesis strategies for Corridor's domain objects and event records.

Domain strategies build valid dataclasses (aware datetimes, canonical UUID strings,
whole-second deadlines). ``event_records(name)`` builds records of each event in the
exact shape the codec decodes them to (``uuid.UUID`` ids, UTC datetimes, every field
present), so ``decode(encode(r)) == r`` can be asserted directly.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from corridor.domain import (
    Agency,
    AgencyKind,
    AgencyStatus,
    Agreement,
    AgreementKind,
    AgreementStatus,
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

COUNTRIES = ("AT", "BG", "DE", "ES", "FR", "GR", "HU", "IT", "MD", "NG", "RO", "UA", "VN")
_OFFSETS = (dt.UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5)))
_NAME_CHARS = string.ascii_uppercase + string.digits

country_codes = st.sampled_from(COUNTRIES)
short_text = st.text(max_size=24)
key_ids = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=16)
uuid_strings = st.uuids().map(str)


@st.composite
def agency_ids(draw: st.DrawFn) -> str:
    suffix = draw(st.text(alphabet=_NAME_CHARS, min_size=1, max_size=10))
    return f"{draw(country_codes)}-{suffix}"


def aware_datetimes(
    *, timezones: st.SearchStrategy[dt.tzinfo] | None = None
) -> st.SearchStrategy[dt.datetime]:
    """Aware datetimes between 2000 and 2100, in UTC and fixed offsets."""
    return st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=timezones if timezones is not None else st.sampled_from(_OFFSETS),
    )


utc_datetimes = aware_datetimes(timezones=st.just(dt.UTC))


def _sets(enum: Any, *, min_size: int = 0) -> st.SearchStrategy[frozenset[Any]]:
    return st.frozensets(st.sampled_from(list(enum)), min_size=min_size)


@st.composite
def corridors(draw: st.DrawFn) -> Corridor:
    return Corridor(
        origin=draw(country_codes),
        destination=draw(country_codes),
        transit=tuple(draw(st.lists(country_codes, max_size=3))),
    )


linkage_tokens = st.builds(
    LinkageToken,
    epoch=st.integers(min_value=0, max_value=2**31 - 1),
    value=st.binary(min_size=32, max_size=32),
)


@st.composite
def alert_metadata(draw: st.DrawFn) -> AlertMetadata:
    return AlertMetadata(
        alert_id=draw(uuid_strings),
        case_ref=draw(short_text),
        issuer=draw(agency_ids()),
        corridor=draw(corridors()),
        alert_type=draw(st.sampled_from(AlertType)),
        phase=draw(st.sampled_from(TrmPhase)),
        priority=draw(st.sampled_from(Priority)),
        handling=draw(st.sampled_from(HandlingCode)),
        tlp=draw(st.sampled_from(Tlp)),
        data_categories=draw(_sets(DataCategory)),
        involves_minor=draw(st.booleans()),
        best_interests_assessed=draw(st.booleans()),
        consent=draw(st.sampled_from(ConsentScope)),
        created_at=draw(aware_datetimes()),
        addressees=tuple(draw(st.lists(agency_ids(), max_size=3))),
        linkage_tokens=tuple(draw(st.lists(linkage_tokens, max_size=3))),
    )


wrapped_keys = st.builds(
    WrappedKey,
    agency_id=agency_ids(),
    key_id=key_ids,
    enc=st.binary(min_size=32, max_size=32),
    wrapped_key=st.binary(min_size=48, max_size=48),
)


@st.composite
def sealed_alerts(draw: st.DrawFn) -> SealedAlert:
    return SealedAlert(
        suite=draw(st.sampled_from(["CORRIDOR-1", "CORRIDOR-2"])),
        metadata=draw(alert_metadata()),
        body_nonce=draw(st.binary(min_size=12, max_size=12)),
        body_ciphertext=draw(st.binary(max_size=512)),
        recipients=tuple(draw(st.lists(wrapped_keys, max_size=4))),
        signer_key_id=draw(key_ids),
        signature=draw(st.binary(min_size=64, max_size=64)),
    )


@st.composite
def public_keys(draw: st.DrawFn) -> PublicKey:
    valid_from = draw(aware_datetimes())
    valid_to = draw(st.none() | aware_datetimes())
    return PublicKey(
        key_id=draw(key_ids),
        public_key=draw(st.binary(min_size=32, max_size=32)),
        valid_from=valid_from,
        valid_to=valid_to,
    )


@st.composite
def agencies(draw: st.DrawFn) -> Agency:
    country = draw(country_codes)
    return Agency(
        id=draw(agency_ids()),
        name=draw(short_text),
        country=country,
        kind=draw(st.sampled_from(AgencyKind)),
        cleared_for_children=draw(st.booleans()),
        signing_keys=tuple(draw(st.lists(public_keys(), min_size=1, max_size=3))),
        encryption_keys=tuple(draw(st.lists(public_keys(), min_size=1, max_size=3))),
        status=draw(st.sampled_from(AgencyStatus)),
    )


@st.composite
def agreements(draw: st.DrawFn) -> Agreement:
    kinds = draw(st.lists(st.sampled_from(AgencyKind), unique=True, max_size=4))
    priorities = draw(st.lists(st.sampled_from(Priority), unique=True))
    return Agreement(
        id=draw(st.text(alphabet=_NAME_CHARS + "-", min_size=1, max_size=12)),
        title=draw(short_text),
        kind=draw(st.sampled_from(AgreementKind)),
        parties=draw(st.frozensets(country_codes, min_size=1, max_size=4)),
        alert_types=draw(_sets(AlertType, min_size=1)),
        scope={kind: draw(_sets(DataCategory)) for kind in kinds},
        valid_from=draw(aware_datetimes()),
        valid_to=draw(st.none() | aware_datetimes()),
        status=draw(st.sampled_from(AgreementStatus)),
        child_safeguards=draw(st.booleans()),
        response_deadlines={
            p: dt.timedelta(seconds=draw(st.integers(1, 90 * 86400))) for p in priorities
        },
        retention_days=draw(st.integers(min_value=1, max_value=3650)),
    )


# -- event records, in the shape the codec decodes them to ---------------------------


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _record(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields)


def _symbols(enum: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in enum])


def _sorted_symbols(enum: Any) -> st.SearchStrategy[list[str]]:
    return st.frozensets(_symbols(enum)).map(sorted)


_corridor_records = _record(
    origin=country_codes, destination=country_codes, transit=st.lists(country_codes, max_size=3)
)
_signature_records = _record(key_id=key_ids, value=st.binary(min_size=64, max_size=64))
_wrapped_key_records = _record(
    agency_id=agency_ids(),
    key_id=key_ids,
    enc=st.binary(min_size=32, max_size=32),
    wrapped_key=st.binary(min_size=48, max_size=48),
)
_sealed_payload_records = _record(
    nonce=st.binary(min_size=12, max_size=12),
    ciphertext=st.binary(max_size=256),
    recipients=st.lists(_wrapped_key_records, max_size=3),
)
_public_key_records = _record(
    key_id=key_ids,
    public_key=st.binary(min_size=32, max_size=32),
    valid_from=utc_datetimes,
    valid_to=_optional(utc_datetimes),
)
_agency_entries = _record(
    id=agency_ids(),
    name=short_text,
    country=country_codes,
    kind=_symbols(AgencyKind),
    cleared_for_children=st.booleans(),
    signing_keys=st.lists(_public_key_records, max_size=2),
    encryption_keys=st.lists(_public_key_records, max_size=2),
    status=_symbols(AgencyStatus),
)
_agreement_entries = _record(
    id=short_text,
    title=short_text,
    kind=_symbols(AgreementKind),
    parties=st.frozensets(country_codes).map(sorted),
    alert_types=_sorted_symbols(AlertType),
    scope=st.lists(
        _record(agency_kind=_symbols(AgencyKind), categories=_sorted_symbols(DataCategory)),
        max_size=3,
    ),
    valid_from=utc_datetimes,
    valid_to=_optional(utc_datetimes),
    status=_symbols(AgreementStatus),
    child_safeguards=st.booleans(),
    response_deadlines=st.lists(
        _record(priority=_symbols(Priority), seconds=st.integers(1, 2**40)), max_size=3
    ),
    retention_days=st.integers(0, 2**31 - 1),
)
_linkage_key_grants = _record(
    epoch=st.integers(0, 2**31 - 1),
    agency_id=agency_ids(),
    key_id=key_ids,
    wrapped_key=_record(enc=st.binary(max_size=32), wrapped=st.binary(max_size=48)),
    valid_from=utc_datetimes,
)
_linked_alerts = _record(alert_id=st.uuids(), issuer=agency_ids(), case_ref=short_text)
_names = st.lists(short_text, max_size=3)

_EVENTS: dict[str, Callable[[], st.SearchStrategy[dict[str, Any]]]] = {
    "CaseAlert": lambda: _record(
        suite=st.just("CORRIDOR-1"),
        metadata=_record(
            alert_id=st.uuids(),
            case_ref=short_text,
            issuer=agency_ids(),
            corridor=_corridor_records,
            alert_type=_symbols(AlertType),
            phase=_symbols(TrmPhase),
            priority=_symbols(Priority),
            handling=_symbols(HandlingCode),
            tlp=_symbols(Tlp),
            data_categories=_sorted_symbols(DataCategory),
            involves_minor=st.booleans(),
            best_interests_assessed=st.booleans(),
            consent=_symbols(ConsentScope),
            addressees=st.lists(agency_ids(), max_size=3),
            linkage_tokens=st.lists(
                _record(epoch=st.integers(0, 2**31 - 1), value=st.binary(max_size=32)),
                max_size=3,
            ),
            created_at=utc_datetimes,
        ),
        body=_sealed_payload_records,
        signature=_signature_records,
    ),
    "AlertBody": lambda: _record(
        person=_record(
            given_names=_names,
            family_names=_names,
            other_names=_names,
            date_of_birth=_optional(st.sampled_from(["1990", "1990-05", "2007-11-30"])),
            age_estimate=_optional(
                _record(min_years=st.integers(0, 99), max_years=st.integers(0, 99))
            ),
            gender=_optional(st.sampled_from(["FEMALE", "MALE", "OTHER"])),
            nationalities=st.lists(country_codes, max_size=2),
            documents=st.lists(
                _record(
                    kind=st.sampled_from(["PASSPORT", "NATIONAL_ID", "VISA", "OTHER"]),
                    number=short_text,
                    issuing_country=_optional(country_codes),
                ),
                max_size=2,
            ),
            languages=st.lists(st.sampled_from(["ro", "en", "vi", "uk"]), max_size=2),
        ),
        exploitation_types=st.lists(st.sampled_from(["SEXUAL", "LABOUR", "OTHER"]), max_size=2),
        locations=st.lists(
            _record(
                role=st.sampled_from(["RECRUITMENT", "TRANSIT", "EXPLOITATION", "CURRENT"]),
                country=country_codes,
                place=_optional(short_text),
            ),
            max_size=3,
        ),
        needs=st.lists(
            st.sampled_from(["SAFE_ACCOMMODATION", "MEDICAL_CARE", "OTHER"]), max_size=2
        ),
        narrative=st.text(max_size=200),
        suspects=st.lists(
            _record(
                names=_names,
                role=st.sampled_from(["RECRUITER", "EXPLOITER", "UNKNOWN"]),
                nationality=_optional(country_codes),
            ),
            max_size=2,
        ),
        contact=_optional(
            _record(
                phone=_optional(short_text),
                email=_optional(short_text),
                address=_optional(short_text),
                via=_optional(short_text),
            )
        ),
    ),
    "Acknowledgement": lambda: _record(
        ack_id=st.uuids(),
        alert_id=st.uuids(),
        corridor=_corridor_records,
        from_agency=agency_ids(),
        to_issuer=agency_ids(),
        status=st.sampled_from(["RECEIVED", "ACCEPTED", "DECLINED", "NEED_INFO"]),
        created_at=utc_datetimes,
        note=_optional(_sealed_payload_records),
        signature=_signature_records,
    ),
    "DirectoryRecord": lambda: _record(
        directory_version=st.integers(0, 2**63 - 1),
        issued_at=utc_datetimes,
        entry=st.one_of(
            st.tuples(st.just("corridor.directory.AgencyEntry"), _agency_entries),
            st.tuples(st.just("corridor.directory.AgreementEntry"), _agreement_entries),
            st.tuples(st.just("corridor.directory.LinkageKeyGrant"), _linkage_key_grants),
        ),
        authority_key_id=key_ids,
        signature=st.binary(min_size=64, max_size=64),
    ),
    "AuditRecord": lambda: _record(
        alert_id=st.uuids(),
        corridor_key=st.tuples(country_codes, country_codes).map(">".join),
        issuer=agency_ids(),
        recipient=agency_ids(),
        outcome=st.sampled_from(["ALLOW", "DENY"]),
        reason=st.sampled_from(["ALLOWED", "NO_AGREEMENT", "CATEGORY_OUT_OF_SCOPE"]),
        agreement_id=_optional(short_text),
        policy_version=st.just("1"),
        decided_at=utc_datetimes,
        processor_id=short_text,
        priority=_optional(_symbols(Priority)),
    ),
    "DeadLetter": lambda: _record(
        reason=st.sampled_from(["BAD_SIGNATURE", "UNDECODABLE"]),
        detail=short_text,
        source_topic=st.just("corridor.alerts.inbound"),
        source_partition=st.integers(0, 2**31 - 1),
        source_offset=st.integers(0, 2**63 - 1),
        original_key=_optional(st.binary(max_size=16)),
        original_value=st.binary(max_size=256),
        failed_at=utc_datetimes,
        component=short_text,
    ),
    "LinkNotice": lambda: _record(
        link_id=st.uuids(),
        epoch=st.integers(0, 2**31 - 1),
        first=_linked_alerts,
        second=_linked_alerts,
        corridor=_corridor_records,
        created_at=utc_datetimes,
    ),
    "Escalation": lambda: _record(
        alert_id=st.uuids(),
        issuer=agency_ids(),
        recipient=agency_ids(),
        priority=_symbols(Priority),
        deadline=utc_datetimes,
        raised_at=utc_datetimes,
        agreement_id=short_text,
    ),
}


def event_records(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Records of event ``name`` exactly as :meth:`corridor.codec.Codec.decode` returns them."""
    return _EVENTS[name]()


EVENT_NAMES: tuple[str, ...] = tuple(_EVENTS)
