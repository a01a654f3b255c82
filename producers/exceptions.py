"""Errors of the publishing SDK, each telling the caller what to do next.

A rejected alert (:class:`AlertRejectedError`) never reached Kafka and never will unchanged:
fix the input. A failed delivery (:class:`DeliveryError`) may succeed if re-sent with
the same idempotency key, which keeps the alert id, so the processors drop the copy if
the first attempt did land after all. Messages name fields and reason codes, never
values from the body, which may be a victim's personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from corridor.exceptions import CorridorError

__all__ = [
    "AlertRejectedError",
    "AlertValidationError",
    "BrokerUnreachableError",
    "DeliveryError",
    "FailureCode",
    "NoRecipientsError",
    "ProducerError",
    "PublisherClosedError",
]


class FailureCode(StrEnum):
    """Why one alert was not published, as counted in summaries and metrics."""

    MALFORMED = "MALFORMED"
    INVALID = "INVALID"
    TOO_LARGE = "TOO_LARGE"
    NO_RECIPIENTS = "NO_RECIPIENTS"
    DELIVERY_FAILED = "DELIVERY_FAILED"
    NOT_SENT = "NOT_SENT"


class ProducerError(CorridorError):
    """Root of the publishing SDK's errors."""

    code: FailureCode = FailureCode.DELIVERY_FAILED


class AlertRejectedError(ProducerError):
    """The alert was refused before anything was sent; ``problems`` lists each reason."""

    code = FailureCode.INVALID

    def __init__(self, problems: Sequence[str], *, code: FailureCode | None = None) -> None:
        self.problems: tuple[str, ...] = tuple(problems) or ("the alert is invalid",)
        super().__init__("; ".join(self.problems), retriable=False)
        if code is not None:
            self.code = code


class AlertValidationError(AlertRejectedError):
    """The input does not follow the alert format or a business rule."""


class NoRecipientsError(AlertRejectedError):
    """No agency may receive the alert under the agreements in force (or has a usable key).

    ``denials`` maps each candidate agency to the policy's reason code.
    """

    code = FailureCode.NO_RECIPIENTS

    def __init__(self, problems: Sequence[str], *, denials: dict[str, str]) -> None:
        super().__init__(problems)
        self.denials = dict(denials)


class DeliveryError(ProducerError):
    """The broker did not acknowledge the alert; re-sending with the same key is safe."""

    code = FailureCode.DELIVERY_FAILED

    def __init__(self, message: str, *, retriable: bool = True, kafka_code: str = "") -> None:
        super().__init__(message, retriable=retriable)
        self.kafka_code = kafka_code


class BrokerUnreachableError(ProducerError):
    """The cluster could not be reached (or refused us) within the configured time."""

    retriable = True
    code = FailureCode.NOT_SENT


class PublisherClosedError(ProducerError):
    """``publish`` was called on a publisher that is closed or closing."""

    code = FailureCode.NOT_SENT
