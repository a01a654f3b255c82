"""What every subcommand gets from the top-level options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corridor.config import Settings, load_settings
from corridor.connection import Connection, load_connection


@dataclass(frozen=True, slots=True)
class CliContext:
    home: Path
    config: Path | None = None

    def connection(self) -> Connection:
        return load_connection(self.home)

    def settings(self) -> Settings:
        return load_settings(self.config, home=self.home)
