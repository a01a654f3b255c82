"""``corridor keys``: create an agency's key pairs.

The private keys go to files only the current user can read; the public part is printed
on standard output as JSON in the directory's format, ready to paste into the agency's
entry, while the note about where the files went goes to standard error so the output
can be piped.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from corridor.cli.secrets import passphrase_from_env
from corridor.domain import AGENCY_ID
from corridor.keys import KeyStoreError, generate_agency_keys, public_entry, write_private_keys

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


@keys.command()
@click.option(
    "--agency",
    metavar="ID",
    required=True,
    callback=_agency_id,
    help="The agency id, e.g. AT-BKA.",
)
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
