"""What the workers' guards are tested with: a clock set by hand, and a recorder of
the guard giving up (in place of ending the process)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Calls:
    """Records each reason a guard gave up with."""

    reasons: list[str] = field(default_factory=list)
    called: threading.Event = field(default_factory=threading.Event)

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.called.set()
