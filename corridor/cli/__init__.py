"""The ``corridor`` command: the composition root that wires core and components."""

from __future__ import annotations

from corridor.cli.main import main

__all__ = ["main"]
