"""A real Prometheus (Debian's ``prometheus`` package) for the tests, and its HTTP API."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OBS = REPO / "infra" / "observability"
PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def query(base: str, expr: str) -> list[Any]:
    """The instant vector ``expr`` evaluates to now."""
    result: list[Any] = api(base, "query", query=expr)["data"]["result"]
    return result


def wait_for(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:  # not listening yet
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s (last: {last!r})")


@contextmanager
def running_prometheus(work: Path, jobs: dict[str, list[str]]) -> Iterator[str]:
    """Prometheus scraping ``jobs`` (job name -> ``host:port`` targets) every second,
    with the project's rules loaded; yields its base URL."""
    assert Path(PROMETHEUS).exists(), "prometheus is missing: run `make system-deps`"
    config = {  # JSON is YAML: no YAML library needed to write it
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(OBS / "rules" / "corridor.rules.yml")],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": targets}]}
            for job, targets in jobs.items()
        ],
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "prometheus.yml").write_text(json.dumps(config))
    port = free_port()
    with (work / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def targets_up(base: str) -> dict[str, str]:
    """job -> health of its first active target."""
    targets = api(base, "targets")["data"]["activeTargets"]
    return {t["labels"]["job"]: t["health"] for t in targets}
