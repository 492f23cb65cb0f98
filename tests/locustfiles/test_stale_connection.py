"""A kept-alive connection the server closed while it sat idle: the lean client sends an
idempotent request once more on a new connection (as every HTTP client's pool does) and counts
it; a POST is not sent twice, it is that request's error. Run in a child process: the client
imports Locust, which monkey-patches with gevent (never in the tests' process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.e2e.helpers import ROOT

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import json, socket
    import gevent
    from gevent.server import StreamServer
    from locustfiles import rawhttp
    from locustfiles.protocol import RequestSpec

    fired = []

    class Request:
        @staticmethod
        def fire(**event):
            fired.append(event)

    class Events:
        request = Request

    class Environment:
        events = Events

    def handle(sock, address):
        # answers each request, and closes the connection after 0.2 s idle (a keep-alive timeout)
        sock.settimeout(0.2)
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buffer += chunk
            while b"\\r\\n\\r\\n" in buffer:
                _, buffer = buffer.split(b"\\r\\n\\r\\n", 1)
                sock.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
        sock.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    client = rawhttp.RawHTTPClient(Environment, "127.0.0.1", server.server_port, 5.0)
    out = {}
    for method in ("GET", "POST"):
        spec = RequestSpec(method, "/x", method=method)
        request = rawhttp.encode(spec, "127.0.0.1", server.server_port)
        fired.clear()
        client.send(spec, request)
        gevent.sleep(0.5)  # the server closes the idle connection
        client.send(spec, request)
        out[method] = {
            "errors": [type(e["exception"]).__name__ for e in fired if e["exception"]],
            "retries": rawhttp.STALE_RETRIES[0],
        }
    print(json.dumps(out))
    """
)


def test_a_stale_kept_alive_connection_is_retried_once_for_get_not_for_post() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["GET"] == {"errors": [], "retries": 1}
    assert out["POST"]["retries"] == 1  # not sent again
    assert out["POST"]["errors"] in (["ProtocolError"], ["ConnectionResetError"])
