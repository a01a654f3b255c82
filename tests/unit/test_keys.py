"""Agency key generation, key files on disk, and the ``corridor keys`` command."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.cli.keys import keys as keys_group
from corridor.domain import (
    Agency,
    AgencyKind,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    HandlingCode,
    Priority,
    PublicKey,
    Tlp,
    TrmPhase,
)
from corridor.envelope import Sealer, open_alert, verify_alert
from corridor.keys import (
    AgencyIdError,
    KeyStoreError,
    generate_agency_keys,
    key_files,
    load_private_keys,
    public_entry,
    write_private_keys,
)

NOW = datetime(2025, 6, 30, 23, 59, 58, 123456, tzinfo=timezone(timedelta(hours=2)))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable, to prove modes are set at creation."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_generated_key_ids_and_validity() -> None:
    keys = generate_agency_keys("AT-BKA", now=NOW)
    assert re.fullmatch(r"AT-BKA-sig-20250630-[0-9a-f]{8}", keys.signing.key_id)
    assert re.fullmatch(r"AT-BKA-enc-20250630-[0-9a-f]{8}", keys.encryption.key_id)
    assert keys.valid_from == datetime(2025, 6, 30, 21, 59, 58, tzinfo=UTC)
    again = generate_agency_keys("AT-BKA", now=NOW)
    assert again.signing.key_id != keys.signing.key_id
    assert again.signing.public_bytes() != keys.signing.public_bytes()


@pytest.mark.parametrize("bad", ["at-bka", "AT_BKA", "ATBKA", "A-BKA", "AT-", ""])
def test_invalid_agency_id(bad: str) -> None:
    with pytest.raises(AgencyIdError, match="not a valid agency id"):
        generate_agency_keys(bad)


def test_public_entry_is_in_directory_format() -> None:
    keys = generate_agency_keys("RO-ANITP", now=NOW)
    entry = public_entry(keys)
    assert set(entry) == {"signing_keys", "encryption_keys"}
    (sig,) = entry["signing_keys"]
    (enc,) = entry["encryption_keys"]
    assert sig["key_id"] == keys.signing.key_id
    assert base64.b64decode(sig["public_key"], validate=True) == keys.signing.public_bytes()
    assert base64.b64decode(enc["public_key"], validate=True) == keys.encryption.public_bytes()
    assert sig["valid_from"] == enc["valid_from"] == "2025-06-30T21:59:58Z"
    assert datetime.fromisoformat(sig["valid_from"]) == keys.valid_from


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize("passphrase", [None, b"correct horse battery staple"])
def test_write_then_load(tmp_path: Path, passphrase: bytes | None) -> None:
    keys = generate_agency_keys("AT-BKA", now=NOW)
    files = write_private_keys(tmp_path / "keys", keys, passphrase)
    assert _mode(files.signing) == 0o600
    assert _mode(files.encryption) == 0o600
    assert _mode(tmp_path / "keys") == 0o700
    pem = files.signing.read_bytes()
    assert pem.startswith(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----" if passphrase else b"-----BEGIN PRIVATE KEY-----"
    )
    manifest = json.loads(files.manifest.read_text())
    assert manifest["agency_id"] == "AT-BKA"
    assert manifest["signing_keys"] == public_entry(keys)["signing_keys"]

    loaded = load_private_keys(tmp_path / "keys", "AT-BKA", passphrase)
    assert loaded.signing.key_id == keys.signing.key_id
    assert loaded.signing.public_bytes() == keys.signing.public_bytes()
    assert loaded.encryption.key_id == keys.encryption.key_id
    assert loaded.encryption.public_bytes() == keys.encryption.public_bytes()
    assert loaded.valid_from == keys.valid_from


def test_loaded_keys_seal_and_verify_against_their_public_entry(tmp_path: Path) -> None:
    issuer_keys = generate_agency_keys("RO-ANITP", now=NOW)
    recipient_keys = generate_agency_keys("AT-BKA", now=NOW)
    write_private_keys(tmp_path, issuer_keys)
    write_private_keys(tmp_path, recipient_keys)
    issuer = load_private_keys(tmp_path, "RO-ANITP")
    recipient = load_private_keys(tmp_path, "AT-BKA")

    entry = public_entry(issuer)["signing_keys"][0]
    agency = Agency(
        id="RO-ANITP",
        name="issuer",
        country="RO",
        kind=AgencyKind.NRM_COORDINATOR,
        cleared_for_children=True,
        signing_keys=(
            PublicKey(
                entry["key_id"],
                base64.b64decode(entry["public_key"]),
                datetime.fromisoformat(entry["valid_from"]),
            ),
        ),
        encryption_keys=(),
    )
    metadata = AlertMetadata(
        alert_id="a0000000-0000-4000-8000-000000000001",
        case_ref="RO-1",
        issuer="RO-ANITP",
        corridor=Corridor("RO", "AT"),
        alert_type=AlertType.REFERRAL_REQUEST,
        phase=TrmPhase.IDENTIFICATION,
        priority=Priority.ROUTINE,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset(),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.NONE,
        created_at=NOW + timedelta(minutes=1),
    )
    alert = Sealer().seal(
        metadata, b"body", [recipient.encryption.recipient("AT-BKA")], issuer.signing
    )
    verify_alert(alert, agency, at_time=metadata.created_at)
    assert open_alert(alert, "AT-BKA", recipient.encryption) == b"body"


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    first = generate_agency_keys("AT-BKA")
    files = write_private_keys(tmp_path, first)
    before = files.signing.read_bytes()
    with pytest.raises(KeyStoreError, match=re.escape(str(files.signing)) + " already exists"):
        write_private_keys(tmp_path, generate_agency_keys("AT-BKA"))
    assert files.signing.read_bytes() == before


def test_refuses_even_when_only_the_manifest_exists(tmp_path: Path) -> None:
    files = key_files(tmp_path, "AT-BKA")
    files.manifest.write_text("{}")
    with pytest.raises(KeyStoreError, match=re.escape("AT-BKA.keys.json already exists")):
        write_private_keys(tmp_path, generate_agency_keys("AT-BKA"))
    assert not files.signing.exists()


@pytest.mark.usefixtures("open_umask")
def test_force_replaces_with_a_new_0600_file(tmp_path: Path) -> None:
    files = key_files(tmp_path, "AT-BKA")
    for path in (files.signing, files.encryption):
        path.write_bytes(b"old")
        path.chmod(0o644)
    second = generate_agency_keys("AT-BKA")
    write_private_keys(tmp_path, second, force=True)
    assert _mode(files.signing) == 0o600
    assert _mode(files.encryption) == 0o600
    loaded = load_private_keys(tmp_path, "AT-BKA")
    assert loaded.signing.public_bytes() == second.signing.public_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    files = key_files(tmp_path, "AT-BKA")
    with pytest.raises(KeyStoreError, match=re.escape(str(files.manifest)) + " does not exist"):
        load_private_keys(tmp_path, "AT-BKA")

    write_private_keys(tmp_path, generate_agency_keys("AT-BKA"), b"secret")
    with pytest.raises(KeyStoreError, match=re.escape(str(files.signing)) + ": .*passphrase"):
        load_private_keys(tmp_path, "AT-BKA", b"wrong")
    with pytest.raises(KeyStoreError, match=re.escape("AT-BKA.signing.pem: the key is encrypted")):
        load_private_keys(tmp_path, "AT-BKA")

    files.encryption.chmod(0o640)
    with pytest.raises(
        KeyStoreError, match=re.escape("AT-BKA.encryption.pem is accessible by other users")
    ):
        load_private_keys(tmp_path, "AT-BKA", b"secret")


def test_load_detects_files_that_do_not_belong_together(tmp_path: Path) -> None:
    write_private_keys(tmp_path / "a", generate_agency_keys("AT-BKA"))
    write_private_keys(tmp_path / "b", generate_agency_keys("AT-BKA"))
    os.replace(tmp_path / "b" / "AT-BKA.signing.pem", tmp_path / "a" / "AT-BKA.signing.pem")
    with pytest.raises(
        KeyStoreError, match=re.escape("AT-BKA.signing.pem does not match the public key")
    ):
        load_private_keys(tmp_path / "a", "AT-BKA")


def test_load_refuses_another_agencys_manifest(tmp_path: Path) -> None:
    write_private_keys(tmp_path, generate_agency_keys("AT-BKA"))
    os.replace(tmp_path / "AT-BKA.keys.json", tmp_path / "DE-BKA.keys.json")
    with pytest.raises(KeyStoreError, match="not the key manifest of DE-BKA"):
        load_private_keys(tmp_path, "DE-BKA")


# --- the command


def test_cli_generate(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    result = CliRunner().invoke(keys_group, ["generate", "--agency", "AT-BKA", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"signing_keys", "encryption_keys"}
    files = key_files(out, "AT-BKA")
    assert _mode(files.signing) == 0o600
    assert _mode(files.encryption) == 0o600
    assert str(files.signing) in result.stderr
    loaded = load_private_keys(out, "AT-BKA")
    sig = printed["signing_keys"][0]
    assert sig["key_id"] == loaded.signing.key_id
    assert base64.b64decode(sig["public_key"]) == loaded.signing.public_bytes()


def test_cli_refuses_invalid_agency_id(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        keys_group, ["generate", "--agency", "at-bka", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "'at-bka' is not an agency id" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_existing_keys_and_force(tmp_path: Path) -> None:
    args = ["generate", "--agency", "AT-BKA", "--out", str(tmp_path)]
    assert CliRunner().invoke(keys_group, args).exit_code == 0
    again = CliRunner().invoke(keys_group, args)
    assert again.exit_code == 1
    assert "already exists; use force" in again.stderr
    assert CliRunner().invoke(keys_group, [*args, "--force"]).exit_code == 0


def test_cli_passphrase_from_environment(tmp_path: Path) -> None:
    args = ["generate", "--agency", "AT-BKA", "--out", str(tmp_path), "--passphrase-env", "PW"]
    missing = CliRunner().invoke(keys_group, args, env={"PW": ""})
    assert missing.exit_code == 2
    assert "PW is not set" in missing.stderr
    result = CliRunner().invoke(keys_group, args, env={"PW": "s3cret pass"})
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert "passphrase-protected" in result.stderr
    loaded = load_private_keys(tmp_path, "AT-BKA", b"s3cret pass")
    assert loaded.agency_id == "AT-BKA"
    with pytest.raises(KeyStoreError):
        load_private_keys(tmp_path, "AT-BKA")
