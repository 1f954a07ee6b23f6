"""mtst.serve and mtst.Server: `mtst serve` (TEI-shaped HTTP routes) in-process."""

import sys
from typing import Any, Optional

from . import _mtst
from ._checks import existing_dir, positive_int, threads_arg
from ._encoder import _require_str

_LIMITS = (
    "max_batch_tokens",
    "max_batch_requests",
    "max_concurrent_requests",
    "max_client_batch_size",
    "payload_limit",
    "http_threads",
    "read_timeout",
)


class Server:
    """An HTTP server for a model directory (the routes of ``mtst serve``: /embed, /predict,
    /v1/embeddings, /tokenize, /health, /info, /metrics).

    ``start()`` binds the port and serves on a background thread (``/health`` answers 503
    until the model has loaded); ``stop()`` stops it after in-flight requests finish. Also a
    context manager. Keyword limits are those of ``mtst serve`` with underscores
    (``max_batch_tokens=``, ``max_client_batch_size=``, ``auto_truncate=``, ...).
    """

    def __init__(
        self,
        model_dir: str,
        host: str = "127.0.0.1",
        port: int = 8080,
        device: str = "cpu",
        precision: str = "fp32",
        threads: Optional[int] = None,
        **limits: Any,
    ) -> None:
        model_dir = existing_dir(model_dir, "model_dir")
        for value, what in ((host, "host"), (device, "device"), (precision, "precision")):
            _require_str(value, what)
        checked = {}
        for key, value in limits.items():
            if key == "auto_truncate":
                checked[key] = bool(value)
            elif key in _LIMITS:
                checked[key] = positive_int(value, key)
            else:
                raise TypeError(f"Server() got an unexpected keyword argument '{key}'")
        port = positive_int(port, "port", allow_zero=True)
        if port > 65535:
            raise ValueError(f"port must be at most 65535, got {port}")
        self._native = _mtst.Server(
            model_dir, host, port, device, precision, threads_arg(threads), checked
        )
        self.host = host

    def start(self) -> int:
        """Binds and starts serving; returns the port (a free one when port=0)."""
        return self._native.start()

    @property
    def port(self) -> int:
        return self._native.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wait(self) -> None:
        """Blocks until the server stops (Ctrl-C stops it, then raises KeyboardInterrupt)."""
        self._native.wait()

    def stop(self) -> None:
        self._native.stop()

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(
    model_dir: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    device: str = "cpu",
    precision: str = "fp32",
    threads: Optional[int] = None,
    **limits: Any,
) -> None:
    """Serves MODEL_DIR over HTTP until Ctrl-C, as ``mtst serve`` does (then
    ``KeyboardInterrupt`` is raised once in-flight requests have finished)."""
    server = Server(model_dir, host, port, device, precision, threads, **limits)
    port = server.start()
    print(f"mtst serve: listening on {host}:{port}", file=sys.stderr, flush=True)
    server.wait()
