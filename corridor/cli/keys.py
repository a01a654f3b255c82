"""``corridor keys``: create, rotate and retire an agency's key pairs.

The private keys go to files only the current user can read; the public part is printed
on standard output as JSON in the directory's format, ready to paste into the agency's
entry, while the note about where the files went goes to standard error so the output
can be piped.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from corridor.cli.context import CliContext
from corridor.cli.secrets import passphrase_from_env
from corridor.domain import AGENCY_ID
from corridor.keys import (
    KeyStoreError,
    forget_retired_key,
    generate_agency_keys,
    interrupted_replacement,
    key_files,
    public_entry,
    rotate_agency_keys,
    write_private_keys,
)
from corridor.workspace import Workspace

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Manage an agency's signing and encryption keys."""


def _agency_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not AGENCY_ID.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not an agency id; expected a country code, a dash and a name, "
            "such as AT-BKA.",
            ctx=ctx,
            param=param,
        )
    return value


_AGENCY = click.option(
    "--agency",
    metavar="ID",
    required=True,
    callback=_agency_id,
    help="The agency id, e.g. AT-BKA.",
)


@keys.command()
@_AGENCY
@click.option(
    "--out",
    metavar="DIR",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the key files (created if missing).",
)
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="Encrypt the private keys with the passphrase held in this environment variable.",
)
@click.option("--force", is_flag=True, help="Replace existing key files of this agency.")
def generate(agency: str, out: Path, passphrase_env: str | None, force: bool) -> None:
    """Generate an agency's signing (Ed25519) and encryption (X25519) keys."""
    passphrase = passphrase_from_env(passphrase_env)
    agency_keys = generate_agency_keys(agency)
    try:
        files = write_private_keys(out, agency_keys, passphrase, force=force)
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(public_entry(agency_keys), indent=2))
    protection = "passphrase-protected" if passphrase is not None else "unencrypted"
    click.echo(
        f"Wrote {protection} private keys to {files.signing} and {files.encryption} "
        f"(mode 0600) and the public part to {files.manifest}.",
        err=True,
    )


_KEYS_DIR = click.option(
    "--dir",
    "directory",
    metavar="DIR",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory holding the agency's key files (default: the agency's keys under "
    "--home, where 'corridor consume' and 'corridor publish' read them).",
)


def _keys_dir(ctx: CliContext, agency: str, directory: Path | None) -> Path:
    return directory if directory is not None else Workspace(ctx.home).keys_dir(agency)


@keys.command()
@_AGENCY
@_KEYS_DIR
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="The passphrase of the current keys (the new ones get the same), from this "
    "environment variable.",
)
@click.pass_obj
def rotate(
    ctx: CliContext, agency: str, directory: Path | None, passphrase_env: str | None
) -> None:
    """Replace an agency's keys, keeping the old encryption key to open what was sealed to it.

    Prints the new public keys in the directory's format. Add them to the agency's
    entry beside the old ones, apply the directory, then restart the agency's publishers
    and consumers; running consumers pick the new encryption key up by themselves.
    """
    passphrase = passphrase_from_env(passphrase_env)
    directory = _keys_dir(ctx, agency, directory)
    try:
        if interrupted_replacement(key_files(directory, agency)):
            click.echo(
                f"A rotation of the keys of {agency} was interrupted; completing it "
                "(no new keys are made).",
                err=True,
            )
        rotated = rotate_agency_keys(directory, agency, passphrase)
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(public_entry(rotated), indent=2))
    kept = rotated.retired[0].key.key_id
    click.echo(
        f"Rotated the keys of {agency} in {directory}; the encryption key {kept} is kept to "
        "open alerts already sealed to it (corridor keys forget, once the delivery topic's "
        "retention has passed). Next: add the keys above to the agency's entry in the "
        "directory file, keeping the old ones, and run 'corridor directory apply'; then "
        "restart the agency's publishers and consumers, and only then give the old keys a "
        "valid_to.",
        err=True,
    )


@keys.command()
@_AGENCY
@_KEYS_DIR
@click.option("--key-id", required=True, help="The retired encryption key to drop.")
@click.pass_obj
def forget(ctx: CliContext, agency: str, directory: Path | None, key_id: str) -> None:
    """Drop a retired encryption key; what is still sealed to it can no longer be opened."""
    directory = _keys_dir(ctx, agency, directory)
    try:
        forget_retired_key(directory, agency, key_id)
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Forgot the retired key {key_id} of {agency}.", err=True)
