"""A threaded WSGI server on a daemon thread: what the emulator and the local API both run on."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class BackgroundServer:
    def __init__(self, app, host: str, port: int, name: str, **options):
        self._server = make_server(host, port, app, threaded=True, **options)
        # Bursts of concurrent scans in tests and demos: don't refuse connections at 128.
        self._server.request_queue_size = 1024
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join()
