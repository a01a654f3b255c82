"""The local schema registry's tooling without Apicurio: fetch, ports, processes, settings."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.cli.main import cli
from corridor.connection import Connection, load_connection, save_connection
from corridor.exceptions import ConfigError
from corridor.infra import registry
from corridor.infra.cluster import LocalCluster
from corridor.infra.errors import FetchError, InfraError, PortInUseError, ToolMissingError
from corridor.infra.registry import RegistryApp, RegistryError, RegistrySpec
from corridor.schema_registry import RegistryUnavailableError

VERSION = "9.9.9"
RUNNER = f"apicurio-registry-app-{VERSION}-runner.jar"


def make_archive(path: Path, members: dict[str, bytes]) -> str:
    """Write a tar.gz of ``members``; returns its SHA-256."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``mvn`` first on PATH that logs its arguments and copies ``archive.tar.gz``.

    It fails like Maven (exit 1, an [ERROR] line) when ``fail`` exists beside it.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mvn"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{bin_dir}/calls"\n'
        f'if [ -e "{bin_dir}/fail" ]; then\n'
        '  echo "[ERROR] Could not resolve io.apicurio:apicurio-registry-app"; exit 1\n'
        "fi\n"
        'for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; esac; done\n'
        f'cp "{bin_dir}/archive.tar.gz" "$out/apicurio-registry-app-{VERSION}-all.tar.gz"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def calls(bin_dir: Path) -> list[str]:
    path = bin_dir / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_fetch_copies_through_maven_unpacks_and_is_skipped_next_time(
    tmp_path: Path, fake_mvn: Path
) -> None:
    sha = make_archive(
        fake_mvn / "archive.tar.gz", {RUNNER: b"jar", "lib/dep.jar": b"dep", "meta/x": b""}
    )
    app = registry.ensure_registry_app(tmp_path / "cache", version=VERSION, sha256=sha)
    assert app.fetched is True
    assert app.launcher == tmp_path / "cache" / f"apicurio-registry-{VERSION}" / RUNNER
    assert (app.directory / "lib" / "dep.jar").read_bytes() == b"dep"
    assert not (app.directory / "download").exists()  # the 100 MB archive is not kept

    (command,) = calls(fake_mvn)
    assert f"{registry.DEPENDENCY_PLUGIN}:copy" in command
    assert f"-Dartifact=io.apicurio:apicurio-registry-app:{VERSION}:tar.gz:all" in command

    again = registry.ensure_registry_app(tmp_path / "cache", version=VERSION, sha256=sha)
    assert again.fetched is False
    assert again.launcher == app.launcher
    assert len(calls(fake_mvn)) == 1


def test_a_failed_fetch_is_one_sentence_with_mavens_error_and_is_redone(
    tmp_path: Path, fake_mvn: Path
) -> None:
    sha = make_archive(fake_mvn / "archive.tar.gz", {RUNNER: b"jar"})
    (fake_mvn / "fail").touch()
    with pytest.raises(FetchError) as failed:
        registry.ensure_registry_app(tmp_path, version=VERSION, sha256=sha)
    message = str(failed.value)
    assert f"Maven could not fetch Apicurio Registry {VERSION} (exit 1)" in message
    assert "Could not resolve" in message
    assert "\n" not in message
    (fake_mvn / "fail").unlink()
    assert registry.ensure_registry_app(tmp_path, version=VERSION, sha256=sha).fetched is True


def test_an_archive_that_does_not_match_the_pinned_digest_is_refused(
    tmp_path: Path, fake_mvn: Path
) -> None:
    make_archive(fake_mvn / "archive.tar.gz", {RUNNER: b"tampered"})
    with pytest.raises(FetchError, match="not the pinned"):
        registry.ensure_registry_app(tmp_path, version=VERSION, sha256="0" * 64)
    assert not (tmp_path / f"apicurio-registry-{VERSION}" / ".complete").exists()


def test_an_archive_escaping_its_directory_is_refused(tmp_path: Path, fake_mvn: Path) -> None:
    sha = make_archive(fake_mvn / "archive.tar.gz", {RUNNER: b"jar", "../escaped": b"x"})
    with pytest.raises(FetchError, match="cannot unpack"):
        registry.ensure_registry_app(tmp_path / "cache", version=VERSION, sha256=sha)
    assert not (tmp_path / "escaped").exists()


def test_an_archive_without_a_launcher_is_refused(tmp_path: Path, fake_mvn: Path) -> None:
    sha = make_archive(fake_mvn / "archive.tar.gz", {"lib/dep.jar": b"dep"})
    with pytest.raises(FetchError, match="no Quarkus launcher"):
        registry.ensure_registry_app(tmp_path, version=VERSION, sha256=sha)


def test_fetch_without_maven_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="'mvn' was not found on PATH: install Apache Maven"):
        registry.ensure_registry_app(tmp_path)


def test_the_pinned_release_is_apicurio_3() -> None:
    assert registry.APICURIO_VERSION.startswith("3.")
    assert len(bytes.fromhex(registry.APICURIO_SHA256)) == 32


def fake_app(tmp_path: Path) -> RegistryApp:
    launcher = tmp_path / "app" / RUNNER
    launcher.parent.mkdir()
    launcher.write_text("not a jar")
    return RegistryApp(launcher.parent, launcher, fetched=False, seconds=0.0)


def test_a_port_in_use_is_one_clear_sentence(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError) as taken:
            registry.start_registry(fake_app(tmp_path), RegistrySpec(tmp_path / "home", port))
    assert str(taken.value) == (
        f"port {port} on 127.0.0.1 is already in use by another process; "
        "choose another one for the schema registry with --registry-port"
    )


def test_a_registry_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    spec = RegistrySpec(tmp_path / "home", registry.free_port())
    pid = registry.start_registry(fake_app(tmp_path), spec)
    with pytest.raises(RegistryError) as died:
        registry.wait_serving(pid, spec, timeout=60)
    message = str(died.value)
    assert message.startswith("the schema registry exited while starting: ")
    assert "corrupt jarfile" in message  # java's own words, from the log
    assert str(spec.log) in message
    # The child may already have been reaped by the subprocess module's own clean-up.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def test_only_this_homes_registry_is_recognised_and_stopped(tmp_path: Path) -> None:
    spec = RegistrySpec(tmp_path / "home", 1)
    other = RegistrySpec(tmp_path / "other", 1)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            f"{registry.HOME_PROPERTY}{spec.home}",
            "apicurio-registry-app-runner.jar",
        ]
    )
    try:
        # Right after fork the child still shows the parent's command line: wait for exec.
        deadline = time.monotonic() + 20
        while not registry.is_our_registry(proc.pid, spec) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert registry.is_our_registry(proc.pid, spec)
        assert not registry.is_our_registry(proc.pid, other)
        assert not registry.is_our_registry(os.getpid(), spec)
        assert not registry.is_our_registry(None, spec)
        assert registry.stop_registry(proc.pid, other) is False
        assert proc.poll() is None  # still running: not ours to stop
        assert registry.stop_registry(proc.pid, spec, grace=10) is True
        assert proc.wait(timeout=10) != 0
    finally:
        proc.kill()
        proc.wait()


def test_serving_check_is_loopback_only(tmp_path: Path) -> None:
    assert registry.is_serving(registry.registry_url(registry.free_port()), timeout=1) is False
    with pytest.raises(RegistryError, match="must be on loopback"):
        registry.is_serving("http://192.0.2.1:8081/apis/ccompat/v7")


def test_a_registry_needs_a_cluster_first(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path)
    with pytest.raises(InfraError, match="run 'corridor infra up' first"):
        cluster.start_registry(port=0)
    assert cluster.stop_registry() is None
    assert cluster.registry_running() is False


def connection(url: str | None = None) -> Connection:
    return Connection(
        "127.0.0.1:19092", Path("/ca.pem"), "admin", "secret", schema_registry_url=url
    )


def test_connection_files_without_a_registry_url_still_load(tmp_path: Path) -> None:
    save_connection(connection(), tmp_path)
    assert "schema_registry_url" not in (tmp_path / "connection.json").read_text()
    assert load_connection(tmp_path).schema_registry_url is None
    url = registry.registry_url(18081)
    save_connection(connection(url), tmp_path)
    loaded = load_connection(tmp_path)
    assert loaded == connection(url)
    assert loaded.as_principal("agency", "pw").schema_registry_url == url


def test_schemas_commands_need_a_configured_registry(tmp_path: Path) -> None:
    save_connection(connection(), tmp_path)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "schemas", "register"])
    assert isinstance(result.exception, ConfigError)
    assert "no schema registry is configured" in str(result.exception)
    assert "corridor infra up --registry" in str(result.exception)


def test_schemas_commands_say_when_the_registry_does_not_answer(tmp_path: Path) -> None:
    url = registry.registry_url(registry.free_port())
    save_connection(connection(url), tmp_path)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "schemas", "list"])
    assert isinstance(result.exception, RegistryUnavailableError)
    assert f"the schema registry at {url} did not answer" in str(result.exception)
    assert result.exception.retriable is True
