"""The root of every error Corridor raises on purpose.

Each subpackage defines its own errors beside its code, all deriving from
:class:`CorridorError`, so a caller can catch everything of ours in one clause and
the CLI can print one clear sentence instead of a stack trace.
"""

from __future__ import annotations


class CorridorError(Exception):
    """Something Corridor detected and can explain in one sentence.

    ``retriable`` says whether the same call may succeed later unchanged (a broker not
    yet up) or never will (bad input, a forged signature).
    """

    retriable: bool = False

    def __init__(self, message: str, *, retriable: bool | None = None) -> None:
        super().__init__(message)
        if retriable is not None:
            self.retriable = retriable


class ConfigError(CorridorError):
    """The configuration is missing, unreadable or names something unknown."""
