"""Rotating an agency's keys: the old encryption key stays to open what was sealed to it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import corridor.keys as keys_module
from corridor.cli.keys import keys as keys_group
from corridor.cli.main import cli
from corridor.envelope import EncryptionKey, Sealer, open_alert
from corridor.keys import (
    AgencyKeys,
    KeyStoreError,
    forget_retired_key,
    generate_agency_keys,
    key_files,
    load_private_keys,
    rotate_agency_keys,
    write_private_keys,
)
from corridor.workspace import Workspace
from tests.consumer_factories import metadata

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=90)
T2 = T1 + timedelta(days=90)


def _opens(loaded: AgencyKeys, sealed_to: EncryptionKey) -> bytes:
    """Seal an alert to ``sealed_to`` and open it with the key ``loaded`` holds by that id."""
    signer = generate_agency_keys("RO-ANITP", now=T0).signing
    alert = Sealer().seal(
        metadata("RO-ANITP", "RO", "AT"), b"body", [sealed_to.recipient("AT-BKA")], signer
    )
    held = loaded.encryption_key(alert.recipients[0].key_id)
    assert held is not None, "the key the alert was sealed to is not held"
    return open_alert(alert, "AT-BKA", held)


@pytest.mark.parametrize("passphrase", [None, b"a long passphrase"])
def test_rotation_keeps_the_old_encryption_key_and_only_that(
    tmp_path: Path, passphrase: bytes | None
) -> None:
    first = generate_agency_keys("AT-BKA", now=T0)
    write_private_keys(tmp_path, first, passphrase)

    rotated = rotate_agency_keys(tmp_path, "AT-BKA", passphrase, now=T1)

    assert rotated.encryption.key_id != first.encryption.key_id
    assert rotated.signing.key_id != first.signing.key_id
    assert rotated.valid_from == T1
    files = key_files(tmp_path, "AT-BKA")
    kept = files.retired_key(first.encryption.key_id)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.retired.stat().st_mode) == 0o700
    assert [p.name for p in files.retired.iterdir()] == [kept.name]  # no signing key kept
    loaded = load_private_keys(tmp_path, "AT-BKA", passphrase)
    assert loaded.encryption.public_bytes() == rotated.encryption.public_bytes()
    assert [(r.key.key_id, r.retired_at) for r in loaded.retired] == [(first.encryption.key_id, T1)]
    assert _opens(loaded, first.encryption) == b"body"
    assert _opens(loaded, rotated.encryption) == b"body"
    if passphrase is not None:
        assert kept.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(KeyStoreError):
            load_private_keys(tmp_path, "AT-BKA")


def test_a_second_rotation_keeps_both_old_keys_newest_first(tmp_path: Path) -> None:
    first = generate_agency_keys("AT-BKA", now=T0)
    write_private_keys(tmp_path, first)
    second = rotate_agency_keys(tmp_path, "AT-BKA", now=T1)
    rotate_agency_keys(tmp_path, "AT-BKA", now=T2)

    loaded = load_private_keys(tmp_path, "AT-BKA")
    assert [r.key.key_id for r in loaded.retired] == [
        second.encryption.key_id,
        first.encryption.key_id,
    ]
    assert _opens(loaded, first.encryption) == b"body"


def test_a_rotation_must_move_forward_in_time(tmp_path: Path) -> None:
    write_private_keys(tmp_path, generate_agency_keys("AT-BKA", now=T1))
    with pytest.raises(KeyStoreError, match="a rotation must come after that"):
        rotate_agency_keys(tmp_path, "AT-BKA", now=T0)
    assert not key_files(tmp_path, "AT-BKA").retired.exists()


def test_a_rotation_that_stopped_after_keeping_the_old_key_can_run_again(tmp_path: Path) -> None:
    first = generate_agency_keys("AT-BKA", now=T0)
    files = write_private_keys(tmp_path, first)
    files.retired.mkdir(mode=0o700)
    # What a stop right after the first step leaves: the old key kept, nothing replaced.
    files.retired_key(first.encryption.key_id).write_bytes(first.encryption.to_pem(None))
    files.retired_key(first.encryption.key_id).chmod(0o600)

    rotate_agency_keys(tmp_path, "AT-BKA", now=T1)

    loaded = load_private_keys(tmp_path, "AT-BKA")
    assert [r.key.key_id for r in loaded.retired] == [first.encryption.key_id]


def test_a_kept_file_holding_another_key_stops_the_rotation(tmp_path: Path) -> None:
    first = generate_agency_keys("AT-BKA", now=T0)
    files = write_private_keys(tmp_path, first)
    files.retired.mkdir(mode=0o700)
    stranger = EncryptionKey.generate(first.encryption.key_id)
    files.retired_key(first.encryption.key_id).write_bytes(stranger.to_pem(None))
    files.retired_key(first.encryption.key_id).chmod(0o600)

    with pytest.raises(KeyStoreError, match="already holds another key"):
        rotate_agency_keys(tmp_path, "AT-BKA", now=T1)
    assert load_private_keys(tmp_path, "AT-BKA").encryption.key_id == first.encryption.key_id


def test_a_missing_or_swapped_retired_key_file_is_refused(tmp_path: Path) -> None:
    write_private_keys(tmp_path, generate_agency_keys("AT-BKA", now=T0))
    rotated = rotate_agency_keys(tmp_path, "AT-BKA", now=T1)
    files = key_files(tmp_path, "AT-BKA")
    kept = files.retired_key(rotated.retired[0].key.key_id)

    kept.write_bytes(EncryptionKey.generate("x").to_pem(None))
    with pytest.raises(KeyStoreError, match="does not match the retired key"):
        load_private_keys(tmp_path, "AT-BKA")
    kept.unlink()
    with pytest.raises(KeyStoreError, match="does not exist"):
        load_private_keys(tmp_path, "AT-BKA")


@pytest.mark.parametrize("key_id", ["../AT-BKA.signing", "/etc/passwd", ".hidden", ""])
def test_a_manifest_cannot_make_the_loader_read_another_file(tmp_path: Path, key_id: str) -> None:
    write_private_keys(tmp_path, generate_agency_keys("AT-BKA", now=T0))
    rotate_agency_keys(tmp_path, "AT-BKA", now=T1)
    files = key_files(tmp_path, "AT-BKA")
    manifest = json.loads(files.manifest.read_text())
    manifest["retired_encryption_keys"][0]["key_id"] = key_id
    files.manifest.write_text(json.dumps(manifest))
    with pytest.raises(KeyStoreError, match=r"retired_encryption_keys\[0\] is not well-formed"):
        load_private_keys(tmp_path, "AT-BKA")


def test_forgetting_a_retired_key_removes_it_from_the_manifest_then_the_disk(
    tmp_path: Path,
) -> None:
    first = generate_agency_keys("AT-BKA", now=T0)
    write_private_keys(tmp_path, first)
    second = rotate_agency_keys(tmp_path, "AT-BKA", now=T1)
    rotate_agency_keys(tmp_path, "AT-BKA", now=T2)
    files = key_files(tmp_path, "AT-BKA")

    forget_retired_key(tmp_path, "AT-BKA", first.encryption.key_id)

    assert not files.retired_key(first.encryption.key_id).exists()
    loaded = load_private_keys(tmp_path, "AT-BKA")
    assert [r.key.key_id for r in loaded.retired] == [second.encryption.key_id]
    with pytest.raises(KeyStoreError, match="is not a retired key of AT-BKA"):
        forget_retired_key(tmp_path, "AT-BKA", first.encryption.key_id)
    with pytest.raises(KeyStoreError, match="is not a retired key"):
        forget_retired_key(tmp_path, "AT-BKA", loaded.encryption.key_id)  # the current one

    forget_retired_key(tmp_path, "AT-BKA", second.encryption.key_id)
    assert "retired_encryption_keys" not in json.loads(files.manifest.read_text())
    assert load_private_keys(tmp_path, "AT-BKA").retired == ()


def test_cli_rotate_prints_the_new_public_keys_and_forget_drops_the_old(tmp_path: Path) -> None:
    write_private_keys(tmp_path, generate_agency_keys("AT-BKA", now=T0))
    before = load_private_keys(tmp_path, "AT-BKA")
    runner = CliRunner()

    rotated = runner.invoke(keys_group, ["rotate", "--agency", "AT-BKA", "--dir", str(tmp_path)])

    assert rotated.exit_code == 0, rotated.output
    printed = json.loads(rotated.stdout)
    after = load_private_keys(tmp_path, "AT-BKA")
    assert printed["encryption_keys"][0]["key_id"] == after.encryption.key_id
    assert printed["signing_keys"][0]["key_id"] == after.signing.key_id
    assert before.encryption.key_id in rotated.stderr
    assert "corridor directory apply" in rotated.stderr

    forget = ["forget", "--agency", "AT-BKA", "--dir", str(tmp_path)]
    forgot = runner.invoke(keys_group, [*forget, "--key-id", before.encryption.key_id])
    assert forgot.exit_code == 0, forgot.output
    assert load_private_keys(tmp_path, "AT-BKA").retired == ()
    again = runner.invoke(keys_group, [*forget, "--key-id", before.encryption.key_id])
    assert again.exit_code == 1
    assert "is not a retired key of AT-BKA (retired: none)" in again.stderr


def test_cli_rotate_without_keys_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        keys_group, ["rotate", "--agency", "AT-BKA", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "AT-BKA.keys.json does not exist" in result.stderr


def test_cli_rotate_defaults_to_the_agency_keys_of_the_home(tmp_path: Path) -> None:
    keys_dir = Workspace(tmp_path).keys_dir("AT-BKA")
    write_private_keys(keys_dir, generate_agency_keys("AT-BKA", now=T0))
    before = load_private_keys(keys_dir, "AT-BKA")

    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "keys", "rotate", "--agency", "AT-BKA"]
    )

    assert result.exit_code == 0, result.output
    after = load_private_keys(keys_dir, "AT-BKA")
    assert [r.key.key_id for r in after.retired] == [before.encryption.key_id]


class _Crash(BaseException):
    """The process dying at this point (nothing after it runs)."""


def _crash_after(monkeypatch: pytest.MonkeyPatch, step: str, calls: int) -> None:
    """Let ``calls`` renames (``step="rename"``) or new files (``"write"``) of the key
    store through, then die."""
    real: Callable[..., None] = os.replace if step == "rename" else keys_module._write_new
    done: list[object] = []

    def dying(*args: object) -> None:
        if len(done) >= calls:
            raise _Crash
        done.append(args)
        real(*args)

    if step == "rename":
        monkeypatch.setattr(os, "replace", dying)
    else:
        monkeypatch.setattr(keys_module, "_write_new", dying)


@pytest.mark.parametrize("renamed", [0, 1, 2])
def test_a_rotation_stopped_between_its_renames_is_completed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renamed: int
) -> None:
    first = generate_agency_keys("AT-BKA", now=T0)
    files = write_private_keys(tmp_path, first)
    with monkeypatch.context() as crashing:
        _crash_after(crashing, "rename", renamed)
        with pytest.raises(_Crash):
            rotate_agency_keys(tmp_path, "AT-BKA", now=T1)
    if renamed:
        with pytest.raises(KeyStoreError, match="was interrupted: run 'corridor keys rotate"):
            load_private_keys(tmp_path, "AT-BKA")
    interrupted = json.loads((tmp_path / "AT-BKA.keys.json.next").read_text())

    completed = rotate_agency_keys(tmp_path, "AT-BKA", now=T2)

    # The interrupted rotation's keys, not a third set: nothing was published for T2.
    assert completed.encryption.key_id == interrupted["encryption_keys"][0]["key_id"]
    assert completed.signing.key_id == interrupted["signing_keys"][0]["key_id"]
    loaded = load_private_keys(tmp_path, "AT-BKA")
    assert loaded.encryption.key_id == completed.encryption.key_id
    assert [r.key.key_id for r in loaded.retired] == [first.encryption.key_id]
    assert _opens(loaded, first.encryption) == b"body"
    assert not list(tmp_path.glob("*.next"))
    assert stat.S_IMODE(files.signing.stat().st_mode) == 0o600


def test_a_rotation_stopped_while_writing_leaves_the_old_keys_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = generate_agency_keys("AT-BKA", now=T0)
    write_private_keys(tmp_path, first)
    with monkeypatch.context() as crashing:
        # The kept key and the signing key's new file are written, then the process dies.
        _crash_after(crashing, "write", 2)
        with pytest.raises(_Crash):
            rotate_agency_keys(tmp_path, "AT-BKA", now=T1)
    assert list(tmp_path.glob("*.next")) == [tmp_path / "AT-BKA.signing.pem.next"]
    assert load_private_keys(tmp_path, "AT-BKA").encryption.key_id == first.encryption.key_id

    rotated = rotate_agency_keys(tmp_path, "AT-BKA", now=T1)  # a whole new rotation

    assert rotated.encryption.key_id != first.encryption.key_id
    assert load_private_keys(tmp_path, "AT-BKA").signing.key_id == rotated.signing.key_id
    assert not list(tmp_path.glob("*.next"))


def test_cli_rotate_says_it_completes_an_interrupted_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_private_keys(tmp_path, generate_agency_keys("AT-BKA", now=T0))
    with monkeypatch.context() as crashing:
        _crash_after(crashing, "rename", 1)
        with pytest.raises(_Crash):
            rotate_agency_keys(tmp_path, "AT-BKA", now=T1)

    result = CliRunner().invoke(
        keys_group, ["rotate", "--agency", "AT-BKA", "--dir", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    assert "was interrupted; completing it" in result.stderr
    assert json.loads(result.stdout)["signing_keys"][0]["key_id"] == (
        load_private_keys(tmp_path, "AT-BKA").signing.key_id
    )
