"""Fixtures of the chaos suite, and the closing table printed at the end of the run.

The broker-fault, hostile-input and data-at-rest tests run on the three-node cluster
(``kafka_cluster3``) with the sample directory applied; they change its directory
(rotated keys, a revoked agency, a forged entry), which no other test relies on.
Set CORRIDOR_CHAOS_HOME3 to the home of a running three-node cluster to reuse it.

Every chaos test adds its figures to one session :class:`Tally`; the table is printed
in the terminal summary. The data-at-rest test runs last, so its search for the
canary covers the logs of every chaos test before it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.directory_apply import apply_directory
from corridor.infra.cluster import LocalCluster
from corridor.workspace import Workspace
from tests.chaos.tally import Tally
from tests.conftest import SAMPLE_DIRECTORY, Network

TALLY = pytest.StashKey[Tally]()
LAST = "test_data_at_rest.py"


def _tally(config: pytest.Config) -> Tally:
    if TALLY not in config.stash:
        config.stash[TALLY] = Tally()
    return config.stash[TALLY]


@pytest.fixture(scope="session")
def chaos_tally(pytestconfig: pytest.Config) -> Tally:
    return _tally(pytestconfig)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The data-at-rest search runs after every other test of the session."""
    last = [item for item in items if item.path.name == LAST]
    if last:
        items[:] = [item for item in items if item.path.name != LAST] + last


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = _tally(terminalreporter.config).render()
    if lines:
        terminalreporter.write_line("")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def chaos_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every process a chaos test starts writes its log (searched for the canary)."""
    return tmp_path_factory.mktemp("chaos-logs")


@pytest.fixture(scope="session")
def cluster3(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    existing = os.environ.get("CORRIDOR_CHAOS_HOME3")
    if existing:
        yield LocalCluster(Path(existing))
        return
    cluster: LocalCluster = request.getfixturevalue("kafka_cluster3")
    yield cluster


@pytest.fixture(scope="session")
def network3(cluster3: LocalCluster) -> Network:
    """The sample network on the three-node cluster (replication 3, min ISR 2)."""
    workspace = Workspace(cluster3.home)
    settings = Settings(home=cluster3.home)
    result = apply_directory(workspace, settings, SAMPLE_DIRECTORY, use_local_keys=True)
    return Network(workspace, settings, result.directory)
