"""Secrets the commands read from the environment, never from their arguments (which
any user of the machine can see in the process list)."""

from __future__ import annotations

import os

import click

__all__ = ["passphrase_from_env"]


def passphrase_from_env(variable: str | None) -> bytes | None:
    """The passphrase held in ``variable`` (``--passphrase-env``), None when not asked."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise click.BadParameter(
            f"environment variable {variable} is not set or empty.",
            param_hint="'--passphrase-env'",
        )
    return value.encode("utf-8")
