"""Settings: a ``corridor.toml`` file, overridden by ``CORRIDOR_<SECTION>_<KEY>`` variables.

Settings are checked on the way in: an unknown section or key is rejected with its
name, so a typo never silently falls back to a default. Kafka client settings use
librdkafka's own property names under ``[kafka]`` and pass through to every client;
``[kafka.producer]`` and ``[kafka.consumer]`` add properties for one kind of client
only (librdkafka warns about, and ignores, a producer's property given to a consumer).
Secrets are never part of this object's ``repr``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from corridor.exceptions import ConfigError

CONFIG_FILE = "corridor.toml"
ENV_PREFIX = "CORRIDOR_"
#: The variable naming the settings file (as ``--config`` does).
CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """Partitions and replication of the topics the platform creates."""

    partitions: int = 6
    delivery_partitions: int = 3
    #: 0 means: 3 when the cluster has three or more brokers, else 1.
    replication_factor: int = 0


@dataclass(frozen=True, slots=True)
class ProcessorSettings:
    app_id: str = "corridor-processor"
    #: How old an alert may be when it reaches the processor before it is refused.
    max_age_seconds: int = 7 * 24 * 3600
    #: How far in the future ``created_at`` may lie (clock skew between agencies).
    max_clock_skew_seconds: int = 300
    #: How long an alert id is remembered to drop duplicates.
    dedup_ttl_seconds: int = 14 * 24 * 3600
    metrics_port: int = 9401
    #: Where the metrics endpoint and the operations page listen; the loopback address
    #: keeps them on the host, "0.0.0.0" (or the host's address) lets Prometheus in.
    listen_address: str = "127.0.0.1"
    web_port: int = 6066
    #: An agreement in force with no exchange for this long is reported dormant.
    dormant_after_days: int = 30
    #: How long an alert's linkage tokens are kept to link alerts that arrive later.
    link_window_seconds: int = 30 * 24 * 3600
    #: How often a worker looks for missed response deadlines and expired state.
    sweep_interval_seconds: float = 30.0
    #: How often processed offsets are committed (once their records are acknowledged).
    commit_interval_seconds: float = 2.8
    #: The asyncio event loop of a worker: "uvloop" (faster, the default) or "asyncio".
    event_loop: str = "uvloop"
    #: Longest wait of a worker's fetch for partitions with nothing new (faust: 1500).
    fetch_max_wait_ms: int = 25
    #: How long a worker gathers audit records, dead letters and link records before it
    #: sends them (their producer's ``linger.ms``; decision 25). Nobody waits for them,
    #: and gathering them spares the brokers most of a request per alert. Deliveries
    #: keep ``[kafka.producer]``'s ``linger.ms`` (5 ms). From 0 to 1000.
    trail_linger_ms: int = 50
    #: A worker holding records that wait, and handling none, for this long ends itself
    #: (exit status 70) so that its supervisor or another worker takes over; 0: never.
    #: Well past a commit's longest wait for the brokers (30 s) and a rebalance.
    stall_exit_seconds: float = 90.0


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    metrics_port: int = 9402
    #: Where the metrics endpoint listens (see ``processor.listen_address``).
    listen_address: str = "127.0.0.1"
    http_timeout_seconds: float = 10.0
    http_max_attempts: int = 5
    #: First wait between http attempts; doubles each time, with jitter.
    http_backoff_seconds: float = 0.5
    #: HMAC-SHA256 key of the http sink's signature header (CORRIDOR_CONSUMER_HTTP_SECRET).
    http_secret: str = field(default="", repr=False)
    #: How often deliveries parked in the local retry store are tried again.
    parked_retry_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class ProducerSettings:
    metrics_port: int = 9403
    #: Where ``corridor publish --metrics`` listens (see ``processor.listen_address``).
    listen_address: str = "127.0.0.1"
    #: Largest encoded body accepted for sealing, in bytes.
    max_body_bytes: int = 256 * 1024
    delivery_timeout_ms: int = 30000
    #: How long to wait for the cluster (and the directory) before failing a publisher.
    connect_timeout_seconds: float = 10.0
    #: Alerts sealed under one wrapping key for the same recipient keys (decision 18).
    #: 1 seals every alert under its own wrapped key (suite CORRIDOR-1), the format
    #: consumers older than this setting can read.
    key_reuse_alerts: int = 1000
    #: Seconds one wrapping key may serve new alerts.
    key_reuse_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with defaults that work on a local cluster."""

    home: Path = Path(".corridor")
    #: librdkafka properties for every client.
    kafka: Mapping[str, str] = field(default_factory=dict)
    #: ... and for producers only (``[kafka.producer]``), and consumers only.
    kafka_producer: Mapping[str, str] = field(default_factory=dict)
    kafka_consumer: Mapping[str, str] = field(default_factory=dict)
    topics: TopicSettings = field(default_factory=TopicSettings)
    processor: ProcessorSettings = field(default_factory=ProcessorSettings)
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)
    producer: ProducerSettings = field(default_factory=ProducerSettings)

    def producer_kafka(self) -> dict[str, str]:
        """The librdkafka properties a producer gets from the settings."""
        return {**self.kafka, **self.kafka_producer}

    def consumer_kafka(self) -> dict[str, str]:
        """The librdkafka properties a consumer gets from the settings."""
        return {**self.kafka, **self.kafka_consumer}


#: Sub-tables of ``[kafka]``: properties for one kind of client.
KAFKA_ROLES = ("producer", "consumer")

_SECTIONS: dict[str, type[Any]] = {
    "topics": TopicSettings,
    "processor": ProcessorSettings,
    "consumer": ConsumerSettings,
    "producer": ProducerSettings,
}


def _coerce(value: Any, target: Any, where: str) -> Any:
    kind = type(target)
    if isinstance(value, str) and kind is not str:
        try:
            if kind is bool:
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return kind(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {value!r} is not a valid {kind.__name__}") from exc
    if kind is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _section(cls: type[Any], data: Mapping[str, Any], name: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{name}]: {', '.join(unknown)}")
    defaults = cls()
    values = {
        key: _coerce(value, getattr(defaults, key), f"{name}.{key}") for key, value in data.items()
    }
    return replace(defaults, **values)


def parse_settings(data: Mapping[str, Any], *, home: Path | None = None) -> Settings:
    unknown = sorted(set(data) - {*_SECTIONS, "kafka", "home"})
    if unknown:
        raise ConfigError(f"unknown section(s) in the configuration: {', '.join(unknown)}")
    common, roles = _kafka_properties(data.get("kafka", {}), "kafka")
    by_role = {}
    for role in KAFKA_ROLES:
        if role in common:
            raise ConfigError(f"[kafka.{role}] must be a table of librdkafka properties")
        by_role[role], nested = _kafka_properties(roles.get(role, {}), f"kafka.{role}")
        if nested:
            raise ConfigError(f"[kafka.{role}] holds the table(s) {', '.join(sorted(nested))}")
    unknown = sorted(set(roles) - set(KAFKA_ROLES))
    if unknown:
        raise ConfigError(
            f"unknown table(s) in [kafka]: {', '.join(unknown)} "
            f"(only {' and '.join(f'[kafka.{r}]' for r in KAFKA_ROLES)})"
        )
    sections = {name: _section(cls, data.get(name, {}), name) for name, cls in _SECTIONS.items()}
    return Settings(
        home=home or Path(str(data.get("home", ".corridor"))),
        kafka=common,
        kafka_producer=by_role["producer"],
        kafka_consumer=by_role["consumer"],
        **sections,
    )


def _kafka_properties(
    table: Mapping[str, Any], name: str
) -> tuple[dict[str, str], dict[str, Mapping[str, Any]]]:
    """A table's librdkafka properties (as strings, as librdkafka takes them) and the
    tables nested in it."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{name}] must be a table of librdkafka properties")
    properties, nested = {}, {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            nested[str(key)] = value
        elif isinstance(value, bool):
            properties[str(key)] = "true" if value else "false"
        else:
            properties[str(key)] = str(value)
    return properties, nested


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``CORRIDOR_PROCESSOR_MAX_AGE_SECONDS=60`` -> {"processor": {"max_age_seconds": "60"}}."""
    result: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        rest = key[len(ENV_PREFIX) :].lower()
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                result.setdefault(section, {})[rest[len(section) + 1 :]] = value
                break
    return result


def settings_file(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The file :func:`load_settings` reads for ``path``: ``path`` itself, else the one
    ``CORRIDOR_CONFIG`` names, else ``./corridor.toml`` when it exists."""
    if path is not None:
        return path
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_VARIABLE)
    if named:
        return Path(named)
    default = Path(CONFIG_FILE)
    return default if default.exists() else None


def load_settings(
    path: Path | None = None,
    *,
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read ``path`` (or ``./corridor.toml`` if present) and apply environment overrides."""
    env = os.environ if environ is None else environ
    candidate = path or settings_file(environ=env) or Path(CONFIG_FILE)
    data: dict[str, Any] = {}
    if candidate.exists():
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {candidate}: {exc}") from exc
    elif path is not None:
        raise ConfigError(f"configuration file {path} does not exist")
    for section, values in _env_overrides(env).items():
        data.setdefault(section, {}).update(values)
    return parse_settings(data, home=home)
