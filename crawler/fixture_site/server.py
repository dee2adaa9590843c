"""Run the fixture site on a local port in a background thread.

``serve()`` starts werkzeug's threaded WSGI server (HTTP/1.1, so streamed bodies go out
with chunked transfer coding) in a daemon thread and returns a :class:`FixtureServer`
that knows its base URL and stops the server on ``shutdown()`` or on leaving a
``with`` block.  Request logging is silenced.
"""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .site import FixtureSite


class _QuietHandler(WSGIRequestHandler):
    """HTTP/1.1 request handler that logs nothing and lets the app set Server and Date.

    The standard handler writes its own ``Server`` and ``Date`` right after the status
    line, so an application's headers of the same names would be sent twice; here they
    are added at the end of the header block only when the application sent none.
    """

    protocol_version = "HTTP/1.1"
    _header_names: set[str] | None = None

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self._header_names = set()

    def send_header(self, keyword: str, value: str) -> None:
        if self._header_names is not None:
            self._header_names.add(keyword.lower())
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        names, self._header_names = self._header_names, None
        if names is not None:
            if "server" not in names:
                super().send_header("Server", self.version_string())
            if "date" not in names:
                super().send_header("Date", self.date_time_string())
        super().end_headers()

    def log(self, type: str, message: str, *args: object) -> None:  # noqa: A002
        return None

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class FixtureServer:
    """A running fixture server: ``base_url``, ``port``, ``shutdown()``; a context manager."""

    def __init__(self, server: BaseWSGIServer, host: str) -> None:
        self._server = server
        self.host = host
        self.port: int = server.server_port
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"fixture-site-{self.port}", daemon=True
        )
        self._stopped = False

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving and close the listening socket (safe to call twice)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FixtureServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"FixtureServer({self.base_url!r})"


def serve(
    *, host: str = "127.0.0.1", port: int = 0, site: FixtureSite | None = None
) -> FixtureServer:
    """Start the fixture site on ``host:port`` (0: any free port) and return its handle."""
    app = site if site is not None else FixtureSite()
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    return FixtureServer(server, host).start()
