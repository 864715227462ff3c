"""Webhooks on 127.0.0.1 for the alert tests: one that answers with scripted statuses,
one that accepts connections and never answers, and a port where nothing listens."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

#: the part of every test webhook URL that is secret: no file under a home may contain it
SECRET = "T0SECRET-B0SECRET-xoxb5ecret"


@dataclass
class Webhook:
    """A local webhook: its URL and every request it received (path, JSON body)."""

    url: str
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _path, body in self.requests]


def _secret_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/services/{SECRET}"


@contextlib.contextmanager
def scripted_webhook(statuses: Sequence[int] = (200,)) -> Iterator[Webhook]:
    """Answers the n-th request with ``statuses[n]`` (the last one from then on)."""
    answers = list(statuses)
    hook = Webhook(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = answers[min(len(hook.requests), len(answers) - 1)]
            hook.requests.append((self.path, body))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = _secret_url(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def silent_webhook() -> Iterator[Webhook]:
    """Accepts connections (the kernel's backlog) and never reads nor answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield Webhook(url=_secret_url(listener.getsockname()[1]))


def closed_port_url() -> str:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return _secret_url(port)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with scripted_webhook() as hook:
        yield hook


@pytest.fixture
def scripted() -> Callable[..., contextlib.AbstractContextManager[Webhook]]:
    return scripted_webhook
