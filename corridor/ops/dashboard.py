"""Serving the live operations page at ``/dashboard`` and its data at ``/dashboard.json``.

Two ways to host it, same page and same data: :func:`serve_dashboard`, a standard-library
threaded HTTP server for any process, and :func:`dashboard_routes` for an aiohttp
application (faust's web server is one). The snapshot provider is called on each data
request; give it something that answers at once (:meth:`OpsPoller.snapshot`), not a
function that reads Kafka.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from corridor.ops.feed import SnapshotProvider
from corridor.ops.page import render_page

PAGE_PATH = "/dashboard"
DATA_PATH = "/dashboard.json"
#: Only this page's own script and styles, and requests to its own origin.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def snapshot_json(provider: SnapshotProvider) -> bytes:
    return json.dumps(dict(provider()), separators=(",", ":"), default=str).encode("utf-8")


def _handler(
    provider: SnapshotProvider, page: bytes, registry: CollectorRegistry | None = None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "corridor-dashboard"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", ""):
                self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": PAGE_PATH})
            elif path in (PAGE_PATH, PAGE_PATH + "/"):
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif path == DATA_PATH:
                self._send(HTTPStatus.OK, snapshot_json(provider), "application/json")
            elif path == "/metrics" and registry is not None:
                self._send(HTTPStatus.OK, generate_latest(registry), CONTENT_TYPE_LATEST)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def _send(
            self,
            status: HTTPStatus,
            body: bytes,
            content_type: str,
            extra: Mapping[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are not worth a log line each."""

    return Handler


@dataclass
class DashboardServer:
    """A running dashboard; ``close`` stops it and frees the port."""

    httpd: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host!s}:{self.port}{PAGE_PATH}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def serve_dashboard(
    port: int,
    snapshot_provider: SnapshotProvider,
    *,
    addr: str = "127.0.0.1",
    refresh_seconds: float = 5.0,
    metrics_registry: CollectorRegistry | None = None,
) -> DashboardServer:
    """Serve the page in a daemon thread on ``addr:port`` (0: any free port), and
    ``metrics_registry`` on ``/metrics`` when given."""
    page = render_page(refresh_seconds).encode("utf-8")
    httpd = ThreadingHTTPServer((addr, port), _handler(snapshot_provider, page, metrics_registry))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="dashboard", daemon=True)
    thread.start()
    return DashboardServer(httpd, thread)


def dashboard_routes(
    snapshot_provider: SnapshotProvider, *, refresh_seconds: float = 5.0
) -> list[web.RouteDef]:
    """The two routes for an aiohttp app: ``app.router.add_routes(dashboard_routes(...))``.

    The provider runs in the default executor so a slow one cannot stall the event loop.
    """
    page = render_page(refresh_seconds)

    async def page_view(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=SECURITY_HEADERS)

    async def data_view(_request: web.Request) -> web.Response:
        body = await asyncio.get_running_loop().run_in_executor(
            None, snapshot_json, snapshot_provider
        )
        return web.Response(body=body, content_type="application/json", headers=SECURITY_HEADERS)

    return [web.get(PAGE_PATH, page_view), web.get(DATA_PATH, data_view)]
