"""The sandbox as a local HTTP endpoint: moto's threaded server on 127.0.0.1, with our additions."""

from __future__ import annotations

import logging
from typing import Any

from auditor.sandbox.moto_ext import install


class SandboxServer:
    """Context manager running moto's threaded server on a free loopback port.

    Use `.endpoint_url` as boto3's `endpoint_url` (or `AWS_ENDPOINT_URL`). The server runs in this
    process, so `seed_estate()` fills the backends it serves: seed after `start()`, which (like
    `stop()`) empties moto's in-process backends so one server never sees another's estate.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: Any = None
        self.endpoint_url: str | None = None

    def start(self) -> SandboxServer:
        """Install the additions (before the server builds its URL maps), then start serving."""
        install()
        from moto.server import ThreadedMotoServer

        _reset_backends()  # a server is its own estate: nothing left over from earlier in-process work

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            _reset_backends()  # moto's backends outlive the server; later work starts empty

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _reset_backends() -> None:
    """Empty every moto backend of this process (what `mock_aws` does on entry and exit)."""
    from moto.core.base_backend import BackendDict

    BackendDict.reset()
