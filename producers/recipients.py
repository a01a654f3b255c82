"""Whom to seal an alert for: the agencies the access policy would let receive it.

The publisher asks the same pure policy function the processors apply, on the same
directory, and wraps the data key only for the agencies it allows. An agency left out
here could never open the alert, however the processors decide; an agency sealed for
here but refused by the processors (the directory changed in between) never receives
it. So sealing follows the policy, and the processors' check stays authoritative.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from corridor.domain import AlertMetadata, Directory
from corridor.envelope import RecipientKey, SealError
from corridor.policy import decide_all
from producers.exceptions import NoRecipientsError

__all__ = ["NO_ENCRYPTION_KEY", "Recipients", "choose_recipients"]

#: Reason given for an allowed agency that has no encryption key valid now.
NO_ENCRYPTION_KEY = "NO_ENCRYPTION_KEY"


@dataclass(frozen=True, slots=True)
class Recipients:
    keys: tuple[RecipientKey, ...]
    #: Candidate agencies left out, with the policy's reason code.
    denied: dict[str, str]

    @property
    def agency_ids(self) -> tuple[str, ...]:
        return tuple(k.agency_id for k in self.keys)


def choose_recipients(metadata: AlertMetadata, directory: Directory, now: datetime) -> Recipients:
    """The recipient keys of every agency allowed to receive ``metadata``'s alert.

    Raises :class:`NoRecipientsError` when there is none: an alert nobody may read is
    refused before it is sent, with the reasons counted.
    """
    keys: list[RecipientKey] = []
    denied: dict[str, str] = {}
    for agency, decision in decide_all(metadata, directory, now):
        if not decision.allowed:
            denied[agency.id] = decision.reason.value
            continue
        try:
            keys.append(RecipientKey.for_agency(agency, now))
        except SealError:
            denied[agency.id] = NO_ENCRYPTION_KEY
    if not keys:
        counts = Counter(denied.values())
        why = ", ".join(f"{reason} x{n}" for reason, n in sorted(counts.items())) or (
            "no agency of the corridor's countries is in the directory"
        )
        raise NoRecipientsError(
            [f"no agency may receive this alert under the agreements in force ({why})"],
            denials=denied,
        )
    return Recipients(tuple(keys), denied)
