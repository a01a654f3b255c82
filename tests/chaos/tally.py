"""The closing table of a chaos run: what the tests put the system through, and the damage.

Each test adds its own figures under a few fixed headings; the table is printed once
at the end of the session (see ``tests/chaos/conftest.py``). The counts that must be
zero are asserted zero by the tests that measure them; the table only reports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

#: The headings, in the order the table shows them.
HEADINGS = (
    "load held",
    "faults injected",
    "bad inputs tried",
    "alerts lost",
    "duplicates delivered",
    "unauthorised reads",
    "also seen",
)


@dataclass
class Line:
    heading: str
    what: str
    count: int
    detail: str = ""


@dataclass
class Tally:
    """Figures collected by the chaos tests of one session."""

    lines: list[Line] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, heading: str, what: str, count: int, detail: str = "") -> None:
        if heading not in HEADINGS:
            raise ValueError(f"unknown heading {heading!r}")
        with self._lock:
            for line in self.lines:
                if line.heading == heading and line.what == what:
                    line.count += count
                    if detail and detail not in line.detail:
                        line.detail = f"{line.detail}; {detail}" if line.detail else detail
                    return
            self.lines.append(Line(heading, what, count, detail))

    def total(self, heading: str) -> int:
        return sum(line.count for line in self.lines if line.heading == heading)

    def render(self) -> list[str]:
        """The table as lines of text: one block per heading, with its total."""
        if not self.lines:
            return []
        width = max(len(line.what) for line in self.lines) + 2
        out = ["chaos run: closing table", "=" * 24]
        for heading in HEADINGS:
            lines = [line for line in self.lines if line.heading == heading]
            if not lines:
                continue
            if heading == "also seen":
                out.append(f"{heading}:")
            else:
                out.append(f"{heading}: {self.total(heading):,}")
            for line in lines:
                detail = f"  ({line.detail})" if line.detail else ""
                out.append(f"    {line.what:<{width}}{line.count:>10,}{detail}")
        return out
