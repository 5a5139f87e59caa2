"""The upstream API for the nginx and Caddy e2e suites: answers every
request with JSON {method, uri, headers} (header names lower-cased, repeated
ones joined with "|") and counts what it received. `GET /__count` on its own
port answers the count (the tests ask it directly, not through the proxy).

    python3 echo.py PORT_FILE

Binds 127.0.0.1:0 and writes the port to PORT_FILE once it listens.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNT = 0
LOCK = threading.Lock()


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        global COUNT
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/__count":
            with LOCK:
                body = json.dumps({"count": COUNT})
        else:
            with LOCK:
                COUNT += 1
            headers = {}
            for name, value in self.headers.items():
                name = name.lower()
                headers[name] = f"{headers[name]}|{value}" if name in headers else value
            body = json.dumps({"method": self.command, "uri": self.path, "headers": headers})
        data = body.encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
