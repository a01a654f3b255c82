"""POST each delivery to the agency's case system; park what it will not take yet.

Every request carries ``X-Corridor-Signature: t=<unix seconds>,v1=<hex>``, an
HMAC-SHA256 under the configured secret of ``<t>.`` followed by the body, so the case
system can tell Corridor's requests from anyone else's and refuse stale replays
(:func:`verify_signature` is the reference check), and ``Idempotency-Key``, so it can
drop a request it already took (a crash between its answer and our record of it).

A delivery is tried ``max_attempts`` times with exponential backoff and full jitter;
then it is parked in the local :class:`RetryStore` and the subscriber moves on. While
anything is parked, new deliveries queue behind it (order kept), and
:meth:`HttpSink.maintain` retries the oldest every ``retry_interval`` seconds. Nothing
is dropped: a parked delivery stays until the case system answers 2xx.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consumers.documents import Delivery, to_json_bytes
from consumers.sinks.base import Outcome, SinkObserver
from consumers.sinks.retry_store import ParkedDelivery, RetryStore

__all__ = ["SIGNATURE_HEADER", "HttpSink", "HttpSinkConfig", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Corridor-Signature"
#: Waits between tries never exceed this, however many failures came before.
MAX_BACKOFF_SECONDS = 30.0


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: float | None = None, tolerance: float = 300
) -> bool:
    """What a receiver checks: a valid MAC over the body, made within ``tolerance``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


@dataclass(frozen=True, slots=True)
class HttpSinkConfig:
    url: str
    secret: bytes = b""
    timeout: float = 10.0
    max_attempts: int = 5
    backoff: float = 0.5
    retry_interval: float = 30.0


class HttpSink:
    name = "http"

    def __init__(
        self,
        config: HttpSinkConfig,
        store: RetryStore,
        *,
        stop: threading.Event | None = None,
        observer: SinkObserver | None = None,
        jitter: Callable[[float], float] | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._stop = stop if stop is not None else threading.Event()
        self._observer = observer if observer is not None else SinkObserver()
        self._jitter = jitter if jitter is not None else (lambda cap: random.uniform(0, cap))  # noqa: S311 - jitter, not a secret
        self._parked = store.count()
        self._observer.parked_now(self._parked)

    # -- one request -------------------------------------------------------------------

    def _post(self, event: str, key: str, payload: bytes) -> bool:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked when parsing the spec
            self._config.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                "X-Corridor-Event": event,
                SIGNATURE_HEADER: sign(self._config.secret, int(time.time()), payload),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._config.timeout) as response:  # noqa: S310
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):
            return False

    def _backoff(self, failures: int) -> float:
        cap = min(MAX_BACKOFF_SECONDS, self._config.backoff * 2 ** (failures - 1))
        return self._jitter(cap)

    def _post_with_retries(self, event: str, key: str, payload: bytes) -> bool:
        for attempt in range(1, self._config.max_attempts + 1):
            if self._post(event, key, payload):
                return True
            self._observer.retried()
            if attempt == self._config.max_attempts or self._stop.wait(self._backoff(attempt)):
                return False  # out of attempts, or stopping: park it, a restart retries
        return False

    # -- sink ------------------------------------------------------------------------

    def deliver(self, items: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for item in items:
            key = item.idempotency_key
            if self._store.was_delivered(key) or self._store.is_parked(key):
                outcomes.append(Outcome.DUPLICATE)
                continue
            payload = to_json_bytes(item.document)
            event = item.kind.value
            if not self._parked and self._post_with_retries(event, key, payload):
                self._store.mark_delivered(key)
                outcomes.append(Outcome.DELIVERED)
                continue
            now = time.time()
            attempts = 0 if self._parked else self._config.max_attempts
            self._store.park(
                key,
                event,
                item.occurred_at.timestamp(),
                payload,
                attempts=attempts,
                due=now + self._retry_delay(attempts),
            )
            self._parked += 1
            self._observer.parked_now(self._parked)
            outcomes.append(Outcome.PARKED)
        return outcomes

    def _retry_delay(self, attempts: int) -> float:
        interval = self._config.retry_interval
        return interval / 2 + self._jitter(interval / 2) if attempts else 0.0

    def maintain(self) -> None:
        """Send parked deliveries oldest first until one fails or none is due."""
        while not self._stop.is_set():
            head: ParkedDelivery | None = self._store.head()
            if head is None or head.next_attempt_at > time.time():
                return
            if not self._post(head.event, head.idempotency_key, head.payload):
                self._observer.retried()
                self._store.postpone(head, time.time() + self._retry_delay(1))
                return
            self._store.done(head)
            self._parked = self._store.count()
            self._observer.parked_now(self._parked)
            self._observer.delivered_later(max(0.0, time.time() - head.occurred_at))

    def parked(self) -> int:
        return self._parked

    def close(self) -> None:
        self._store.close()
