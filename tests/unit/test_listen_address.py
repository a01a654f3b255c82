"""Metrics listen where the settings say: the loopback address unless told otherwise."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from corridor.config import parse_settings
from corridor.metrics import serve_metrics
from tests.processor_running import free_port


def test_every_component_listens_on_the_loopback_address_by_default() -> None:
    settings = parse_settings({})
    assert settings.processor.listen_address == "127.0.0.1"
    assert settings.consumer.listen_address == "127.0.0.1"
    assert settings.producer.listen_address == "127.0.0.1"
    chosen = parse_settings({"consumer": {"listen_address": "0.0.0.0"}})
    assert chosen.consumer.listen_address == "0.0.0.0"


def test_metrics_are_served_on_the_address_given_and_not_elsewhere() -> None:
    registry = CollectorRegistry()
    Counter("corridor_probe_total", "A probe.", registry=registry).inc()
    port = free_port()
    serve_metrics(registry, port, "127.0.0.2")  # another loopback address: not 127.0.0.1
    with urllib.request.urlopen(f"http://127.0.0.2:{port}/metrics", timeout=5) as reply:
        assert b"corridor_probe_total 1.0" in reply.read()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_process_series_are_served_once_however_often_a_registry_is() -> None:
    registry = CollectorRegistry()
    ports = [free_port(), free_port()]
    for port in ports:
        serve_metrics(registry, port)  # the same registry twice, as the demo could
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            body = reply.read().decode()
        started = [line for line in body.splitlines() if line.startswith("process_start_time")]
        assert len(started) == 1  # restarts show as a change of this value
        assert float(started[0].split()[1]) > 1.7e9
