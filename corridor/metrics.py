"""Every Prometheus metric Corridor exposes, declared in one catalogue.

Metrics are created per component on a registry passed in (no import-time globals), so
tests get fresh counters and ``docs/operations.md`` can be checked against this file.
Labels are bounded: corridors, agencies, agreements, reason codes, never alert ids or
anything about a person. Names follow Prometheus conventions: ``corridor_`` prefix,
base units (seconds, bytes), ``_total`` for counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    start_http_server,
)

#: Latency buckets from 1 ms to 60 s: alerts must arrive within seconds.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
CRYPTO_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)


class Children:
    """``children(*labels)`` is ``metric.labels(*labels)``, remembered.

    ``labels()`` takes a lock and builds a key on every call, microseconds that every
    alert would pay once per metric. Label sets are bounded (corridors, agencies,
    agreements, reason codes), so the cache is as bounded as the metric itself.
    """

    __slots__ = ("_cache", "_metric")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self._cache.get(labels)
        if child is None:
            child = self._cache[labels] = self._metric.labels(*labels)
        return child


@dataclass(frozen=True, slots=True)
class ProducerMetrics:
    published: Counter
    publish_latency: Histogram
    bytes_sent: Counter
    wrapping_keys: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ProducerMetrics:
        return cls(
            published=Counter(
                "corridor_alerts_published_total",
                "Alerts handed to Kafka by a publisher, by outcome (delivered, failed, invalid).",
                ["corridor", "alert_type", "outcome"],
                registry=registry,
            ),
            publish_latency=Histogram(
                "corridor_publish_latency_seconds",
                "From the publish call to the broker's acknowledgement.",
                ["corridor"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            bytes_sent=Counter(
                "corridor_publish_bytes_total",
                "Encoded alert bytes sent to the inbound topic.",
                ["corridor"],
                registry=registry,
            ),
            wrapping_keys=Counter(
                "corridor_publish_wrapping_keys_total",
                "Wrapping keys made and wrapped for a set of recipients (one per set, "
                "then again once the reuse limits are reached).",
                registry=registry,
            ),
        )


@dataclass(frozen=True, slots=True)
class ProcessorMetrics:
    consumed: Counter
    decisions: Counter
    routed: Counter
    duplicates: Counter
    links: Counter
    sightings: Counter
    dead_letters: Counter
    verification_time: Histogram
    routing_lag: Histogram
    directory_version: Gauge
    directory_rejected: Counter
    acks_routed: Counter
    escalations: Counter
    workers: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ProcessorMetrics:
        return cls(
            consumed=Counter(
                "corridor_alerts_consumed_total",
                "Inbound alerts read by the processors.",
                ["corridor"],
                registry=registry,
            ),
            decisions=Counter(
                "corridor_policy_decisions_total",
                "Access-policy decisions, one per alert and candidate recipient.",
                ["corridor", "outcome", "reason", "agreement"],
                registry=registry,
            ),
            routed=Counter(
                "corridor_alerts_routed_total",
                "Alerts written to an agency's delivery topic.",
                ["corridor", "recipient"],
                registry=registry,
            ),
            duplicates=Counter(
                "corridor_duplicates_total",
                "Inbound alerts dropped because their alert id was already processed.",
                ["corridor"],
                registry=registry,
            ),
            links=Counter(
                "corridor_links_total",
                "Link notices raised: alerts of two issuers about the same person.",
                ["corridor"],
                registry=registry,
            ),
            sightings=Counter(
                "corridor_sightings_correlated_total",
                "Linkage-token sightings compared with the alerts seen before and recorded.",
                registry=registry,
            ),
            dead_letters=Counter(
                "corridor_dead_letters_total",
                "Records sent to the dead-letter topic, by reason code.",
                ["component", "reason"],
                registry=registry,
            ),
            verification_time=Histogram(
                "corridor_signature_verification_seconds",
                "Time to verify one alert's signature against the directory.",
                buckets=CRYPTO_BUCKETS,
                registry=registry,
            ),
            routing_lag=Histogram(
                "corridor_routing_lag_seconds",
                "From an alert's created_at to its routing by a processor.",
                ["corridor"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            directory_version=Gauge(
                "corridor_directory_version",
                "Version of the directory the component currently applies.",
                registry=registry,
            ),
            directory_rejected=Counter(
                "corridor_directory_entries_rejected_total",
                "Directory records ignored because their signature or content was bad.",
                registry=registry,
            ),
            acks_routed=Counter(
                "corridor_acks_routed_total",
                "Acknowledgements verified and routed back to the issuer.",
                ["status"],
                registry=registry,
            ),
            escalations=Counter(
                "corridor_escalations_total",
                "Alerts left unacknowledged past their agreement's deadline.",
                ["priority", "agreement"],
                registry=registry,
            ),
            workers=Gauge(
                "corridor_processor_partitions_assigned",
                "Inbound partitions this processor worker holds.",
                registry=registry,
            ),
        )


@dataclass(frozen=True, slots=True)
class ConsumerMetrics:
    deliveries: Counter
    delivery_latency: Histogram
    retries: Counter
    parked: Gauge
    acks_sent: Counter
    quarantined: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ConsumerMetrics:
        return cls(
            deliveries=Counter(
                "corridor_deliveries_total",
                "Alerts handed to an agency's sink, by outcome.",
                ["agency", "sink", "outcome"],
                registry=registry,
            ),
            delivery_latency=Histogram(
                "corridor_delivery_latency_seconds",
                "From an alert's created_at to the sink's confirmation.",
                ["agency", "sink"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            retries=Counter(
                "corridor_delivery_retries_total",
                "Sink delivery attempts that failed and were retried.",
                ["agency", "sink"],
                registry=registry,
            ),
            parked=Gauge(
                "corridor_deliveries_parked",
                "Alerts parked in the local retry store, waiting for the sink.",
                ["agency", "sink"],
                registry=registry,
            ),
            acks_sent=Counter(
                "corridor_acks_sent_total",
                "Acknowledgements an agency sent.",
                ["agency", "status"],
                registry=registry,
            ),
            quarantined=Counter(
                "corridor_deliveries_quarantined_total",
                "Delivery-topic records rejected by the consumer (bad signature, undecodable).",
                ["agency", "reason"],
                registry=registry,
            ),
        )


@dataclass(frozen=True, slots=True)
class AgreementMetrics:
    """Whether each agreement is used and answered: the operators' follow-up, per agreement."""

    exchanges: Gauge
    ack_ratio: Gauge
    ack_median: Gauge
    overdue: Gauge
    dormant: Gauge
    last_exchange: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AgreementMetrics:
        return cls(
            exchanges=Gauge(
                "corridor_agreement_exchanges",
                "Deliveries the agreement allowed within the report period.",
                ["agreement"],
                registry=registry,
            ),
            ack_ratio=Gauge(
                "corridor_agreement_ack_ratio",
                "Share of those deliveries the recipient acknowledged (0 to 1).",
                ["agreement"],
                registry=registry,
            ),
            ack_median=Gauge(
                "corridor_agreement_ack_median_seconds",
                "Median time from delivery to acknowledgement within the report period.",
                ["agreement"],
                registry=registry,
            ),
            overdue=Gauge(
                "corridor_agreement_overdue_acks",
                "Deliveries still unacknowledged past the agreement's response deadline.",
                ["agreement"],
                registry=registry,
            ),
            dormant=Gauge(
                "corridor_agreement_dormant",
                "1 when an agreement in force had no exchange for the dormancy period, else 0.",
                ["agreement"],
                registry=registry,
            ),
            last_exchange=Gauge(
                "corridor_agreement_last_exchange_timestamp_seconds",
                "Unix time of the agreement's last delivery seen (0: none in the lookback).",
                ["agreement"],
                registry=registry,
            ),
        )


@dataclass(frozen=True, slots=True)
class OperationsMetrics:
    """The operator's view from outside the components, so it survives a component's death."""

    consumer_lag: Gauge
    workers_alive: Gauge
    brokers: Gauge
    collections: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> OperationsMetrics:
        return cls(
            consumer_lag=Gauge(
                "corridor_consumer_lag_messages",
                "Records on a topic not yet committed by the group that should read them.",
                ["topic", "group"],
                registry=registry,
            ),
            workers_alive=Gauge(
                "corridor_processor_workers_alive",
                "Members of the processors' consumer group.",
                registry=registry,
            ),
            brokers=Gauge(
                "corridor_kafka_brokers",
                "Brokers present in the cluster metadata.",
                registry=registry,
            ),
            collections=Counter(
                "corridor_ops_collections_total",
                "Rounds of the operations view read from Kafka, by outcome (ok, failed).",
                ["outcome"],
                registry=registry,
            ),
        )


def serve_metrics(registry: CollectorRegistry, port: int, addr: str = "127.0.0.1") -> None:
    """Expose ``registry`` on ``http://addr:port/metrics``; port 0 disables it.

    With the standard ``process_*`` series of the process serving it, so that restarts
    show (``process_start_time_seconds``, the ``CorridorComponentRestarting`` rule):
    a component in a crash loop may answer most scrapes.
    """
    if port:
        if registry.get_sample_value("process_start_time_seconds") is None:
            ProcessCollector(registry=registry)  # once: a registry may be served twice
        start_http_server(port, addr=addr, registry=registry)
