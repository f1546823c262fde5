"""A local HTTP server standing in for the WeCom / DingTalk / Feishu webhooks in tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# The ports given to this project's tests on the shared machine.
ROBOT_PORT = 8131


class RobotServer:
    """Records every request; answers per path: /ok, /fail (HTTP 500), /hang (never in time),
    /refuse (200 with the platform's error code), anything else 404."""

    def __init__(self, port: int = ROBOT_PORT, hang_seconds: float = 3.0):
        self.requests: list[dict] = []
        self.hang_seconds = hang_seconds
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                parts = urlsplit(self.path)
                server.requests.append({"path": parts.path, "query": parse_qs(parts.query), "body": body})
                kind = parts.path.strip("/").split("/")[0]
                if kind == "hang":
                    time.sleep(server.hang_seconds)
                    return self._answer(200, {"errcode": 0})
                if kind == "fail":
                    return self._answer(500, {"errcode": -1, "errmsg": "system busy"})
                if kind == "refuse":
                    return self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                if kind == "ok":
                    return self._answer(200, {"errcode": 0, "errmsg": "ok", "code": 0})
                return self._answer(404, {})

            def _answer(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "RobotServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def texts(self, path: str) -> list[str]:
        found = []
        for request in self.requests:
            if request["path"].startswith(path):
                body = request["body"]
                found.append(
                    (body.get("text") or {}).get("content") or (body.get("content") or {}).get("text")
                )
        return found
