"""Errors of the operations view."""

from __future__ import annotations

from corridor.exceptions import CorridorError


class OpsError(CorridorError):
    """The operations view could not be read from Kafka (usually worth retrying)."""

    retriable = True
