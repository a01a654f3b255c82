"""``directory apply`` converges: a second run changes nothing, a removed agency loses access.

The test adds a temporary agency to the sample network, checks what it may do, applies
the same file again, then applies the sample network without it. The sample network is
what is published at the end, as the other tests expect.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AclBinding

from corridor.directory_apply import ApplyResult, apply_directory
from corridor.kafka_clients import SILENT_LOGGER, admin_client
from corridor.principals import grants_of
from corridor.provisioning import agency_grants, processor_grants
from corridor.topics import delivery_topic
from corridor.workspace import OPERATOR_PRINCIPAL, PROCESSOR_PRINCIPAL
from tests.conftest import SAMPLE_DIRECTORY, Network
from tests.kafka_helpers import consume_all, produce_all

pytestmark = pytest.mark.integration

EXTRA = "LU-PROVTEST"


def _acl_set(bindings: list[AclBinding]) -> set[tuple[Any, ...]]:
    return {
        (b.restype, b.name, b.resource_pattern_type, b.operation, b.permission_type)
        for b in bindings
    }


def _snapshot(network: Network, principals: list[str]) -> dict[str, set[tuple[Any, ...]]]:
    admin = admin_client(network.workspace.admin_connection(), quiet=True)
    return {p: _acl_set(grants_of(admin, p)) for p in principals}


@pytest.fixture
def with_extra_agency(network: Network, tmp_path: Path) -> Iterator[Path]:
    data = json.loads(SAMPLE_DIRECTORY.read_text())
    extra = copy.deepcopy(next(a for a in data["agencies"] if a["id"] == "AT-BKA"))
    extra.update(id=EXTRA, name="Provisioning test agency", country="LU")
    for kind in ("signing_keys", "encryption_keys"):
        for key in extra[kind]:
            key["key_id"] = key["key_id"].replace("AT-BKA", EXTRA)
    data["agencies"].append(extra)
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(data))
    try:
        yield path
    finally:
        apply_directory(network.workspace, network.settings, SAMPLE_DIRECTORY, use_local_keys=True)


def _apply(network: Network, path: Path) -> ApplyResult:
    return apply_directory(network.workspace, network.settings, path, use_local_keys=True)


def _can_fetch_metadata(settings: dict[str, Any]) -> bool:
    prod = Producer({**settings, "logger": SILENT_LOGGER, "socket.timeout.ms": 4000})
    try:
        prod.list_topics(timeout=6)
    except KafkaException:
        return False
    return True


def test_rerunning_converges_and_removing_an_agency_removes_its_access(
    network: Network, with_extra_agency: Path
) -> None:
    ws = network.workspace
    added = _apply(network, with_extra_agency)
    assert EXTRA in added.provisioned.users
    conn = ws.agency_connection(EXTRA)
    topic = delivery_topic(EXTRA)
    probe = uuid.uuid4().bytes
    produce_all(ws.admin_connection(), topic, [(b"RO>LU", probe)])
    # The topic outlives the agency (retention), so earlier runs may have left records.
    read = consume_all(conn, topic, f"{EXTRA}.probe.{uuid.uuid4().hex[:6]}", idle_timeout=1.0)
    assert probe in [m.value() for m in read]
    principals = [EXTRA, "AT-BKA", PROCESSOR_PRINCIPAL, OPERATOR_PRINCIPAL]
    before = _snapshot(network, principals)
    assert before[EXTRA] == _acl_set([g.binding() for g in agency_grants(EXTRA)])
    app_id = network.settings.processor.app_id
    assert before[PROCESSOR_PRINCIPAL] == _acl_set([g.binding() for g in processor_grants(app_id)])

    again = _apply(network, with_extra_agency)
    assert again.provisioned.topics_created == []
    assert again.provisioned.users_removed == []
    assert again.provisioned.acls_removed == 0
    assert again.directory.version == added.directory.version + 1
    assert _snapshot(network, principals) == before
    assert ws.agency_connection(EXTRA) == conn  # same credentials: nothing rotated

    removed = _apply(network, SAMPLE_DIRECTORY)
    assert removed.provisioned.users_removed == [EXTRA]
    assert _snapshot(network, [EXTRA])[EXTRA] == set()
    assert not ws.agency_connection_path(EXTRA).exists()
    assert not _can_fetch_metadata(conn.librdkafka())  # its SCRAM user is gone
    assert _snapshot(network, principals[1:]) == {p: before[p] for p in principals[1:]}
