"""The broker the benchmark measures against: its own, unless told to use another.

By default a one-node local cluster (TLS, SCRAM, ACLs, as ``corridor infra up``
starts it) is started in a temporary home on free ports, the sample network of
``examples/directory.json`` is applied with local keys (and the caller's settings: its
``[topics]`` decide the partitions), and everything is stopped and removed at the end.
With a home of its own the caller's cluster is used as it is.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from corridor.config import Settings
from corridor.directory_apply import apply_directory
from corridor.exceptions import CorridorError
from corridor.infra.cluster import LocalCluster
from corridor.workspace import Workspace

__all__ = ["SAMPLE_DIRECTORY", "bench_cluster"]

SAMPLE_DIRECTORY = Path(__file__).resolve().parents[3] / "examples" / "directory.json"


def _apply_sample_directory(settings: Settings, attempts: int = 20) -> None:
    """A broker that has just started may not lead the directory partition yet:
    retriable errors are retried for a while."""
    for attempt in range(attempts):
        try:
            apply_directory(
                Workspace(settings.home), settings, SAMPLE_DIRECTORY, use_local_keys=True
            )
            return
        except CorridorError as exc:
            if not exc.retriable or attempt == attempts - 1:
                raise
            time.sleep(1.0)


@contextmanager
def bench_cluster(
    home: Path | None, report: Callable[[str], None], settings: Settings | None = None
) -> Iterator[Path]:
    """The Corridor home of the cluster to measure (see the module docstring)."""
    if home is not None:
        yield home
        return
    if not SAMPLE_DIRECTORY.exists():
        raise CorridorError(
            f"the sample network {SAMPLE_DIRECTORY} is missing: run from a source checkout, "
            "or pass --home with a cluster that has it applied"
        )
    with tempfile.TemporaryDirectory(prefix="corridor-bench-") as folder:
        cluster = LocalCluster(Path(folder))
        try:
            started = time.perf_counter()
            cluster.up(nodes=1, base_port=0)
            report(f"broker up in {time.perf_counter() - started:.0f}s")
            _apply_sample_directory(replace(settings or Settings(), home=cluster.home))
            report("sample network applied")
            yield cluster.home
        finally:
            cluster.down()
