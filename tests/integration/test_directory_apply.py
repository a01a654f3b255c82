"""``directory apply`` publishes a verifiable directory and provisions least privilege."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AclOperation, ResourceType

from corridor.directory_topic import read_directory
from corridor.kafka_clients import admin_client
from corridor.principals import grants_of
from corridor.topics import INBOUND, delivery_topic
from tests.conftest import Network

pytestmark = pytest.mark.integration


def test_published_directory_verifies_and_matches(network: Network) -> None:
    ws = network.workspace
    read = read_directory(ws.agency_connection("AT-BKA"), ws.authority_public_key())
    assert read.version == network.directory.version
    assert set(read.agencies) == set(network.directory.agencies)
    assert read.agencies["AT-BKA"].signing_keys == network.directory.agencies["AT-BKA"].signing_keys


def test_each_agency_gets_exactly_its_own_grants(network: Network) -> None:
    admin = admin_client(network.workspace.admin_connection(), quiet=True)
    bindings = grants_of(admin, "AT-BKA")
    readable = {
        b.name
        for b in bindings
        if b.operation == AclOperation.READ and b.restype == ResourceType.TOPIC
    }
    writable = {b.name for b in bindings if b.operation == AclOperation.WRITE}
    assert readable == {delivery_topic("AT-BKA"), "corridor.directory"}
    assert INBOUND in writable
    assert all(not name.startswith("corridor.deliver.") for name in writable)


def test_suspended_agency_has_no_grants(network: Network) -> None:
    suspended = [a for a in network.directory.agencies.values() if a.status.value != "ACTIVE"]
    assert suspended, "the sample network has a suspended agency"
    admin = admin_client(network.workspace.admin_connection(), quiet=True)
    assert grants_of(admin, suspended[0].id) == []
