"""Errors of the local-cluster tooling, each one sentence a newcomer can act on."""

from __future__ import annotations

from corridor.exceptions import CorridorError


class InfraError(CorridorError):
    """The local Kafka could not be fetched, configured, started or stopped."""


class ToolMissingError(InfraError):
    """A program the local cluster needs (java, mvn) is not on PATH."""


class PortInUseError(InfraError):
    """A port the broker should listen on is taken by another process."""


class FetchError(InfraError):
    """Maven could not fetch the Kafka jars."""

    retriable = True
