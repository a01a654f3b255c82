"""The publishing SDK: how an agency's system puts a case alert on the network.

    from producers import open_publisher

    with open_publisher(load_settings(), "RO-ANITP") as publisher:
        future = publisher.publish(alert)        # checked, sealed, signed, queued
        delivery = future.result()               # partition and offset, or DeliveryError

``alert`` is a mapping in the input format of docs/publish-format.md (or an
:class:`AlertDraft`). The publisher works out the alert id from the idempotency key,
the linkage tokens from the body, and the recipients from the directory and the access
policy; nothing is sent for an alert that fails a check.
"""

from __future__ import annotations

from producers.alert_id import ALERT_ID_NAMESPACE, make_alert_id
from producers.bulk import BulkSummary, Failure, publish_all
from producers.draft import AlertDraft, parse_draft
from producers.exceptions import (
    AlertRejectedError,
    AlertValidationError,
    BrokerUnreachableError,
    DeliveryError,
    FailureCode,
    NoRecipientsError,
    ProducerError,
    PublisherClosedError,
)
from producers.factory import (
    StaticDirectory,
    alert_sealer,
    open_publisher,
    probe_cluster,
    producer_config,
)
from producers.input import InputRecord, count_lines, read_alerts
from producers.prepare import CheckedAlert, PreparedAlert, Preparer
from producers.publisher import Delivery, DeliveryCallback, DirectorySource, Publisher
from producers.rules import Limits

__all__ = [
    "ALERT_ID_NAMESPACE",
    "AlertDraft",
    "AlertRejectedError",
    "AlertValidationError",
    "BrokerUnreachableError",
    "BulkSummary",
    "CheckedAlert",
    "Delivery",
    "DeliveryCallback",
    "DeliveryError",
    "DirectorySource",
    "Failure",
    "FailureCode",
    "InputRecord",
    "Limits",
    "NoRecipientsError",
    "PreparedAlert",
    "Preparer",
    "ProducerError",
    "Publisher",
    "PublisherClosedError",
    "StaticDirectory",
    "alert_sealer",
    "count_lines",
    "make_alert_id",
    "open_publisher",
    "parse_draft",
    "probe_cluster",
    "producer_config",
    "publish_all",
    "read_alerts",
]
