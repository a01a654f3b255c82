"""``corridor ack`` reads the agency's key passphrase from the environment."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

import corridor.cli.ack as ack_command
from corridor.cli.main import cli
from corridor.domain import AckStatus

ALERT = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


def _args(home: Path) -> list[str]:
    return ["--home", str(home), "ack", "--as", "AT-BKA", ALERT, "accepted"]


def test_the_passphrase_comes_from_the_named_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def send_answer(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs, status=args[4])
        return SimpleNamespace(status=args[4], note=None, to_issuer="RO-ANITP", ack_id="a1")

    monkeypatch.setattr(ack_command, "send_answer", send_answer)
    result = CliRunner().invoke(
        cli, [*_args(tmp_path), "--passphrase-env", "PW"], env={"PW": "s3cret pass"}
    )
    assert result.exit_code == 0, result.output
    assert seen["passphrase"] == b"s3cret pass"
    assert seen["status"] is AckStatus.ACCEPTED
    assert "s3cret" not in result.output


def test_an_unset_variable_is_refused_before_anything_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ack_command, "send_answer", lambda *a, **k: pytest.fail("sent"))
    result = CliRunner().invoke(cli, [*_args(tmp_path), "--passphrase-env", "PW"], env={"PW": ""})
    assert result.exit_code == 2
    assert "PW is not set" in result.stderr
