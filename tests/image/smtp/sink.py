"""SMTP on :1025 that keeps every message it accepts; GET :8025/messages lists them."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

messages: list[dict[str, object]] = []
lock = threading.Lock()


class Sink:
    async def handle_DATA(self, server, session, envelope) -> str:
        with lock:
            for rcpt in envelope.rcpt_tos:
                raw = envelope.content.decode("utf-8", "replace")
                messages.append({"to": rcpt, "from": envelope.mail_from, "raw": raw})
        return "250 Message accepted for delivery"


class Listing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/messages":
            self.send_error(404)
            return
        with lock:
            body = json.dumps(messages).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    Controller(Sink(), hostname="0.0.0.0", port=1025).start()
    threading.Thread(
        target=ThreadingHTTPServer(("0.0.0.0", 8025), Listing).serve_forever, daemon=True
    ).start()
    print("smtp sink: SMTP on 1025, messages on 8025", flush=True)
    while True:
        time.sleep(3600)
