"""Where delivered alerts go: ``sqlite:PATH`` (default), ``jsonl:PATH``, ``http:URL``, ``stdout``.

:func:`open_sink` turns a ``--sink`` value into a sink. ``http:`` accepts the URL with
or without the prefix (``http:https://cases.example/alerts`` or
``https://cases.example/alerts``); only http and https URLs are taken.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from consumers.exceptions import SinkSpecError
from consumers.sinks.base import Outcome, Sink, SinkObserver
from consumers.sinks.http import HttpSink, HttpSinkConfig
from consumers.sinks.jsonl import JsonlSink
from consumers.sinks.retry_store import RetryStore
from consumers.sinks.sqlite_inbox import InboxAlert, SqliteInbox
from consumers.sinks.stdout import StdoutSink
from corridor.config import ConsumerSettings

__all__ = [
    "HttpSink",
    "InboxAlert",
    "JsonlSink",
    "Outcome",
    "Sink",
    "SinkObserver",
    "SinkSpec",
    "SqliteInbox",
    "StdoutSink",
    "open_sink",
    "parse_sink_spec",
]

RETRY_STORE_FILE = "http-retry.sqlite"


@dataclass(frozen=True, slots=True)
class SinkSpec:
    kind: str
    target: str


def parse_sink_spec(spec: str) -> SinkSpec:
    """Split a ``--sink`` value; the path or URL is checked, not opened."""
    text = spec.strip()
    if text.startswith(("http://", "https://")):
        text = "http:" + text
    kind, _, target = text.partition(":")
    if kind in ("sqlite", "stdout") and kind == text:
        return SinkSpec(kind, "")
    if kind == "stdout":
        raise SinkSpecError("the stdout sink takes no argument: use --sink stdout")
    if kind in ("sqlite", "jsonl"):
        if not target and kind == "jsonl":
            raise SinkSpecError("the jsonl sink needs a file: --sink jsonl:PATH")
        return SinkSpec(kind, target)
    if kind == "http":
        url = urllib.parse.urlsplit(target)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise SinkSpecError("the http sink needs an http or https URL: --sink http:URL")
        return SinkSpec(kind, target)
    raise SinkSpecError(f"unknown sink {kind!r}: use sqlite[:PATH], jsonl:PATH, http:URL or stdout")


def open_sink(
    spec: str | SinkSpec,
    *,
    default_inbox: Path,
    state_dir: Path,
    settings: ConsumerSettings,
    stop: threading.Event | None = None,
    observer: SinkObserver | None = None,
) -> Sink:
    """The sink named by ``spec``; the http sink keeps its retry store in ``state_dir``."""
    parsed = spec if isinstance(spec, SinkSpec) else parse_sink_spec(spec)
    if parsed.kind == "sqlite":
        return SqliteInbox(Path(parsed.target) if parsed.target else default_inbox)
    if parsed.kind == "jsonl":
        return JsonlSink(Path(parsed.target))
    if parsed.kind == "stdout":
        return StdoutSink()
    if not settings.http_secret:
        raise SinkSpecError(
            "the http sink signs its requests: set http_secret under [consumer] in "
            "corridor.toml or CORRIDOR_CONSUMER_HTTP_SECRET"
        )
    config = HttpSinkConfig(
        url=parsed.target,
        secret=settings.http_secret.encode("utf-8"),
        timeout=settings.http_timeout_seconds,
        max_attempts=max(1, settings.http_max_attempts),
        backoff=settings.http_backoff_seconds,
        retry_interval=settings.parked_retry_seconds,
    )
    store = RetryStore(state_dir / RETRY_STORE_FILE)
    return HttpSink(config, store, stop=stop, observer=observer)
