#!/usr/bin/env python3
"""A fake WhatsApp Cloud API (Graph API) on 127.0.0.1 for the integration tests.

    fake_graph.py PORT [--token TOKEN]

POST /<version>/<phone_number_id>/messages records the request (path, Authorization header, JSON body)
and answers like the Cloud API: 200 {"messaging_product","contacts","messages":[{"id": "wamid.FAKE.<n>"}]}
(the shape of ../shared/fixtures/whatsapp/send_ok.json). A wrong bearer token answers 401 with an OAuth
error. Failure injection, controlled by the test:

    POST /_fail   {"responses": [503, 429, {"status": 400, "code": 131047}], "always": null|status, "delay_ms": 0}
                  the next sends get these answers in order (then normal again); "always" answers every
                  send with that status until reset; delay_ms sleeps before each answer.
    GET  /_sent   [{"path", "authorization", "body", "answered"}...] every send received, in order
    POST /_reset  forgets sends and failures

Standard library only; one thread per request; every state change under one lock.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"sent": [], "responses": [], "always": None, "delay_ms": 0, "n": 0}
TOKEN = "test-access-token"

ERRORS = {
    131047: ("(#131047) Re-engagement message", "Message failed to send because more than 24 hours have passed "
             "since the customer last replied to this number."),
    130429: ("(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    100: ("(#100) Invalid parameter", "Invalid parameter"),
}


def error_body(status, code):
    msg, details = ERRORS.get(code, ("Service temporarily unavailable", "try again later"))
    return {"error": {"message": msg, "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details},
                      "fbtrace_id": "AbCdEfGhIjKlMnOp"}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path == "/_sent":
            with LOCK:
                self._send(200, list(STATE["sent"]))
            return
        self._send(404, {"error": "not found"})

    def do_POST(self):
        raw = self._body()
        if self.path == "/_reset":
            with LOCK:
                STATE.update(sent=[], responses=[], always=None, delay_ms=0)
            self._send(200, {"ok": True})
            return
        if self.path == "/_fail":
            spec = json.loads(raw or b"{}")
            with LOCK:
                STATE["responses"] = list(spec.get("responses", []))
                STATE["always"] = spec.get("always")
                STATE["delay_ms"] = int(spec.get("delay_ms", 0))
            self._send(200, {"ok": True})
            return
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[2] != "messages":
            self._send(404, error_body(404, 100))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        auth = self.headers.get("Authorization", "")
        with LOCK:
            delay = STATE["delay_ms"]
            if STATE["responses"]:
                answer = STATE["responses"].pop(0)
            else:
                answer = STATE["always"]
            STATE["n"] += 1
            n = STATE["n"]
            record = {"path": self.path, "authorization": auth, "body": body, "content_type":
                      self.headers.get("Content-Type", ""), "answered": None}
            STATE["sent"].append(record)
        if delay:
            time.sleep(delay / 1000.0)
        if auth != "Bearer " + TOKEN:
            record["answered"] = 401
            self._send(401, error_body(401, 190))
            return
        if body is None or body.get("messaging_product") != "whatsapp" or not body.get("to"):
            record["answered"] = 400
            self._send(400, error_body(400, 100))
            return
        if answer is not None:
            status, code = (answer.get("status"), answer.get("code", 0)) if isinstance(answer, dict) else (answer, 0)
            record["answered"] = status
            headers = {"Retry-After": "0"} if status == 429 else None
            self._send(status, error_body(status, code or (130429 if status == 429 else 2)), headers)
            return
        wamid = "wamid.FAKE%06d" % n
        record["answered"] = 200
        record["wamid"] = wamid
        self._send(200, {"messaging_product": "whatsapp",
                         "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                         "messages": [{"id": wamid}]})


def main():
    global TOKEN
    port = int(sys.argv[1])
    if "--token" in sys.argv:
        TOKEN = sys.argv[sys.argv.index("--token") + 1]
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    print("fake_graph listening on %d" % port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
