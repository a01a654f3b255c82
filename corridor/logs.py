"""One structured line per notable event: ``event=... key=value`` or JSON.

Fields are chosen by the caller from routing metadata only (alert id, corridor,
agency, reason codes); nothing from a sealed body is ever passed here.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_FIELDS = "corridor_fields"


class StructuredFormatter(logging.Formatter):
    """Renders ``logger.info(event, extra={"corridor_fields": {...}})`` on one line."""

    def __init__(self, *, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = dict(getattr(record, _FIELDS, {}))
        base = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        if record.exc_info and record.levelno >= logging.ERROR:
            fields["error"] = repr(record.exc_info[1])
        if self.as_json:
            return json.dumps({**base, **fields}, default=str, sort_keys=False)
        rendered = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        return (
            f"{base['ts']} {base['level']:<7} {base['logger']} {base['event']} {rendered}".rstrip()
        )


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (" " in text or "=" in text or not text) else text


def log_event(
    logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any
) -> None:
    logger.log(level, event, extra={_FIELDS: fields})


def configure_logging(level: str = "INFO", *, as_json: bool = False) -> None:
    """Send Corridor's logs to stderr, one line each; idempotent."""
    root = logging.getLogger("corridor")
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_corridor", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(StructuredFormatter(as_json=as_json))
    handler._corridor = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.propagate = False
