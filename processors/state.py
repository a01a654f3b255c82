"""What the processors remember about each routed alert, as plain JSON-able values.

One entry per alert id in the ``alerts`` table serves three jobs: dropping duplicates
(the table is the dedup store, with a time to live), checking that an acknowledgement
comes from a recipient of the alert, and raising escalations when a recipient misses
its agreement's response deadline. Entries are small dicts with short keys because
every change is written to the table's changelog; they are replaced, never mutated,
because faust records a change only on assignment. Each recipient's state is a tuple
(a list in JSON, made a tuple again when a restore reads it, :func:`restored_entry`):
a table holds an entry per alert for the whole deduplication window, and tuples of
plain values are dropped from the garbage collector's tracking, so its full
collections do not walk them all.

The entry also records where its alert was read (partition and offset). A worker that
crashed before committing reads the same records again; meeting the entry of the very
same record is then a replay to process again (at-least-once), not a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from processors.dead_letters import DeadLetterReason

__all__ = [
    "Entry",
    "RecipientState",
    "Routed",
    "acknowledge",
    "carry_over",
    "duplicate_reason",
    "escalate",
    "expired",
    "new_entry",
    "overdue",
    "restored_entry",
]

Entry = dict[str, Any]

# Short keys: partition, offset, issuer, seen at, priority, corridor key, recipients.
_P, _O, _I, _S, _Y, _K, _R = "p", "o", "i", "s", "y", "k", "r"


class RecipientState(IntEnum):
    PENDING = 0
    ACKNOWLEDGED = 1
    ESCALATED = 2


@dataclass(frozen=True, slots=True)
class Routed:
    """One recipient an alert went to, under which agreement, answer due when (0: never)."""

    recipient: str
    agreement_id: str
    deadline: float


def new_entry(
    *,
    partition: int,
    offset: int,
    issuer: str,
    seen_at: float,
    priority: str,
    corridor_key: str,
    routed: Iterable[Routed],
) -> Entry:
    return {
        _P: partition,
        _O: offset,
        _I: issuer,
        _S: seen_at,
        _Y: priority,
        _K: corridor_key,
        _R: {
            r.recipient: (r.agreement_id, r.deadline, int(RecipientState.PENDING)) for r in routed
        },
    }


def restored_entry(value: Any) -> Any:
    """An entry read back from the changelog, its recipients' states tuples again (JSON
    gives lists, which the garbage collector would walk for as long as the entry is
    kept). The same JSON; anything but an entry is left as it is."""
    if not isinstance(value, dict):
        return value
    recipients = value.get(_R)
    if not isinstance(recipients, dict):
        return value
    return {
        **value,
        _R: {r: tuple(v) if type(v) is list else v for r, v in recipients.items()},
    }


def duplicate_reason(
    entry: Entry | None, *, partition: int, offset: int, issuer: str, now: float, ttl: float
) -> DeadLetterReason | None:
    """Why an alert id already seen must be refused; None to process the record.

    None also for the very record the entry was made from (a replay after a crash)
    and for an entry past its time to live.
    """
    if entry is None or expired(entry, now, ttl):
        return None
    if entry[_P] == partition and entry[_O] == offset:
        return None
    return DeadLetterReason.DUPLICATE if entry[_I] == issuer else DeadLetterReason.ALERT_ID_REUSED


def carry_over(previous: Entry | None, entry: Entry) -> Entry:
    """``entry`` keeping the answers ``previous`` recorded, when both come from one record.

    A record processed again after a crash must not forget an acknowledgement that
    arrived in between, or the recipient would be escalated for an alert it answered.
    """
    if previous is None or (previous[_P], previous[_O]) != (entry[_P], entry[_O]):
        return entry
    before = recipients_of(previous)
    recipients = {
        recipient: (agreement, deadline, before[recipient][2] if recipient in before else state)
        for recipient, (agreement, deadline, state) in recipients_of(entry).items()
    }
    return {**entry, _R: recipients}


def expired(entry: Entry, now: float, ttl: float) -> bool:
    return float(entry[_S]) + ttl <= now


def issuer_of(entry: Entry) -> str:
    return str(entry[_I])


def partition_of(entry: Entry) -> int:
    return int(entry[_P])


def corridor_key_of(entry: Entry) -> str:
    return str(entry[_K])


def priority_of(entry: Entry) -> str:
    return str(entry[_Y])


def recipients_of(entry: Entry) -> dict[str, Sequence[Any]]:
    recipients: dict[str, Sequence[Any]] = entry[_R]
    return recipients


def acknowledge(entry: Entry, recipient: str) -> Entry | None:
    """The entry with ``recipient``'s answer recorded; None if nothing changes."""
    current = recipients_of(entry).get(recipient)
    if current is None or current[2] == RecipientState.ACKNOWLEDGED:
        return None
    return _with_state(entry, recipient, RecipientState.ACKNOWLEDGED)


def overdue(entry: Entry, now: float) -> list[tuple[str, str, float]]:
    """(recipient, agreement, deadline) of every pending recipient past its deadline."""
    return [
        (recipient, str(agreement), float(deadline))
        for recipient, (agreement, deadline, state) in recipients_of(entry).items()
        if state == RecipientState.PENDING and deadline and deadline <= now
    ]


def escalate(entry: Entry, recipients: Iterable[str]) -> Entry:
    for recipient in recipients:
        entry = _with_state(entry, recipient, RecipientState.ESCALATED)
    return entry


def _with_state(entry: Entry, recipient: str, state: RecipientState) -> Entry:
    recipients = dict(recipients_of(entry))
    agreement, deadline, _ = recipients[recipient]
    recipients[recipient] = (agreement, deadline, int(state))
    return {**entry, _R: recipients}
