"""The subscriber SDK: deliver an agency's alerts to its own systems and acknowledge them.

:func:`build_consumer` builds an agency's consumer from configuration; sinks are in
:mod:`consumers.sinks`; the acknowledgement record itself is :mod:`corridor.acks`.
"""

from __future__ import annotations

from consumers.acknowledger import AckSender
from consumers.app import (
    ConsumerApp,
    ConsumerOptions,
    build_consumer,
    default_inbox,
    default_state_dir,
)
from consumers.documents import Delivery, DeliveryKind
from consumers.exceptions import (
    AckSendError,
    ConsumerError,
    InboxError,
    SinkError,
    SinkSpecError,
)
from consumers.handling import DeliveryHandler, Rejection, SourceRecord
from consumers.sinks import open_sink, parse_sink_spec
from consumers.state import ConsumerState
from consumers.subscriber import Subscriber, SubscriberStats

__all__ = [
    "AckSendError",
    "AckSender",
    "ConsumerApp",
    "ConsumerError",
    "ConsumerOptions",
    "ConsumerState",
    "Delivery",
    "DeliveryHandler",
    "DeliveryKind",
    "InboxError",
    "Rejection",
    "SinkError",
    "SinkSpecError",
    "SourceRecord",
    "Subscriber",
    "SubscriberStats",
    "build_consumer",
    "default_inbox",
    "default_state_dir",
    "open_sink",
    "parse_sink_spec",
]
