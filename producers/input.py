"""Reading alerts from a file or a pipe: one JSON object, or JSON lines.

The input is read as bytes and decoded line by line, so a bad line (not UTF-8, not
JSON, not an object) becomes an error for that line alone, with its number, and the
lines after it are still read. A file whose first non-blank line is a whole object
(``{`` ... ``}``) is JSON lines; anything else is one JSON document holding one alert,
which may span many lines (pretty-printed). Error messages say where the JSON broke,
never what the line held.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["InputRecord", "count_lines", "read_alerts"]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One alert of the input, or why its line could not be read as one."""

    line: int
    alert: dict[str, Any] | None = None
    error: str | None = None


def _parse(raw: bytes, line: int) -> InputRecord:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InputRecord(line, error=f"not valid UTF-8 (byte {exc.start + 1})")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return InputRecord(line, error=f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return InputRecord(line, error="not valid JSON: nested too deeply")
    if not isinstance(value, dict):
        return InputRecord(line, error="an alert must be a JSON object")
    return InputRecord(line, alert=value)


def _whole_document(first: bytes, rest: IO[bytes], line: int) -> InputRecord:
    data = first + rest.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InputRecord(line, error=f"not valid UTF-8 (byte {exc.start + 1})")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = line + exc.lineno - 1
        return InputRecord(line, error=f"not valid JSON: {exc.msg} at line {where}")
    except RecursionError:
        return InputRecord(line, error="not valid JSON: nested too deeply")
    if isinstance(value, list):
        return InputRecord(
            line, error="a JSON array is not accepted: write one alert per line (JSON lines)"
        )
    if not isinstance(value, dict):
        return InputRecord(line, error="an alert must be a JSON object")
    return InputRecord(line, alert=value)


def read_alerts(stream: IO[bytes]) -> Iterator[InputRecord]:
    """Every alert of ``stream`` with its (first) line number, 1-based; blank lines
    are skipped."""
    number = 0
    for line in stream:
        number += 1
        raw = line[len(_BOM) :] if number == 1 and line.startswith(_BOM) else line
        stripped = raw.strip()
        if not stripped:
            continue
        if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
            yield _whole_document(raw, stream, number)
            return
        yield _parse(stripped, number)
        break
    for raw in stream:
        number += 1
        stripped = raw.strip()
        if stripped:
            yield _parse(stripped, number)


def count_lines(path: Path) -> int:
    """How many records ``path`` holds, read fast in binary, for a progress total: its
    non-blank lines for JSON lines, 1 for a single JSON document."""
    count = 0
    with path.open("rb") as handle:
        for raw in handle:
            stripped = raw.strip()
            if not stripped:
                continue
            if count == 0 and not (
                stripped.lstrip(_BOM).startswith(b"{") and stripped.endswith(b"}")
            ):
                return 1
            count += 1
    return count
