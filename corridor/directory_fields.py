"""Field readers that collect every problem instead of stopping at the first.

An operator fixing a directory file wants the whole list in one run, each problem
naming the entry and the field (``agencies[3] (AT-BKA).country: ...``). The readers
here record a problem and return ``None``; the entry builders skip an entry that has
any problem but keep reading the rest.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from corridor.exceptions import CorridorError

E = TypeVar("E", bound=StrEnum)

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_MAX_SHOWN = 40


class DirectoryError(CorridorError):
    """The directory, or one entry of it, is invalid; ``problems`` lists every fault found."""

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems)

    @classmethod
    def from_problems(cls, subject: str, problems: Sequence[str]) -> DirectoryError:
        count = len(problems)
        lines = [f"  - {p}" for p in problems[:_MAX_SHOWN]]
        if count > _MAX_SHOWN:
            lines.append(f"  - ... and {count - _MAX_SHOWN} more")
        plural = "" if count == 1 else "s"
        return cls(
            f"{subject} has {count} problem{plural}:\n" + "\n".join(lines), problems=problems
        )


def show(value: object) -> str:
    """A short, quoted rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Checker:
    """Reads typed fields out of plain data, recording a problem for each bad one."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._missing: set[str] = set()

    def add(self, where: str, message: str) -> None:
        if where not in self._missing:  # a missing field is reported once, not twice
            self.problems.append(f"{where}: {message}")

    def raise_if_any(self, subject: str) -> None:
        if self.problems:
            raise DirectoryError.from_problems(subject, self.problems)

    def mapping(self, value: object, where: str) -> Mapping[str, object] | None:
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            return value
        self.add(where, f"expected an object, got {type(value).__name__}")
        return None

    def fields(
        self,
        data: Mapping[str, object],
        where: str,
        *,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> bool:
        """Report missing and unknown field names; true when all is well."""
        ok = True
        for name in required:
            if name not in data:
                at = f"{where}.{name}" if where else name
                self.add(at, "is required")
                self._missing.add(at)
                ok = False
        known = set(required) | set(optional)
        for name in data:
            if name not in known:
                self.add(f"{where}.{name}" if where else name, "is not a known field")
                ok = False
        return ok

    def list_of(self, value: object, where: str) -> Sequence[object] | None:
        if isinstance(value, list | tuple):
            return value
        self.add(where, f"expected a list, got {type(value).__name__}")
        return None

    def string(
        self, value: object, where: str, *, pattern: re.Pattern[str] | None = None, what: str = ""
    ) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(where, f"expected a non-empty string, got {show(value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.add(where, f"{show(value)} is not {what or 'well formed'}")
            return None
        return value

    def boolean(self, value: object, where: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.add(where, f"expected true or false, got {show(value)}")
        return None

    def integer(self, value: object, where: str, *, minimum: int) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.add(where, f"expected an integer >= {minimum}, got {show(value)}")
        return None

    def timestamp(self, value: object, where: str) -> datetime | None:
        """An ISO-8601 instant with a timezone (TOML gives ``datetime`` objects directly)."""
        parsed: datetime | None = None
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                self.add(where, f"{show(value)} is not an ISO-8601 date-time")
                return None
        elif isinstance(value, date):
            self.add(where, f"{show(value)} needs a time and a timezone")
            return None
        else:
            self.add(where, f"expected an ISO-8601 date-time, got {show(value)}")
            return None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.add(where, f"{show(value)} has no timezone")
            return None
        return parsed.astimezone(UTC)

    def enum(self, value: object, enum_type: type[E], where: str) -> E | None:
        if isinstance(value, str):
            try:
                return enum_type(value)
            except ValueError:
                pass
        choices = ", ".join(m.value for m in enum_type)
        self.add(where, f"{show(value)} is not one of {choices}")
        return None

    def enum_set(
        self, value: object, enum_type: type[E], where: str, *, non_empty: bool = True
    ) -> frozenset[E] | None:
        items = self.list_of(value, where)
        if items is None:
            return None
        before = len(self.problems)
        found: list[E] = []
        for index, item in enumerate(items):
            member = self.enum(item, enum_type, f"{where}[{index}]")
            if member is not None:
                if member in found:
                    self.add(f"{where}[{index}]", f"{member.value} is listed twice")
                found.append(member)
        if non_empty and not items:
            self.add(where, "must not be empty")
        return frozenset(found) if len(self.problems) == before else None

    def key_bytes(self, value: object, where: str, *, length: int) -> bytes | None:
        """Standard base64 (with padding) decoding to exactly ``length`` bytes."""
        if not isinstance(value, str):
            self.add(where, f"expected base64 text, got {type(value).__name__}")
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            self.add(where, "is not standard base64")
            return None
        if len(raw) != length:
            self.add(where, f"decodes to {len(raw)} bytes, expected {length}")
            return None
        return raw

    def duration(self, value: object, where: str) -> timedelta | None:
        """An ISO-8601 duration of days, hours, minutes and seconds (``PT4H``, ``P2DT12H``)."""
        match = _DURATION.fullmatch(value) if isinstance(value, str) else None
        if match is None or value == "P" or (isinstance(value, str) and value.endswith("T")):
            self.add(where, f"{show(value)} is not an ISO-8601 duration such as PT4H or P3D")
            return None
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        result = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if result <= timedelta(0):
            self.add(where, f"{show(value)} must be positive")
            return None
        return result


def format_timestamp(value: datetime) -> str:
    """UTC, second precision unless finer is needed, with a ``Z`` suffix."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def format_duration(value: timedelta) -> str:
    """The inverse of :meth:`Checker.duration`, in its shortest form."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
