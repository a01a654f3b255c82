"""A local Apicurio Registry 3 serving the Confluent-compatible schema-registry API.

Confluent's own registry and Karapace cannot be fetched here, Apicurio can: Maven
Central publishes it as a ready-to-run Quarkus application (``tar.gz``, classifier
``all``). It is fetched once into the git-ignored cache, unpacked, checked against a
pinned SHA-256, and run with ``java -jar`` on 127.0.0.1 only. Storage is Apicurio's
default in-memory database: schemas live as long as the process, and ``corridor
schemas register`` puts them back after a restart.

The registry has no authentication: loopback is its only protection, which is
acceptable for a development cluster and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from corridor.infra import broker
from corridor.infra.errors import FetchError, InfraError, PortInUseError
from corridor.infra.fetch import COMPLETE_MARKER, require_tool

APICURIO_VERSION = "3.0.9"
#: SHA-256 of ``apicurio-registry-app-<version>-all.tar.gz``; change with the version.
APICURIO_SHA256 = "2b28181501a20cbf6efcd77f9b7153908fc01f3d3a7c32024c0bd9e1b04c8a43"
# Plugin 3.x reads the artifact's POM, whose parent Apicurio never published to Maven
# Central, and fails; 2.8 copies the archive without it.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:2.8"
CCOMPAT_PATH = "/apis/ccompat/v7"
DEFAULT_REGISTRY_PORT = 18081
REGISTRY_DIR = "registry"
# On the command line so that `down` recognises the process as this home's registry.
HOME_PROPERTY = "-Dcorridor.registry.home="


class RegistryError(InfraError):
    """The local schema registry could not be started, reached or stopped."""


@dataclass(frozen=True, slots=True)
class RegistryApp:
    """The unpacked application and the jar that launches it."""

    directory: Path
    launcher: Path
    fetched: bool
    seconds: float


@dataclass(frozen=True, slots=True)
class RegistrySpec:
    """One home's registry: where its files go and the port it serves on."""

    home: Path
    port: int

    @property
    def directory(self) -> Path:
        return self.home / REGISTRY_DIR

    @property
    def log(self) -> Path:
        return self.directory / "registry.log"

    @property
    def url(self) -> str:
        return registry_url(self.port)


def registry_url(port: int) -> str:
    """The base URL that Confluent's schema-registry clients take."""
    return f"http://127.0.0.1:{port}{CCOMPAT_PATH}"


def ensure_registry_app(
    cache_dir: Path,
    *,
    version: str = APICURIO_VERSION,
    sha256: str = APICURIO_SHA256,
    timeout: float = 900.0,
) -> RegistryApp:
    """Fetch and unpack Apicurio into ``cache_dir/apicurio-registry-<version>`` once."""
    target = cache_dir / f"apicurio-registry-{version}"
    if (target / COMPLETE_MARKER).exists():
        return RegistryApp(target, find_launcher(target), fetched=False, seconds=0.0)
    mvn = require_tool("mvn")
    if target.exists():
        shutil.rmtree(target)  # a fetch that did not finish is redone, never trusted
    download = target / "download"
    download.mkdir(parents=True)
    started = time.monotonic()
    artifact = f"io.apicurio:apicurio-registry-app:{version}:tar.gz:all"
    try:
        proc = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                f"{DEPENDENCY_PLUGIN}:copy",
                f"-Dartifact={artifact}",
                f"-DoutputDirectory={download}",
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=download,
        )
    except subprocess.TimeoutExpired as exc:
        raise FetchError(
            f"fetching Apicurio Registry {version} through Maven took over {timeout:.0f}s"
        ) from exc
    archives = sorted(download.glob("*.tar.gz"))
    if proc.returncode != 0 or not archives:
        last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise FetchError(
            f"Maven could not fetch Apicurio Registry {version} (exit {proc.returncode}): "
            + " | ".join(last)
        )
    _check_sha256(archives[0], sha256)
    _unpack(archives[0], target)
    shutil.rmtree(download)
    launcher = find_launcher(target)
    (target / COMPLETE_MARKER).write_text(version + "\n", encoding="utf-8")
    return RegistryApp(target, launcher, fetched=True, seconds=time.monotonic() - started)


def _check_sha256(archive: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with archive.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected.lower():
        raise FetchError(
            f"{archive.name} has SHA-256 {digest.hexdigest()}, not the pinned {expected}"
        )


def _unpack(archive: Path, target: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter refuses absolute paths, links out of the tree and devices.
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise FetchError(f"cannot unpack {archive.name}: {exc}") from exc


def find_launcher(directory: Path) -> Path:
    """The jar to run: ``*-runner.jar`` (legacy packaging) or ``quarkus-run.jar``."""
    for pattern in ("*-runner.jar", "quarkus-run.jar", "*/quarkus-run.jar"):
        found = sorted(directory.glob(pattern))
        if found:
            return found[0]
    raise FetchError(f"{directory} holds no Quarkus launcher (*-runner.jar or quarkus-run.jar)")


def check_port_free(port: int) -> None:
    try:
        broker.check_port_free(port)
    except PortInUseError as exc:
        raise PortInUseError(
            f"port {port} on 127.0.0.1 is already in use by another process; "
            "choose another one for the schema registry with --registry-port"
        ) from exc


def free_port() -> int:
    return broker.free_port_block(1)


def start_registry(app: RegistryApp, spec: RegistrySpec, *, heap: str = "384m") -> int:
    """Start the registry in its own session, logging to ``home/registry/registry.log``."""
    check_port_free(spec.port)
    spec.directory.mkdir(parents=True, exist_ok=True)
    command = [
        require_tool("java"),
        f"-Xmx{heap}",
        "-Djava.awt.headless=true",
        f"{HOME_PROPERTY}{spec.home}",
        "-Dquarkus.http.host=127.0.0.1",
        f"-Dquarkus.http.port={spec.port}",
        "-jar",
        str(app.launcher),
    ]
    out = open(spec.log, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=spec.directory,
        )
    finally:
        out.close()
    return proc.pid


def is_our_registry(pid: int | None, spec: RegistrySpec) -> bool:
    """True if ``pid`` is alive and is this home's registry (not a recycled pid)."""
    if not pid or not broker.is_alive(pid):
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return f"{HOME_PROPERTY}{spec.home}" in args and any("apicurio" in a for a in args)


def stop_registry(pid: int, spec: RegistrySpec, *, grace: float = 30.0) -> bool:
    """SIGTERM, then SIGKILL after ``grace`` seconds; True if it was running."""
    if not is_our_registry(pid, spec):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_our_registry(pid, spec):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    while is_our_registry(pid, spec):
        time.sleep(0.1)
    return True


def is_serving(url: str, *, timeout: float = 2.0) -> bool:
    """True when the Confluent-compatible API answers a list of subjects."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise RegistryError(f"the local schema registry must be on loopback, not {url}")
    try:
        with urllib.request.urlopen(f"{url}/subjects", timeout=timeout) as response:  # noqa: S310 - loopback http only, checked above
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_serving(pid: int, spec: RegistrySpec, *, timeout: float = 120.0) -> float:
    """Wait until the registry answers; returns the seconds waited."""
    started = time.monotonic()
    while not is_serving(spec.url):
        if not broker.is_alive(pid):
            raise RegistryError(
                f"the schema registry exited while starting: {log_tail(spec)} (log: {spec.log})"
            )
        if time.monotonic() - started > timeout:
            raise RegistryError(
                f"the schema registry did not serve on port {spec.port} within "
                f"{timeout:.0f}s; see {spec.log}"
            )
        time.sleep(0.25)
    return time.monotonic() - started


def log_tail(spec: RegistrySpec, lines: int = 3) -> str:
    """The last error lines of the log (or its last lines), on one line."""
    if not spec.log.exists():
        return "(no log)"
    text = spec.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    errors = [line for line in text if "ERROR" in line or "Error" in line or "Exception" in line]
    return " | ".join((errors or text)[-lines:]) or "(empty log)"
