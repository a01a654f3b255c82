"""Who may receive an alert: the access policy, as a pure function of alert, recipient,
directory and time.

The rules, their order and their reason codes are documented in ``docs/policy.md``;
keep the two in step and bump :data:`POLICY_VERSION` whenever an outcome can change,
because every decision is audited with the version that made it.

Evaluation is a fixed sequence of checks; the first failing check gives the denial.
When several agreements link the two countries, each in-force one is tried in id order;
the first that allows wins, and if none does, the denial reached furthest down the
sequence is reported (with the agreement that got that far), because it is the one
that tells an operator what is actually missing.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from corridor.domain import (
    PERSONAL_DATA_CATEGORIES,
    Agency,
    AgencyKind,
    AgencyStatus,
    Agreement,
    AlertMetadata,
    AlertType,
    ConsentScope,
    DataCategory,
    Directory,
    HandlingCode,
    Tlp,
    TrmPhase,
)
from corridor.exceptions import CorridorError

__all__ = [
    "PERSONAL_DATA_KINDS",
    "POLICY_VERSION",
    "Decision",
    "PolicyError",
    "PolicyIndex",
    "Reason",
    "candidate_recipients",
    "decide",
    "decide_all",
    "policy_index",
]

POLICY_VERSION = "1.0.0"


class PolicyError(CorridorError):
    """The policy was asked something it cannot answer (not a denial: a caller's mistake)."""


class Reason(StrEnum):
    """Why a decision came out as it did; denials are listed in evaluation order."""

    ALLOWED = "ALLOWED"
    ISSUER_NOT_ACTIVE = "ISSUER_NOT_ACTIVE"
    RECIPIENT_NOT_ACTIVE = "RECIPIENT_NOT_ACTIVE"
    SELF = "SELF"
    NOT_ADDRESSEE = "NOT_ADDRESSEE"
    NOT_IN_CORRIDOR = "NOT_IN_CORRIDOR"
    NO_AGREEMENT = "NO_AGREEMENT"
    AGREEMENT_NOT_IN_FORCE = "AGREEMENT_NOT_IN_FORCE"
    ALERT_TYPE_OUT_OF_SCOPE = "ALERT_TYPE_OUT_OF_SCOPE"
    RECIPIENT_KIND_OUT_OF_SCOPE = "RECIPIENT_KIND_OUT_OF_SCOPE"
    CATEGORY_OUT_OF_SCOPE = "CATEGORY_OUT_OF_SCOPE"
    NO_CHILD_SAFEGUARDS = "NO_CHILD_SAFEGUARDS"
    NOT_CLEARED_FOR_CHILDREN = "NOT_CLEARED_FOR_CHILDREN"
    NO_BEST_INTERESTS_ASSESSMENT = "NO_BEST_INTERESTS_ASSESSMENT"
    NO_CONSENT = "NO_CONSENT"


_RANK = {reason: rank for rank, reason in enumerate(Reason)}

_ENFORCEMENT = frozenset({AgencyKind.LAW_ENFORCEMENT, AgencyKind.PROSECUTION})

#: Which agency kinds may receive personal data under each consent scope. Law
#: enforcement and prosecution have a legal basis of their own and need no consent;
#: a child-protection authority also receives a minor's data whatever the consent
#: (see ``decide``), because it acts as guardian.
PERSONAL_DATA_KINDS: Mapping[ConsentScope, frozenset[AgencyKind]] = MappingProxyType(
    {
        ConsentScope.NONE: _ENFORCEMENT,
        ConsentScope.LAW_ENFORCEMENT_ONLY: _ENFORCEMENT,
        ConsentScope.ASSISTANCE: _ENFORCEMENT
        | {
            AgencyKind.NRM_COORDINATOR,
            AgencyKind.SERVICE_PROVIDER,
            AgencyKind.CHILD_PROTECTION,
            AgencyKind.CONSULAR,
        },
        ConsentScope.FULL: frozenset(AgencyKind),
    }
)


@dataclass(frozen=True, slots=True)
class Decision:
    """One recipient's verdict for one alert, as written to the audit topic."""

    allowed: bool
    reason: Reason
    agreement_id: str | None = None
    policy_version: str = POLICY_VERSION


def _deny(reason: Reason, agreement_id: str | None = None) -> Decision:
    return Decision(False, reason, agreement_id)


class PolicyIndex:
    """What ``decide`` looks up, precomputed once per directory version.

    Build it with :func:`policy_index`, which caches one per directory object.
    """

    __slots__ = ("_boundaries", "_by_country", "_decisions", "_pairs", "directory")

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._decisions: dict[Hashable, tuple[tuple[Agency, Decision], ...]] = {}
        self._boundaries = _validity_boundaries(directory)
        pairs: dict[tuple[str, str], list[Agreement]] = {}
        for agreement in sorted(directory.agreements.values(), key=lambda a: a.id):
            for first in agreement.parties:
                for second in agreement.parties:
                    pairs.setdefault((first, second), []).append(agreement)
        self._pairs = {pair: tuple(found) for pair, found in pairs.items()}
        by_country: dict[str, list[Agency]] = {}
        for agency in sorted(directory.agencies.values(), key=lambda a: a.id):
            by_country.setdefault(agency.country, []).append(agency)
        self._by_country = {country: tuple(found) for country, found in by_country.items()}

    def agreements_between(self, first: str, second: str) -> tuple[Agreement, ...]:
        """Agreements whose parties include both countries (the same one twice for a
        domestic exchange), in id order, whatever their status."""
        return self._pairs.get((first, second), ())

    def decide(self, alert: AlertMetadata, recipient: Agency, now: datetime) -> Decision:
        if now.tzinfo is None:
            raise PolicyError("decision time must be timezone-aware")
        agencies = self.directory.agencies
        issuer = agencies.get(alert.issuer)
        if issuer is None or issuer.status is not AgencyStatus.ACTIVE:
            return _deny(Reason.ISSUER_NOT_ACTIVE)
        # The directory's own record is authoritative: a stale Agency object passed in
        # must not resurrect a revoked agency or carry an outdated kind or clearance.
        target = agencies.get(recipient.id)
        if target is None or target.status is not AgencyStatus.ACTIVE:
            return _deny(Reason.RECIPIENT_NOT_ACTIVE)
        if target.id == issuer.id:
            return _deny(Reason.SELF)
        restricted = alert.tlp is Tlp.RED or alert.handling is HandlingCode.H2
        if alert.addressees or restricted:
            if target.id not in alert.addressees:
                return _deny(Reason.NOT_ADDRESSEE)
        elif target.country not in alert.corridor.countries:
            return _deny(Reason.NOT_IN_CORRIDOR)

        linking = self.agreements_between(issuer.country, target.country)
        if not linking:
            return _deny(Reason.NO_AGREEMENT)
        in_force = [a for a in linking if a.in_force_at(now)]
        if not in_force:
            return _deny(Reason.AGREEMENT_NOT_IN_FORCE, linking[0].id)

        best: Decision | None = None
        for agreement in in_force:
            reason = _scope_check(alert, target, agreement)
            if reason is Reason.ALLOWED:
                return _recipient_check(alert, target, agreement.id)
            if best is None or _RANK[reason] > _RANK[best.reason]:
                best = _deny(reason, agreement.id)
        assert best is not None
        return best

    def candidate_recipients(self, alert: AlertMetadata) -> list[Agency]:
        """Agencies of the corridor's countries plus named addressees, minus the issuer."""
        found: dict[str, Agency] = {}
        for country in sorted(alert.corridor.countries):
            for agency in self._by_country.get(country, ()):
                found[agency.id] = agency
        for addressee in alert.addressees:
            named = self.directory.agencies.get(addressee)
            if named is not None:
                found[named.id] = named
        found.pop(alert.issuer, None)
        return [found[agency_id] for agency_id in sorted(found)]

    def decide_all(self, alert: AlertMetadata, now: datetime) -> list[tuple[Agency, Decision]]:
        """Every candidate's decision; remembered per alert facts and validity period.

        Every alert is decided for each of its candidates, and the alerts of one
        corridor mostly share the same facts, so the outcome is kept (up to
        :data:`_MEMO_SIZE` entries per directory version). The key is everything
        ``decide`` and ``candidate_recipients`` read from the alert, and which of the
        intervals between agreement validity boundaries ``now`` falls in: inside one,
        ``in_force_at`` gives the same answer for every agreement. A rule that starts
        reading another field of the alert must add it to :meth:`_memo_key` (decision 14).
        """
        if now.tzinfo is None:
            raise PolicyError("decision time must be timezone-aware")
        key = self._memo_key(alert, now)
        found = self._decisions.get(key) if key is not None else None
        if found is None:
            found = tuple((a, self.decide(alert, a, now)) for a in self.candidate_recipients(alert))
            if key is not None:
                if len(self._decisions) >= _MEMO_SIZE:
                    self._decisions.clear()
                self._decisions[key] = found
        return list(found)

    def _memo_key(self, alert: AlertMetadata, now: datetime) -> Hashable | None:
        if self._boundaries is None:
            return None
        try:
            period = bisect_right(self._boundaries, now)
            corridor = alert.corridor
            return (
                period,
                alert.issuer,
                corridor.origin,
                corridor.destination,
                tuple(corridor.transit),
                tuple(alert.addressees),
                alert.tlp,
                alert.handling,
                alert.alert_type,
                frozenset(alert.data_categories),
                alert.involves_minor,
                alert.phase,
                alert.best_interests_assessed,
                alert.consent,
            )
        except TypeError:  # an unhashable or incomparable field: decide without the memo
            return None


#: Remembered ``decide_all`` outcomes per directory version.
_MEMO_SIZE = 4096


def _validity_boundaries(directory: Directory) -> tuple[datetime, ...] | None:
    """Every instant at which some agreement enters or leaves force, sorted; None when
    they cannot be ordered (a naive time), and then nothing is remembered."""
    instants = set()
    for agreement in directory.agreements.values():
        instants.add(agreement.valid_from)
        if agreement.valid_to is not None:
            instants.add(agreement.valid_to)
    try:
        ordered = tuple(sorted(instants))
    except TypeError:
        return None
    if any(instant.tzinfo is None for instant in ordered):
        return None
    return ordered


def _scope_check(alert: AlertMetadata, recipient: Agency, agreement: Agreement) -> Reason:
    """The checks that depend on the agreement: alert type, kind, categories, safeguards."""
    if alert.alert_type not in agreement.alert_types:
        return Reason.ALERT_TYPE_OUT_OF_SCOPE
    allowed: frozenset[DataCategory] | None = agreement.scope.get(recipient.kind)
    if allowed is None:
        return Reason.RECIPIENT_KIND_OUT_OF_SCOPE
    if not alert.data_categories <= allowed:
        return Reason.CATEGORY_OUT_OF_SCOPE
    if alert.involves_minor and not agreement.child_safeguards:
        return Reason.NO_CHILD_SAFEGUARDS
    return Reason.ALLOWED


def _recipient_check(alert: AlertMetadata, recipient: Agency, agreement_id: str) -> Decision:
    """The checks that hold whatever the agreement: children and consent."""
    if alert.involves_minor:
        if not recipient.cleared_for_children:
            return _deny(Reason.NOT_CLEARED_FOR_CHILDREN, agreement_id)
        returning = (
            alert.phase is TrmPhase.RETURN_AND_SOCIAL_INCLUSION
            or alert.alert_type is AlertType.RETURN_REQUEST
        )
        if returning and not alert.best_interests_assessed:
            return _deny(Reason.NO_BEST_INTERESTS_ASSESSMENT, agreement_id)
    if not alert.data_categories.isdisjoint(PERSONAL_DATA_CATEGORIES) and not (
        recipient.kind in PERSONAL_DATA_KINDS[alert.consent]
        or (alert.involves_minor and recipient.kind is AgencyKind.CHILD_PROTECTION)
    ):
        return _deny(Reason.NO_CONSENT, agreement_id)
    return Decision(True, Reason.ALLOWED, agreement_id)


_CACHE_SIZE = 8
_cache: dict[int, PolicyIndex] = {}
_cache_lock = threading.Lock()


def policy_index(directory: Directory) -> PolicyIndex:
    """The index of ``directory``, built on first use and kept for the few newest ones.

    Directories are immutable values, so caching by identity is safe; the index keeps
    its directory alive, so an id cannot be reused while its entry is cached.
    """
    index = _cache.get(id(directory))
    if index is not None and index.directory is directory:
        return index
    index = PolicyIndex(directory)
    with _cache_lock:
        _cache[id(directory)] = index
        while len(_cache) > _CACHE_SIZE:
            del _cache[next(iter(_cache))]
    return index


def decide(
    alert: AlertMetadata, recipient: Agency, directory: Directory, now: datetime
) -> Decision:
    """Whether ``recipient`` may receive ``alert`` under ``directory`` at ``now``."""
    return policy_index(directory).decide(alert, recipient, now)


def candidate_recipients(alert: AlertMetadata, directory: Directory) -> list[Agency]:
    """Everyone ``decide`` should be asked about for ``alert``, sorted by agency id."""
    return policy_index(directory).candidate_recipients(alert)


def decide_all(
    alert: AlertMetadata, directory: Directory, now: datetime
) -> list[tuple[Agency, Decision]]:
    """A decision for every candidate recipient, allowed or not, for the audit trail."""
    return policy_index(directory).decide_all(alert, now)
