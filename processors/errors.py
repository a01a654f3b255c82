"""Errors the processors raise on purpose (bad input never raises: it is dead-lettered)."""

from __future__ import annotations

from corridor.exceptions import CorridorError


class ProcessorError(CorridorError):
    """A processor worker cannot start or cannot go on (topics, broker, outputs)."""
