"""The benchmark measures one configuration: the one its command was given.

Its workers and the latency stage's publisher are processes of their own that read
their settings as any ``corridor`` command does; a ``--config`` given on the command
line reaches them through ``CORRIDOR_CONFIG`` for the length of the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from corridor.cli.benchmarks.suite import _config_for_subprocesses
from corridor.config import CONFIG_VARIABLE, settings_file

READ_IN_A_CHILD = (
    "from corridor.config import load_settings; print(load_settings().producer.key_reuse_alerts)"
)


def _child_reads(cwd: Path) -> str:
    run = subprocess.run(
        [sys.executable, "-c", READ_IN_A_CHILD],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
        timeout=60,
    )
    return run.stdout.strip()


def test_a_process_started_during_the_run_reads_the_given_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    config = tmp_path / "tuned.toml"
    config.write_text("[producer]\nkey_reuse_alerts = 7\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with _config_for_subprocesses(Path(os.path.relpath(config))):
        assert _child_reads(elsewhere) == "7"
    assert CONFIG_VARIABLE not in os.environ
    assert _child_reads(elsewhere) == "1000"  # the default, once the run is over


def test_a_variable_set_before_the_run_is_back_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_VARIABLE, "/etc/corridor/before.toml")
    config = tmp_path / "tuned.toml"
    with _config_for_subprocesses(config):
        assert os.environ[CONFIG_VARIABLE] == str(config)
    assert os.environ[CONFIG_VARIABLE] == "/etc/corridor/before.toml"


def test_no_file_leaves_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    with _config_for_subprocesses(None):
        assert CONFIG_VARIABLE not in os.environ


def test_the_file_read_is_the_option_then_the_variable_then_the_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    given = tmp_path / "given.toml"
    assert settings_file(given, environ={CONFIG_VARIABLE: "named.toml"}) == given
    assert settings_file(environ={CONFIG_VARIABLE: "named.toml"}) == Path("named.toml")
    assert settings_file(environ={}) is None
    (tmp_path / "corridor.toml").write_text("")
    assert settings_file(environ={}) == Path("corridor.toml")
    # An empty variable names no file.
    assert settings_file(environ={CONFIG_VARIABLE: ""}) == Path("corridor.toml")
