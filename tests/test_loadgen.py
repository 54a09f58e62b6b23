"""The load generator of the benches: a rate from a real server, and no rate from errors."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator

import pytest

from katas import loadgen


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 500 if self.path == "/broken" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["wrk", "python"])
def generator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(shutil, "which", lambda name: None)
    elif shutil.which("wrk") is None:
        pytest.skip("wrk not installed (apt-get install wrk)")
    return str(request.param)


def test_a_server_that_answers_has_a_rate(server_url: str, generator: str) -> None:
    named = loadgen.load_generator(8)
    assert named.startswith("wrk") == (generator == "wrk")
    assert loadgen.request_rate(f"{server_url}/hello", seconds=1, connections=8) > 0


def test_error_responses_are_no_rate(server_url: str, generator: str) -> None:
    with pytest.raises(RuntimeError, match="error responses"):
        loadgen.request_rate(f"{server_url}/broken", seconds=1, connections=8)
